// Package nsspawn starts child processes inside a named network namespace
// from one operating-system thread that lives as long as the process.
//
// Linux sends a child's parent-death signal (SysProcAttr.Pdeathsig) when
// the thread that forked it exits, not when its process does. A Go
// program's threads come and go: the runtime retires the thread of any
// goroutine that ends while locked to it (runtime.LockOSThread without an
// unlock), as code that enters a namespace or a private mount namespace
// does on purpose so that the thread is never reused. A child started on
// such a pooled thread was killed, with SIGKILL and no log line, as soon
// as some unrelated goroutine later locked that thread and ended: the
// testbed's appliance died that way within seconds of its boot whenever a
// test changed a veth offload (testbed/ethtool retires its threads).
//
// Start runs every fork on the package's own thread: it is locked at
// first use and never unlocked, and its goroutine never returns, so a
// child's Pdeathsig fires only when this process exits. Each start enters
// the thread into its namespace first, so the thread's namespace between
// starts does not matter.
package nsspawn
