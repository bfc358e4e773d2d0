package main

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// A push that outlasts the interval is reported as still applying, and
// its own result comes back when it ends.
func TestWaitReporting(t *testing.T) {
	pr, pw := io.Pipe()
	release := make(chan struct{})
	want := errors.New("refused")
	result := make(chan error, 1)
	go func() {
		result <- waitReporting(pw, time.Millisecond, func() error { <-release; return want })
		pw.Close()
	}()
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, pr) // later reports until the push ends
	}()
	select {
	case line := <-lines:
		if !strings.HasPrefix(line, "lbx push: the appliance is still applying (") {
			t.Errorf("progress line %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no progress line within 10s")
	}
	close(release)
	select {
	case err := <-result:
		if err != want {
			t.Errorf("waitReporting = %v, want the push's own error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waitReporting did not return within 10s of the push ending")
	}
}

// Standard input larger than a message is refused, never cut short.
func TestReadAllMax(t *testing.T) {
	if b, err := readAllMax(strings.NewReader("abcd"), 4); err != nil || string(b) != "abcd" {
		t.Errorf("at the limit: %q, %v", b, err)
	}
	if _, err := readAllMax(strings.NewReader("abcde"), 4); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("over the limit: %v", err)
	}
}
