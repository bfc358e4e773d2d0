package testbed

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// LockPath is the host-wide lock that serializes testbeds: every testbed
// uses the same namespace names, and Up first removes whatever an earlier
// run left, so two at once would tear each other down.
const LockPath = "/run/lock/lbx-testbed.lock"

// lockWait bounds how long Up waits for another testbed to finish.
const lockWait = 15 * time.Minute

// hostLock is a held flock on LockPath.
type hostLock struct{ f *os.File }

// acquireLock takes the lock at path, waiting (polling, bounded by wait)
// while another process or testbed holds it.
func acquireLock(path string, wait time.Duration, log io.Writer) (*hostLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("testbed: lock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testbed: lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	told := false
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return &hostLock{f: f}, nil
		}
		if err != unix.EWOULDBLOCK {
			f.Close()
			return nil, fmt.Errorf("testbed: lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("testbed: lock %s: another testbed held it for %s", path, wait)
		}
		if !told {
			fmt.Fprintf(log, "testbed: waiting for another testbed to finish (%s)\n", path)
			told = true
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// release gives the lock up; closing the file drops the flock.
func (l *hostLock) release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
