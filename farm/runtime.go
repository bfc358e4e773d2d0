package farm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TCP states a connection can drain in (not LISTEN, TIME_WAIT, CLOSE).
func drainable(state uint8) bool {
	switch state {
	case 1, 2, 3, 4, 5, 8, 9, 11: // ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1/2, CLOSE_WAIT, LAST_ACK, CLOSING
		return true
	}
	return false
}

// scanConns counts this member's TCP connections to the VIP's rule ports
// per bucket (sock_diag), so a bucket it loses drains until they end.
func (m *Member) scanConns() ([Buckets]int, error) {
	var c [Buckets]int
	socks, err := netlink.SocketDiagTCP(unix.AF_INET)
	if err != nil {
		return c, err
	}
	for _, s := range socks {
		if !drainable(s.State) {
			continue
		}
		local, ok := netip.AddrFromSlice(s.ID.Source.To4())
		if !ok || local != m.cfg.VIP {
			continue
		}
		remote, ok := netip.AddrFromSlice(s.ID.Destination.To4())
		if !ok {
			continue
		}
		for _, r := range m.cfg.Rules {
			if r.Proto == "tcp" && r.Port == s.ID.SourcePort {
				c[BucketOf(remote, s.ID.DestinationPort, r.Filter)]++
				break
			}
		}
	}
	return c, nil
}

