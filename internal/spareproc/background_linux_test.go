package spareproc

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// Background lowers the priority of the calling goroutine's thread only:
// a goroutine ending after it takes the thread with it, and the test's
// own thread keeps its priority.
func TestBackgroundLowersOneThread(t *testing.T) {
	mine, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		before, after int
		err           error
	}
	done := make(chan result)
	go func() {
		var r result
		runtime.LockOSThread() // the thread read before Background is the one it lowers
		r.before, _ = unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
		if r.err = Background(); r.err == nil {
			r.after, r.err = unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
		}
		done <- r
	}()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	// getpriority(2) returns 20 - nice.
	if got := 20 - r.after; got != BackgroundNice {
		t.Errorf("nice after Background: %d, want %d", got, BackgroundNice)
	}
	if r.before != mine {
		t.Errorf("a fresh thread's priority %d differs from the test's %d", r.before, mine)
	}
	if now, _ := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid()); now != mine {
		t.Errorf("the test's thread priority changed from %d to %d", mine, now)
	}
}
