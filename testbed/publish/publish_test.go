package publish

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// Publish relays both ways with half-closes passed on, closes a client's
// connection when the destination refuses, and on cancel closes what is
// open and returns.
func TestPublishRelays(t *testing.T) {
	// The destination echoes until the client half-closes, then says bye.
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
				c.Write([]byte("bye"))
			}()
		}
	}()
	// A destination nothing listens on: a port taken, then released.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()

	var ls []net.Listener
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Publish(ctx, ls, []string{up.Addr().String(), deadAddr}, slog.New(slog.DiscardHandler))
	}()

	dial := func(l net.Listener) *net.TCPConn {
		t.Helper()
		c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c.(*net.TCPConn)
	}

	c := dial(ls[0])
	if _, err := c.Write([]byte("hello ")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello " {
		t.Fatalf("echo through the relay: %q, %v", buf, err)
	}
	c.CloseWrite()
	rest, err := io.ReadAll(c)
	if err != nil || string(rest) != "bye" {
		t.Fatalf("after the half-close: %q, %v; want the destination's \"bye\" and EOF", rest, err)
	}
	c.Close()

	c = dial(ls[1])
	if n, err := c.Read(buf); err != io.EOF {
		t.Fatalf("a connection to a refusing destination: read %d, %v; want EOF", n, err)
	}
	c.Close()

	// A connection open when the relay stops is closed with it.
	c = dial(ls[0])
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf[:1]); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Publish did not return within 10s of its context ending")
	}
	if n, err := c.Read(buf); err == nil {
		t.Fatalf("the open connection still reads (%d bytes) after the relay stopped", n)
	}
	c.Close()
	if _, err := net.DialTimeout("tcp", ls[0].Addr().String(), time.Second); err == nil {
		t.Error("the published address still accepts after the relay stopped")
	}
}

func TestPublishMismatchedDestinations(t *testing.T) {
	if err := Publish(context.Background(), nil, []string{"127.0.0.1:1"}, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("Publish accepted one destination for no listener")
	}
}