// checkLoop runs the tcp checkers every interval. A member whose checkers
// pass is UP; when one fails, the member goes WAIT (its buckets move to
// the others) and restarts its application (stop_both, start_both); after
// maxloop restarts within loop_interval it goes STOP instead.
func (m *Member) checkLoop() {
	interval := time.Second
	if len(m.cfg.Checks) > 0 {
		interval = m.cfg.Checks[0].Interval
		for _, c := range m.cfg.Checks[1:] {
			interval = min(interval, c.Interval)
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		m.mu.Lock()
		state := m.state
		m.mu.Unlock()
		if state != StateStop {
			m.checkOnce()
		}
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *Member) checkOnce() {
	if m.cfg.Check {
		// <interface check="on">: a LAN interface that is down puts the
		// member in WAIT, without a restart, until it is up again.
		if l, err := netlink.LinkByName(m.ifname); err == nil && l.Attrs().OperState == netlink.OperDown {
			m.mu.Lock()
			state := m.state
			m.mu.Unlock()
			if state == StateUp {
				m.setState(StateWait, "interface "+m.ifname+" is down")
			}
			return
		}
	}
	var failed error
	for _, c := range m.cfg.Checks {
		d := net.Dialer{Timeout: c.Timeout}
		ctx, cancel := context.WithTimeout(m.ctx, c.Timeout)
		conn, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(c.Addr, c.Port).String())
		cancel()
		if err != nil {
			failed = fmt.Errorf("%s %s:%d: %w", c.Ident, c.Addr, c.Port, err)
			break
		}
		conn.Close()
	}
	if m.ctx.Err() != nil {
		return
	}
	m.mu.Lock()
	state, old := m.state, m.check
	if failed == nil {
		m.check, m.checkMsg = checkOK, ""
	} else if len(m.cfg.Checks) > 0 {
		m.check, m.checkMsg = checkFailed, failed.Error()
	}
	m.mu.Unlock()
	if failed == nil {
		if old != checkOK && len(m.cfg.Checks) > 0 {
			m.modlog.Printf("checker ok")
		}
		if state == StateWait {
			m.setState(StateUp, "checkers pass")
		}
		return
	}
	now := time.Now()
	m.mu.Lock()
	if state == StateWait && now.Sub(m.startedAt) < StartGrace {
		// The application start_both started may not listen yet.
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	m.modlog.Printf("checker failed: %v", failed)
	m.mu.Lock()
	var recent []time.Time
	for _, r := range m.restarts {
		if now.Sub(r) < m.cfg.LoopInterval {
			recent = append(recent, r)
		}
	}
	m.restarts = recent
	stop := len(recent) >= m.cfg.MaxLoop
	if !stop {
		m.restarts = append(m.restarts, now)
	}
	n := len(m.restarts)
	m.mu.Unlock()
	if stop {
		m.setState(StateStop, fmt.Sprintf("maxloop: %d restarts within %s", n, m.cfg.LoopInterval))
		if err := m.scr.stop(m.ctx); err != nil {
			m.modlog.Printf("stop_both: %v", err)
		}
		return
	}
	m.setState(StateWait, fmt.Sprintf("restart %d of %d", n, m.cfg.MaxLoop))
	if err := m.scr.stop(m.ctx); err != nil {
		m.modlog.Printf("stop_both: %v", err)
	}
	m.startBoth(m.ctx)
}

// StartGrace is how long after start_both a WAIT member's failing
// checker is not yet a failure (the application may still be starting).
const StartGrace = 10 * time.Second

// startBoth runs start_both and starts the grace period.
func (m *Member) startBoth(ctx context.Context) {
	m.mu.Lock()
	m.startedAt = time.Now()
	m.mu.Unlock()
	if err := m.scr.run(ctx, "start_both"); err != nil {
		m.modlog.Printf("start_both: %v", err)
	}
	m.mu.Lock()
	m.startedAt = time.Now()
	m.mu.Unlock()
}

// scripts runs a module's bin/start_both and bin/stop_both, their output
// into the application log.
type scripts struct {
	dir         string
	out         io.Writer
	nice, force time.Duration
	log         *log.Logger
}

// run runs bin/NAME with args, bounded by the nice stop timeout; past it
// the script's process group is killed.
func (s *scripts) run(ctx context.Context, name string, args ...string) error {
	return s.runFor(ctx, s.nice, name, args...)
}

func (s *scripts) runFor(ctx context.Context, limit time.Duration, name string, args ...string) error {
	if s.dir == "" {
		return nil
	}
	path := filepath.Join(s.dir, "bin", name)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.Command(path, args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "SAFEMODULE="+filepath.Base(s.dir), "SAFEUSERBIN="+filepath.Join(s.dir, "bin"))
	// A file, not a pipe: a daemon the script starts keeps its output
	// and the script's end is its own exit.
	if f, ok := s.out.(*os.File); ok {
		cmd.Stdout, cmd.Stderr = f, f
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.log.Printf("running %s %s", name, strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	waitc := make(chan error, 1)
	go func() { waitc <- cmd.Wait() }()
	select {
	case err := <-waitc:
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		s.log.Printf("%s done", name)
		return nil
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-waitc
		return fmt.Errorf("%s: killed after %s", name, limit)
	}
}

// stop runs stop_both within nicestoptimeout; past it, stop_both force
// within forcestoptimeout.
func (s *scripts) stop(ctx context.Context) error {
	err := s.runFor(ctx, s.nice, "stop_both")
	if err == nil || ctx.Err() != nil {
		return err
	}
	s.log.Printf("%v; force stop", err)
	return s.runFor(ctx, s.force, "stop_both", "force")
}

// The control socket: one request line, one answer, then the connection
// closes. Requests: status, status json, stop, start.

func listenCtl(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("farm: control socket: %w", err)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("farm: control socket %s: another farm member is running", path)
	}
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("farm: control socket: %w", err)
	}
	return l, nil
}

func (m *Member) serveCtl() {
	for {
		c, err := m.ctl.Accept()
		if err != nil {
			return
		}
		m.goWG(func() { m.handleCtl(c) })
	}
}

func (m *Member) handleCtl(c net.Conn) {
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(c, 256)).ReadString('\n')
	if err != nil {
		return
	}
	c.SetReadDeadline(time.Time{})
	var out string
	switch strings.TrimSpace(line) {
	case "status":
		out = m.Status().Text()
	case "status json":
		b, _ := json.Marshal(m.Status())
		out = string(b) + "\n"
	case "stop":
		if err := m.Stop(m.ctx); err != nil {
			out = "error: " + err.Error() + "\n"
		} else {
			out = "stopped\n"
		}
	case "start":
		if err := m.StartAgain(m.ctx); err != nil {
			out = "error: " + err.Error() + "\n"
		} else {
			out = "started (WAIT until the checkers pass)\n"
		}
	default:
		out = fmt.Sprintf("error: unknown request %q (status, status json, stop, start)\n", strings.TrimSpace(line))
	}
	io.WriteString(c, out)
}

// Ctl sends one request to a member's control socket and returns its answer.
func Ctl(path, req string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return "", fmt.Errorf("farm control socket: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, req+"\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return string(b), err
	}
	if s := string(b); strings.HasPrefix(s, "error: ") {
		return "", errors.New(strings.TrimSpace(strings.TrimPrefix(s, "error: ")))
	}
	return string(b), nil
}
