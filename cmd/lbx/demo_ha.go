package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"lbx/testbed"
)

// haDrip is the long transfer of `lbx demo ha`: 100 lines, one every
// 100 ms, about 10 s unless broken.
const haDripLines, haDripMS = 100, 100

// haDemo is `lbx demo ha`: the ha topology up, the pair elected (lbx1
// active), the units' device trust, config sync of a change from lbx1 to
// lbx2 over the management network, lbx1 streaming its flows to lbx2 (the
// stream is authenticated by that trust), a long transfer and wrk through
// the mirrored VIP across `run sys failover standby`, then a second
// transfer across kill -9 of the new active unit, the topology down. A
// step that turns out otherwise is an error.
func haDemo(ctx context.Context, w io.Writer, opts testbed.Options) (err error) {
	tb, down, err := upTopology("ha", w, opts)
	if err != nil {
		return err
	}
	defer down(&err)
	vip := "http://" + tb.Topo.VIP.String()
	step := func(title string) { fmt.Fprintf(w, "\n== %s\n", title) }
	// exec runs a tmsh command on a unit.
	exec := func(unit, cmd string) (string, error) {
		c, err := tb.ClientOf(unit)
		if err != nil {
			return "", err
		}
		c.Timeout = 3 * time.Second
		return c.Exec(cmd)
	}
	status := func(unit string) haStatus {
		out, err := exec(unit, "show cm failover-status")
		if err != nil {
			return haStatus{State: "unreachable"}
		}
		return parseHAStatus(out)
	}
	wait := func(what string, limit time.Duration, cond func() bool) (time.Duration, error) {
		start := time.Now()
		for !cond() {
			if time.Since(start) > limit {
				return 0, fmt.Errorf("demo ha: %s: not within %v (lbx1 %+v, lbx2 %+v)", what, limit, status("lbx1"), status("lbx2"))
			}
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
		return time.Since(start), nil
	}
	show := func(units ...string) {
		for _, u := range units {
			s := status(u)
			fmt.Fprintf(w, "  %s: %-7s streaming to its peer: %s, flows sent %s, received %s\n", u, s.State, s.Streaming, s.FlowsSent, s.FlowsReceived)
		}
	}
	// holds reports whether unit's flow table has the client's
	// connection to the VIP (mirrored there, or its own).
	holds := func(unit string) bool {
		out, err := exec(unit, "show sys connection cs-server-addr "+tb.Topo.VIP.String())
		return err == nil && strings.Contains(out, "198.18.1.10:")
	}

	step("the pair: lbx1 (priority 200) active, lbx2 (priority 100) standby")
	if _, err := wait("lbx1 active, lbx2 standby", 20*time.Second, func() bool {
		return status("lbx1").State == "ACTIVE" && status("lbx2").State == "STANDBY"
	}); err != nil {
		return err
	}
	show("lbx1", "lbx2")
	servers := map[string]int{}
	for range 10 {
		s, err := tb.Get(ctx, "client", vip+"/")
		if err != nil {
			return fmt.Errorf("demo ha: a request through the VIP: %w", err)
		}
		servers[s]++
	}
	fmt.Fprintf(w, "  10 requests from client through %s (gateway: the floating 198.18.1.1): %v\n", vip, servers)
	if servers["server1"]+servers["server2"] != 10 {
		return fmt.Errorf("demo ha: 10 requests reached %v, want server1 and server2 only", servers)
	}

	step("device trust, config sync and mirroring over the management network: trust, a device group, a change on lbx1 reaches lbx2, lbx1 streams its flows to lbx2")
	for _, cmd := range []string{
		"modify cm trust-domain Root ca-devices add { 127.0.0.2 } name lbx2 username admin password " + tb.State.Password,
		"create cm device-group pair devices { lbx1 lbx2 } type sync-failover",
	} {
		if _, err := exec("lbx1", cmd); err != nil {
			return fmt.Errorf("demo ha: lbx1: %s: %w", strings.Replace(cmd, tb.State.Password, "…", 1), err)
		}
		fmt.Fprintf(w, "  lbx1# %s\n", strings.Replace(cmd, tb.State.Password, "…", 1))
	}
	const change = "modify ltm pool web_pool load-balancing-mode least-connections-member"
	if _, err := wait("lbx2 takes the device group", 10*time.Second, func() bool {
		out, err := exec("lbx2", "list cm device-group")
		return err == nil && strings.Contains(out, "pair")
	}); err != nil {
		return err
	}
	for _, cmd := range []string{change, "run cm config-sync to-group pair"} {
		out, err := exec("lbx1", cmd)
		if err != nil {
			return fmt.Errorf("demo ha: lbx1: %s: %w", cmd, err)
		}
		fmt.Fprintf(w, "  lbx1# %s\n%s", cmd, out)
	}
	took, err := wait("the change reaches lbx2", 10*time.Second, func() bool {
		out, err := exec("lbx2", "list ltm pool web_pool")
		return err == nil && strings.Contains(out, "least-connections-member")
	})
	if err != nil {
		st1, _ := exec("lbx1", "show cm sync-status")
		st2, _ := exec("lbx2", "show cm sync-status")
		return fmt.Errorf("%w\nlbx1:\n%s\nlbx2:\n%s", err, st1, st2)
	}
	fmt.Fprintf(w, "  lbx2's web_pool has it (%v after the sync)\n", took.Round(10*time.Millisecond))
	// The mirroring stream is mutual TLS with the same device trust: lbx1
	// streams once lbx2 is trusted.
	if _, err := wait("lbx1 streaming its flows to lbx2", 10*time.Second, func() bool { return status("lbx1").Streaming == "yes" }); err != nil {
		return err
	}
	show("lbx1", "lbx2")

	// failover moves traffic-group-1 from active to standby by how while a
	// long transfer runs, and checks that the transfer survives; with
	// probe, it times the first new request answered after act.
	failover := func(active, standby, how string, probe bool, act func() error) error {
		tr, err := startDrip(tb, vip)
		if err != nil {
			return err
		}
		defer tr.stop()
		if _, err := wait("the transfer under way", 10*time.Second, func() bool { return tr.lines() >= 5 }); err != nil {
			return err
		}
		if _, err := wait(standby+" holds the mirrored flow", 5*time.Second, func() bool { return holds(standby) }); err != nil {
			return err
		}
		at := tr.lines()
		fmt.Fprintf(w, "  transfer: %d of %d lines received, %s holds its mirrored flow\n", at, haDripLines, standby)
		fmt.Fprintf(w, "  %s: %s\n", active, how)
		begin := time.Now()
		if err := act(); err != nil {
			return err
		}
		if probe {
			// A new connection each time, the connect bounded to 200 ms
			// (the kernel would resend a lost SYN only after 1 s): the first one
			// answered is through the new active unit.
			if _, err := wait("a new request answered through "+standby, 10*time.Second, func() bool {
				c, err := tb.Command("client", "curl", "-sS", "-o", "/dev/null", "--connect-timeout", "0.2", "--max-time", "2", vip+"/")
				return err == nil && c.Run() == nil
			}); err != nil {
				return err
			}
			fmt.Fprintf(w, "  a new request answered %v after the %s\n", time.Since(begin).Round(10*time.Millisecond), how)
		}
		_, err = wait(standby+" takes over", 10*time.Second, func() bool { return status(standby).State == "ACTIVE" })
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s active (%v after the %s)\n", standby, time.Since(begin).Round(10*time.Millisecond), how)
		out, n, err := tr.wait(ctx)
		if err != nil || !dripComplete(out) {
			return fmt.Errorf("demo ha: the mirrored transfer broke at %s: %d of %d lines (curl: %v)", how, n, haDripLines, err)
		}
		fmt.Fprintf(w, "  the transfer survived: all %d lines in order (%d of them after the failover)\n", haDripLines, haDripLines-at)
		return nil
	}

	step("planned failover under load: run sys failover standby on lbx1, with a long transfer and wrk through the VIP")
	wrk, err := tb.Command("client", "wrk", "-t1", "-c4", "-d6s", vip+"/")
	if err != nil {
		return err
	}
	var wrkOut bytes.Buffer
	wrk.Stdout, wrk.Stderr = &wrkOut, &wrkOut
	if err := wrk.Start(); err != nil {
		return fmt.Errorf("demo ha: wrk: %w", err)
	}
	wrkDone := make(chan error, 1)
	go func() { wrkDone <- wrk.Wait() }()
	err = failover("lbx1", "lbx2", "run sys failover standby", false, func() error {
		_, err := exec("lbx1", "run sys failover standby")
		return err
	})
	if werr := <-wrkDone; err == nil && werr != nil {
		err = fmt.Errorf("demo ha: wrk: %w\n%s", werr, wrkOut.String())
	}
	if err != nil {
		return err
	}
	reqs, lost := wrkFigures(wrkOut.String())
	fmt.Fprintf(w, "  wrk across the failover (4 keep-alive connections, 6 s): %d requests, %d lost (socket errors, timeouts, non-2xx)\n", reqs, lost)
	if reqs == 0 {
		return fmt.Errorf("demo ha: wrk made no request:\n%s", wrkOut.String())
	}
	if _, err := exec("lbx1", "run sys failover online"); err != nil {
		return err
	}
	if _, err := wait("lbx1 standby again, lbx2 streaming to it", 10*time.Second, func() bool {
		return status("lbx1").State == "STANDBY" && status("lbx2").Streaming == "yes"
	}); err != nil {
		return err
	}
	fmt.Fprintln(w, "  run sys failover online on lbx1: it stays standby (no preemption)")
	show("lbx1", "lbx2")

	step("crash: kill -9 of the active unit lbx2 during a long transfer")
	if err := failover("lbx2", "lbx1", "kill -9", true, func() error {
		return tb.CrashApplianceNamed("lbx2")
	}); err != nil {
		return err
	}
	show("lbx1")
	return nil
}

// haStatus is what `show cm failover-status` says of a unit.
type haStatus struct{ State, Streaming, FlowsSent, FlowsReceived string }

func parseHAStatus(out string) haStatus {
	var s haStatus
	for _, l := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(l, "  ")
		v = strings.TrimSpace(v)
		switch k {
		case "Status":
			s.State = v
		case "Streaming":
			s.Streaming = v
		case "Flows Sent":
			s.FlowsSent = v
		case "Flows Received":
			s.FlowsReceived = v
		}
	}
	return s
}

