package ctlsock

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Client talks to a running appliance over its control socket.
type Client struct {
	Path    string
	Timeout time.Duration // per request but Push; 0 means 60s
	// PushTimeout bounds how long Push waits for the answer; 0 (the
	// default) waits as long as the appliance works: a push is answered
	// only once it is applied (or refused), and going away does not stop
	// it, so a client that gave up early would report a failure for a
	// push that then applies.
	PushTimeout time.Duration
	// Session, when set, keeps a server-side session (and its open
	// transaction) across this client's requests.
	Session string
	// Dialect, when set, names the dialect of Exec, Push, Check and
	// ShowJSON requests ("tmsh", "alteon"); empty lets the text choose.
	Dialect string
	// User, when set, runs the requests as that `auth user`, with its
	// role (Request.User); empty runs them as root.
	User string
}

// ErrNoAppliance means nothing listens on the control socket.
var ErrNoAppliance = errors.New("no appliance is running (control socket not reachable)")

// Exec runs one command on the appliance.
func (c *Client) Exec(line string) (string, error) {
	return c.do(Request{Op: "exec", Text: line, Session: c.Session, Dialect: c.Dialect, User: c.User})
}

// ShowJSON runs one read-only command (show, list) and returns its answer
// as JSON.
func (c *Client) ShowJSON(line string) (string, error) {
	return c.do(Request{Op: "exec", Text: line, Dialect: c.Dialect, Output: "json", User: c.User})
}

// ExecState runs a tmsh line and returns, with its output, the unit's
// part of the tmsh prompt after it ("(lbx1)(cfg-sync In Sync)(Active)";
// "" on a unit without HA or config sync).
func (c *Client) ExecState(line string) (out, state string, err error) {
	resp, err := c.roundTrip(Request{Op: "exec", Text: line, Session: c.Session, Dialect: c.Dialect, User: c.User})
	if !strings.HasPrefix(resp.Prompt, "(") {
		resp.Prompt = "" // a line the Alteon dialect claimed: its menu's prompt
	}
	return resp.Output, resp.Prompt, err
}

// ExecAlteon runs Alteon dialect lines in the client's session and returns
// the prompt of the menu it leaves open.
func (c *Client) ExecAlteon(line string) (out, prompt string, err error) {
	resp, err := c.roundTrip(Request{Op: "exec", Text: line, Session: c.Session, Dialect: "alteon", User: c.User})
	return resp.Output, resp.Prompt, err
}

// AlteonPending reports whether the client's Alteon session holds
// changes not applied (an empty request asks; it changes nothing).
func (c *Client) AlteonPending() (bool, error) {
	resp, err := c.roundTrip(Request{Op: "exec", Text: "", Session: c.Session, Dialect: "alteon"})
	return resp.Pending, err
}

// Complete asks the appliance what may come next after line in dialect
// ("" for the default), in the client's session when it has one.
func (c *Client) Complete(dialect, line string) ([]Candidate, error) {
	resp, err := c.roundTrip(Request{Op: "complete", Text: line, Session: c.Session, Dialect: dialect})
	return resp.Candidates, err
}

// Push sends a script to be applied as a whole and waits for the apply
// (see PushTimeout). When PushTimeout runs out first, the error says the
// push may still apply.
func (c *Client) Push(text string) (string, error) {
	late := fmt.Sprintf("gave up waiting after %v, but the appliance may still apply the push (it answers only once applied; check with list)", c.PushTimeout)
	resp, err := c.roundTripWait(Request{Op: "push", Text: text, Dialect: c.Dialect, User: c.User}, c.PushTimeout, late)
	return resp.Output, err
}

// Check dry-runs a push: the appliance validates and compiles the script
// as a push would and answers with what it would change, applying
// nothing.
func (c *Client) Check(text string) (string, error) {
	resp, err := c.roundTripWait(Request{Op: "push", Text: text, Dialect: c.Dialect, Check: true, User: c.User}, c.PushTimeout, "")
	return resp.Output, err
}

func (c *Client) do(req Request) (string, error) {
	resp, err := c.roundTrip(req)
	return resp.Output, err
}

// timeout is the bound of a request but a push.
func (c *Client) timeout() time.Duration {
	if c.Timeout == 0 {
		return 60 * time.Second
	}
	return c.Timeout
}

func (c *Client) roundTrip(req Request) (Response, error) {
	return c.roundTripWait(req, c.timeout(), "")
}

// roundTripWait sends req and waits up to wait for the answer (0: no
// bound); connecting and sending are bounded by the client's Timeout. late
// explains an answer that did not come in time.
func (c *Client) roundTripWait(req Request, wait time.Duration, late string) (Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Path)
	if err != nil {
		return Response{}, fmt.Errorf("%s: %w: %v", c.Path, ErrNoAppliance, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetWriteDeadline(dl)
	}
	if wait > 0 {
		conn.SetReadDeadline(time.Now().Add(wait))
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
		if late != "" && errors.Is(err, os.ErrDeadlineExceeded) {
			return Response{}, fmt.Errorf("control socket %s: read answer: %w: %s", c.Path, err, late)
		}
		return Response{}, fmt.Errorf("control socket %s: read answer: %w", c.Path, err)
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}
