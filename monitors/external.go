package monitors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"lbx/internal/clock"
)

// ExternalProber runs BIG-IP-style external monitor programs (tmsh monitor
// type external, "run" and "args").
//
// The program is called as
//
//	RUN ADDR PORT [ARGS...]
//
// with the environment NODE_IP=ADDR, NODE_PORT=PORT,
// MON_TMPL_NAME=<monitor name>, a fixed PATH, the Spec's Env and the
// prober's Env; nothing of lbx's own environment is passed. ADDR is the
// plain address (198.18.2.11) unless MappedIPv4 is set, in which case IPv4
// addresses are passed as BIG-IP does, IPv4-mapped (::ffff:198.18.2.11);
// scripts written for BIG-IP that strip "::ffff:" work either way.
//
// The probe succeeds when the program exits 0 and wrote anything to
// stdout (BIG-IP marks up on output; lbx also requires the zero exit so a
// crashing script that printed something does not pass). At the probe's
// deadline the program's whole process group is killed.
type ExternalProber struct {
	Clock      clock.Clock // time base of Result.Start and End; nil: clock.System
	MappedIPv4 bool        // pass IPv4 as ::ffff:a.b.c.d, like BIG-IP
	Env        []string    // added to every program's environment
	// MaxOutput bounds the bytes kept of stdout and of stderr each; the
	// rest is read and discarded. 0: 4096.
	MaxOutput int
	// WaitDelay bounds how long to wait for output pipes after the
	// program exits or is killed (a backgrounded child may hold them).
	// 0: one second.
	WaitDelay time.Duration
}

var _ Prober = (*ExternalProber)(nil)

// externalPath is the PATH external programs run with.
const externalPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Probe runs spec.Run against t.
func (e *ExternalProber) Probe(ctx context.Context, spec *Spec, t Target) Result {
	clk := e.Clock
	if clk == nil {
		clk = clock.System{}
	}
	start := clk.Now()
	res := Result{Start: start}
	finish := func(v Verdict, reason string) Result {
		res.Verdict, res.Reason, res.End = v, reason, clk.Now()
		return res
	}
	addr := t.Addr.Unmap()
	if e.MappedIPv4 && addr.Is4() {
		addr = netip.AddrFrom16(addr.As16())
	}
	addrS, portS := addr.String(), strconv.Itoa(int(t.Port))

	limit := e.MaxOutput
	if limit <= 0 {
		limit = 4096
	}
	stdout, stderr := &cappedBuffer{limit: limit}, &cappedBuffer{limit: limit}
	cmd := exec.CommandContext(ctx, spec.Run, append([]string{addrS, portS}, spec.Args...)...)
	cmd.Env = append([]string{"PATH=" + externalPath, "NODE_IP=" + addrS, "NODE_PORT=" + portS, "MON_TMPL_NAME=" + spec.Name},
		append(append([]string(nil), spec.Env...), e.Env...)...)
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = e.WaitDelay
	if cmd.WaitDelay <= 0 {
		cmd.WaitDelay = time.Second
	}
	killGroupOnCancel(cmd)

	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			d, _ := ctx.Deadline()
			return finish(Failure, NoAnswer(d.Sub(start).Round(time.Millisecond))+" (killed)")
		}
		return finish(Failure, "cancelled")
	}
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			reason := exitErr.String()
			if line := firstLine(stderr.Bytes()); line != "" {
				reason += ": " + line
			}
			return finish(Failure, reason)
		}
		if !errors.Is(err, exec.ErrWaitDelay) {
			return finish(Failure, fmt.Sprintf("run %s: %v", spec.Run, err))
		}
	}
	if stdout.n == 0 {
		return finish(Failure, "no output on stdout")
	}
	return finish(Success, "output: "+firstLine(stdout.Bytes()))
}

// firstLine returns the first non-empty line of b, at most 120 bytes.
func firstLine(b []byte) string {
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(line) > 120 {
			line = line[:120] + "..."
		}
		return line
	}
	return ""
}

// cappedBuffer keeps the first limit bytes written and counts the rest.
type cappedBuffer struct {
	buf   bytes.Buffer
	limit int
	n     int64
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if room := c.limit - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (c *cappedBuffer) Bytes() []byte { return c.buf.Bytes() }
