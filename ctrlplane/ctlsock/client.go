package ctlsock

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Client talks to a running appliance over its control socket.
type Client struct {
	Path    string
	Timeout time.Duration // per request; 0 means 60s
	// Session, when set, keeps a server-side session (and its open
	// transaction) across this client's requests.
	Session string
}

// ErrNoAppliance means nothing listens on the control socket.
var ErrNoAppliance = errors.New("no appliance is running (control socket not reachable)")

// Exec runs one command on the appliance.
func (c *Client) Exec(line string) (string, error) {
	return c.do(Request{Op: "exec", Text: line, Session: c.Session})
}

// ExecAlteon runs Alteon dialect lines in the client's session and returns
// the prompt of the menu it leaves open.
func (c *Client) ExecAlteon(line string) (out, prompt string, err error) {
	resp, err := c.roundTrip(Request{Op: "exec", Text: line, Session: c.Session, Dialect: "alteon"})
	return resp.Output, resp.Prompt, err
}

// Push sends a script to be applied as a whole.
func (c *Client) Push(text string) (string, error) { return c.do(Request{Op: "push", Text: text}) }

func (c *Client) do(req Request) (string, error) {
	resp, err := c.roundTrip(req)
	return resp.Output, err
}

func (c *Client) roundTrip(req Request) (Response, error) {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Path)
	if err != nil {
		return Response{}, fmt.Errorf("%s: %w: %v", c.Path, ErrNoAppliance, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	err = writeMessage(conn, &req, MaxMessage)
	var tl *tooLargeError
	if errors.As(err, &tl) {
		return Response{}, fmt.Errorf("control socket %s: request of %w", c.Path, tl)
	}
	if err != nil {
		// The server may have refused the request (busy, too large) and
		// closed: its answer says why.
		if resp, rerr := decodeResponse(conn, MaxMessage); rerr == nil && resp.Error != "" {
			return resp, errors.New(resp.Error)
		}
		return Response{}, fmt.Errorf("control socket %s: send: %w", c.Path, err)
	}
	resp, err := decodeResponse(conn, MaxMessage)
	if err != nil {
		return Response{}, fmt.Errorf("control socket %s: read answer: %w", c.Path, err)
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}
