package nsspawn

import (
	"fmt"
	"os/exec"
	"runtime"
	"sync"

	"github.com/vishvananda/netns"
)

type request struct {
	ns   string
	cmd  *exec.Cmd
	done chan error
}

var (
	once     sync.Once
	requests chan request
	home     netns.NsHandle // the process's namespace when the thread began
	homeErr  error
)

// spawner owns the spawning thread. It never returns: the goroutine, its
// locked thread and home live until the process exits.
func spawner(ready chan<- struct{}) {
	runtime.LockOSThread()
	home, homeErr = netns.Get()
	close(ready)
	for r := range requests {
		r.done <- start(r.ns, r.cmd)
	}
}

func start(ns string, cmd *exec.Cmd) error {
	if homeErr != nil {
		return fmt.Errorf("nsspawn: current namespace: %w", homeErr)
	}
	target := home
	if ns != "" {
		h, err := netns.GetFromName(ns)
		if err != nil {
			return fmt.Errorf("netns %s: %w", ns, err)
		}
		defer h.Close()
		target = h
	}
	if err := netns.Set(target); err != nil {
		return fmt.Errorf("netns %s: enter: %w", ns, err)
	}
	return cmd.Start()
}

// Start starts cmd inside network namespace ns ("" is the namespace the
// process was in when Start was first called) from the package's
// long-lived thread, and returns cmd.Start's error. The caller waits for
// the process as usual (cmd.Wait). Starts are serialised; each is one
// fork and exec.
func Start(ns string, cmd *exec.Cmd) error {
	once.Do(func() {
		requests = make(chan request)
		ready := make(chan struct{})
		go spawner(ready)
		<-ready
	})
	done := make(chan error, 1)
	requests <- request{ns: ns, cmd: cmd, done: done}
	return <-done
}
