package spareproc

import (
	"os"
	"runtime"
	"sync"
)

var state struct {
	sync.Mutex
	holds  int  // holds not released
	raised bool // this package set GOMAXPROCS to 2
}

// Hold gives the process a second P, if it runs with one, until release is
// called (once).
func Hold() (release func()) {
	if os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	state.Lock()
	defer state.Unlock()
	state.holds++
	if state.holds == 1 && runtime.GOMAXPROCS(0) == 1 {
		runtime.GOMAXPROCS(2)
		state.raised = true
	}
	var once sync.Once
	return func() { once.Do(releaseOne) }
}

func releaseOne() {
	state.Lock()
	defer state.Unlock()
	state.holds--
	if state.holds == 0 && state.raised {
		runtime.SetDefaultGOMAXPROCS()
		state.raised = false
	}
}
