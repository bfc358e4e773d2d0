package vm

import (
	"bytes"
	"fmt"
	"net"
	"regexp"
	"sync"
	"time"
)

// Console is a VM's serial console reached over qemu's unix socket
// chardev, read by one goroutine into a transcript that Expect searches.
type Console struct {
	conn net.Conn

	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte // everything read
	mark   int    // Expect searches from here
	closed bool
}

// DialConsole connects to the socket at path, retrying until it answers
// (qemu creates it at start), at most wait.
func DialConsole(path string, wait time.Duration) (*Console, error) {
	deadline := time.Now().Add(wait)
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			con := &Console{conn: c}
			con.cond = sync.NewCond(&con.mu)
			go con.read()
			return con, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("console %s: %w", path, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Console) read() {
	b := make([]byte, 4096)
	for {
		n, err := c.conn.Read(b)
		c.mu.Lock()
		c.buf = append(c.buf, b[:n]...)
		if err != nil {
			c.closed = true
		}
		c.cond.Broadcast()
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Close closes the connection (qemu keeps the socket for the next).
func (c *Console) Close() error { return c.conn.Close() }

// Send types s on the console.
func (c *Console) Send(s string) error {
	_, err := c.conn.Write([]byte(s))
	return err
}

// Line types s and a carriage return (the Enter key).
func (c *Console) Line(s string) error { return c.Send(s + "\r") }

// Transcript is everything the console printed so far.
func (c *Console) Transcript() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}

// Expect waits, at most wait, for re to match what the console printed
// since the last match; it returns the text up to and including the
// match, and moves past it.
func (c *Console) Expect(re *regexp.Regexp, wait time.Duration) (string, error) {
	timer := time.AfterFunc(wait, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(wait)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if loc := re.FindIndex(c.buf[c.mark:]); loc != nil {
			out := string(c.buf[c.mark : c.mark+loc[1]])
			c.mark += loc[1]
			return out, nil
		}
		if c.closed {
			return "", fmt.Errorf("console closed waiting for %q; it printed %q", re, tail(c.buf[c.mark:]))
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("console: no %q within %s; it printed %q", re, wait, tail(c.buf[c.mark:]))
		}
		c.cond.Wait()
	}
}

// WaitClosed waits, at most wait, for the console to close (qemu exited),
// whatever it prints meanwhile.
func (c *Console) WaitClosed(wait time.Duration) error {
	timer := time.AfterFunc(wait, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(wait)
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.closed {
		if time.Now().After(deadline) {
			return fmt.Errorf("console: still open after %s; it printed %q", wait, tail(c.buf[c.mark:]))
		}
		c.cond.Wait()
	}
	return nil
}

// ExpectString is Expect for a literal string.
func (c *Console) ExpectString(s string, wait time.Duration) (string, error) {
	return c.Expect(regexp.MustCompile(regexp.QuoteMeta(s)), wait)
}

func tail(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}
