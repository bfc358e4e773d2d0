package vm

import (
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// consolePair is a Console on one end of a unix socket and the other end,
// standing for qemu.
func consolePair(t *testing.T) (*Console, net.Conn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "con.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	con, err := DialConsole(path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { con.Close() })
	peer, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { peer.Close() })
	return con, peer
}

// WaitClosed returns once the other end is gone, also when nothing is
// left to read past the last match (an Expect for "nothing more" would
// match that empty rest at once), and times out while it is open.
func TestConsoleWaitClosed(t *testing.T) {
	con, peer := consolePair(t)
	if _, err := peer.Write([]byte("going down for power off\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := con.Expect(regexp.MustCompile(`power off\r\n`), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := con.WaitClosed(50 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "still open") {
		t.Fatalf("WaitClosed with the peer open: %v", err)
	}
	peer.Close()
	if err := con.WaitClosed(5 * time.Second); err != nil {
		t.Fatalf("WaitClosed after the peer closed: %v", err)
	}
}
