package spareproc

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// BackgroundNice is the nice value Background gives the calling
// goroutine's thread: the kernel then gives a dataplane thread woken
// beside it about ten times its share of a shared core.
const BackgroundNice = 10

// Background makes the rest of the calling goroutine's life background
// work for the kernel: the goroutine is locked to its thread (never
// unlocked, so the thread ends with the goroutine and no other goroutine
// ever runs at its priority) and the thread's nice value is raised to
// BackgroundNice. For a goroutine that ends after one piece of control
// work, as the control socket's per-connection goroutine does; with Hold,
// the dataplane's receive goroutines run on another thread, which then
// wins the core when a frame arrives. An error (a kernel refusing) leaves
// the thread at its priority.
func Background() error {
	runtime.LockOSThread()
	return unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), BackgroundNice)
}
