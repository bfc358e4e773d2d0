package spareproc

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
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

// A hold raises the GC percent to HeavyGCPercent; nested holds raise it
// once and the last release restores what it was.
func TestHoldPacesGC(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC is set in the environment: Hold leaves it alone")
	}
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	outer := Hold()
	inner := Hold()
	if got := debug.SetGCPercent(HeavyGCPercent); got != HeavyGCPercent {
		t.Fatalf("GC percent in a hold: %d, want %d", got, HeavyGCPercent)
	}
	inner()
	if got := debug.SetGCPercent(HeavyGCPercent); got != HeavyGCPercent {
		t.Errorf("GC percent after the inner release: %d, want %d until the outer one", got, HeavyGCPercent)
	}
	outer()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent after the last release: %d, want 100 again", got)
	}
	// A target already above HeavyGCPercent is left as it is.
	debug.SetGCPercent(800)
	release := Hold()
	if got := debug.SetGCPercent(800); got != 800 {
		t.Errorf("GC percent in a hold over 800: %d, want 800", got)
	}
	release()
	if got := debug.SetGCPercent(100); got != 800 {
		t.Errorf("GC percent after that hold: %d, want 800", got)
	}
}
