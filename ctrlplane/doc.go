// Package ctrlplane owns the traffic configuration around its model, which
// lives in ctrlplane/config (the types, names, defaults, validation, in-use
// rules and typed errors every dialect shares): the tmsh dialect that reads
// and prints it (bigip.conf stanzas and tmsh commands), the Alteon /cfg/slb
// dialect as a view of the same objects (alteon.go: menus and the mapping;
// alteon_session.go: pending changes, apply, diff, revert, save;
// alteon_print.go: dump, cur, diff and /info), the pure Compile that
// validates it and builds the dataplane's Program, and the Store that holds
// the running configuration and applies changes to it.
//
// Lifecycle: text is parsed into config's inert types (ParseConfig, or
// commands editing a clone of the running Config), ApplyDefaults completes
// them in one step, config.Validate reports every problem, Compile turns
// them into an immutable *dataplane.Program, and the Store installs the Program and only then swaps its
// running Config. A Store is made with NewStore, loaded once with Boot (the
// saved bigip.conf) or LoadText, and then changed by Exec (one command) and
// Push (a script, all or nothing). `save sys config` writes the running
// configuration back, crash-safely, keeping the previous file as .bak.
//
// Goroutines: none. The command table, property tables and parser are
// synchronous; the control socket (ctrlplane/ctlsock) calls into the Store
// from its own goroutines.
//
// Concurrency: Store methods are safe for concurrent use and serialized by
// one mutex, held across compile and install so applies happen in order. A
// Config is not safe for concurrent mutation; Running returns a private
// clone. Counters are never copied into the Config: show reads them live
// from the installed Program, by name.
package ctrlplane
