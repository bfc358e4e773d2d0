package main

import (
	"fmt"
	"io"
	"time"
)

// pushProgressEvery is how often `lbx push` says it is still waiting: the
// appliance answers a push only once all of it is applied (or refused).
const pushProgressEvery = 5 * time.Second

// waitReporting runs f and, every interval until it returns, writes to w
// how long it has been waiting, so a long push is never silent and never
// mistaken for a hung one.
func waitReporting(w io.Writer, interval time.Duration, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	start := time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			fmt.Fprintf(w, "lbx push: the appliance is still applying (%s); it answers once all of it is applied or none\n", time.Since(start).Round(time.Second))
		}
	}
}

// readAllMax reads r to its end, refusing more than max bytes instead of
// cutting the text short: a script cut short could apply in part of what
// was meant.
func readAllMax(r io.Reader, max int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, fmt.Errorf("standard input is larger than the control socket's limit of %d MiB per message", max>>20)
	}
	return b, nil
}
