package spareproc

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// A hold on a process with one P gives it two; nested holds raise once and
// the last release gives the P back, to the runtime's default.
func TestHoldSparesAProc(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set in the environment: Hold leaves it alone")
	}
	t.Cleanup(runtime.SetDefaultGOMAXPROCS)
	runtime.SetDefaultGOMAXPROCS()
	want := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(1)
	outer := Hold()
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Fatalf("GOMAXPROCS in a hold: %d, want 2", got)
	}
	inner := Hold()
	inner()
	inner() // a second call of one release does nothing
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS after the inner release: %d, want 2 until the outer one", got)
	}
	outer()
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Errorf("GOMAXPROCS after the last release: %d, want the default %d", got, want)
	}
}

// A hold on a process with more than one P changes nothing.
func TestHoldLeavesSeveralProcs(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set in the environment: Hold leaves it alone")
	}
	t.Cleanup(runtime.SetDefaultGOMAXPROCS)
	runtime.GOMAXPROCS(3)
	release := Hold()
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("GOMAXPROCS in a hold: %d, want 3 as before", got)
	}
	release()
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("GOMAXPROCS after the hold: %d, want 3 as before", got)
	}
}

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