// drip is a running curl of the long transfer on the client.
type drip struct {
	cmd  *testbed.HostCmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func (d *drip) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.Write(p)
}

func (d *drip) text() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

func (d *drip) lines() int { return strings.Count(d.text(), "\n") }

func startDrip(tb *testbed.Testbed, vip string) (*drip, error) {
	c, err := tb.Command("client", "curl", "-sS", "-N", "--max-time", "30", fmt.Sprintf("%s/drip?n=%d&ms=%d", vip, haDripLines, haDripMS))
	if err != nil {
		return nil, err
	}
	d := &drip{cmd: c, done: make(chan error, 1)}
	c.Stdout, c.Stderr = d, d
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("demo ha: curl: %w", err)
	}
	go func() { d.done <- c.Wait() }()
	return d, nil
}

// wait waits for curl to end, or for its output to stall for 3 s (30
// times the drip's pace: the connection is broken).
func (d *drip) wait(ctx context.Context) (string, int, error) {
	last, since := -1, time.Now()
	for {
		select {
		case err := <-d.done:
			d.done <- err // stop reads it again
			return d.text(), d.lines(), err
		case <-ctx.Done():
			return d.text(), d.lines(), ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if n := d.lines(); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) > 3*time.Second {
			return d.text(), n, fmt.Errorf("stalled at %d lines for 3 s", n)
		}
	}
}

// stop kills curl if it still runs and reaps it.
func (d *drip) stop() {
	select {
	case err := <-d.done:
		d.done <- err
	default:
		d.cmd.Process.Kill()
		d.done <- <-d.done
	}
}

// dripComplete reports whether out is the whole drip, in order, from one
// server.
func dripComplete(out string) bool {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != haDripLines {
		return false
	}
	server := testbed.ServerName(lines[0])
	for i, l := range lines {
		if l != "server="+server+" i="+strconv.Itoa(i+1) {
			return false
		}
	}
	return server != ""
}

var (
	wrkReqRe  = regexp.MustCompile(`(\d+) requests in`)
	wrkLostRe = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)|Non-2xx or 3xx responses: (\d+)`)
)

// wrkFigures are the requests wrk made and those it lost.
func wrkFigures(out string) (requests, lost int) {
	if m := wrkReqRe.FindStringSubmatch(out); m != nil {
		requests, _ = strconv.Atoi(m[1])
	}
	for _, m := range wrkLostRe.FindAllStringSubmatch(out, -1) {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			lost += n
		}
	}
	return requests, lost
}
