package spareproc

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync"
)

// HeavyGCPercent is the garbage collector's target (GOGC) while a hold
// lasts: a large apply builds its new state in one go (a push of 100,000
// members allocates about 300 MB, half of it kept), and at the default of
// 100 the collector marks the growing heap six or seven times over it,
// work that competes for the apply's core.
const HeavyGCPercent = 400

var state struct {
	sync.Mutex
	holds  int  // holds not released
	raised bool // this package set GOMAXPROCS to 2
	paced  bool // this package set the GC percent; prevGC is what it was
	prevGC int
}

// Hold gives the process a second P, if it runs with one, and the garbage
// collector a target of HeavyGCPercent, until release is called (once).
// GOMAXPROCS and GOGC set in the environment are left alone.
func Hold() (release func()) {
	state.Lock()
	defer state.Unlock()
	state.holds++
	if state.holds == 1 {
		if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) == 1 {
			runtime.GOMAXPROCS(2)
			state.raised = true
		}
		if os.Getenv("GOGC") == "" {
			if prev := debug.SetGCPercent(HeavyGCPercent); prev >= 0 && prev < HeavyGCPercent {
				state.prevGC, state.paced = prev, true
			} else {
				debug.SetGCPercent(prev) // off or already higher: leave it
			}
		}
	}
	var once sync.Once
	return func() { once.Do(releaseOne) }
}

func releaseOne() {
	state.Lock()
	defer state.Unlock()
	state.holds--
	if state.holds != 0 {
		return
	}
	if state.raised {
		runtime.SetDefaultGOMAXPROCS()
		state.raised = false
	}
	if state.paced {
		debug.SetGCPercent(state.prevGC)
		state.paced = false
	}
}
