package localstack

import (
	"context"
	"io"
	"net/netip"
	"testing"
	"time"
)

// TestListenAgainOverTimeWait closes a listener whose connection the
// server side closed first (so it is in TIME_WAIT, holding the port) and
// listens on the same address and port at once, as an HTTP virtual
// deleted and created again does: the bind must succeed (SO_REUSEADDR).
func TestListenAgainOverTimeWait(t *testing.T) {
	app, srv, _ := stackPair(t)
	dest := netip.MustParseAddrPort("10.9.0.2:8443")
	ln, err := srv.ListenTCP(dest)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := app.DialTCP(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	c.SetDeadline(deadline)
	s.SetDeadline(deadline)
	// The server sends its FIN first; the client answers with its own.
	if err := s.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("client read: %v", err)
	}
	c.Close()
	if _, err := io.ReadAll(s); err != nil { // the client's FIN: the server is in TIME_WAIT
		t.Fatalf("server read: %v", err)
	}
	s.Close()
	ln.Close()
	ln2, err := srv.ListenTCP(dest)
	if err != nil {
		t.Fatalf("listen again over TIME_WAIT: %v", err)
	}
	ln2.Close()
}
