package main

import (
	"bytes"
	"log/slog"
	"strings"
	"syscall"
	"testing"
)

// lbx run raises a low soft limit on open files to the hard limit and
// logs it.
func TestRaiseFDLimit(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig)
	if orig.Max < 512 {
		t.Skipf("hard limit %d: nothing to raise to", orig.Max)
	}
	low := syscall.Rlimit{Cur: 256, Max: orig.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	r, err := raiseFDLimit(slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var now syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now)
	if r.Cur != orig.Max || now.Cur != orig.Max {
		t.Errorf("soft limit %d (reported %d), want the hard limit %d", now.Cur, r.Cur, orig.Max)
	}
	if !strings.Contains(log.String(), "open files limit raised") || !strings.Contains(log.String(), "was=256") {
		t.Errorf("log: %s", log.String())
	}
	// Already at the hard limit: said, nothing changed.
	log.Reset()
	if _, err := raiseFDLimit(slog.New(slog.NewTextHandler(&log, nil))); err != nil || !strings.Contains(log.String(), "msg=\"open files limit\"") {
		t.Errorf("at the hard limit: %v, log %s", err, log.String())
	}
}
