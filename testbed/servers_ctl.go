package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// serveArgv is the command line of host h's emulated server.
func serveArgv(binary string, h Host) []string {
	return append([]string{binary, "testbed", "serve"}, h.Serve.Args()...)
}

// waitServer waits until h's emulated server accepts connections.
func waitServer(h Host, limit time.Duration) error {
	addr := h.Serve.ReadyAddr()
	if addr == "" {
		return nil
	}
	if err := waitListening(h.NS, addr, limit); err != nil {
		return fmt.Errorf("testbed: server %s: %w", h.Name, err)
	}
	return nil
}

// StartServer starts host name's emulated server again, with the command
// line it was first started with, after StopServer (or a crash) ended it,
// and waits until it listens. The previous log is kept as NAME.log.1.
func (tb *Testbed) StartServer(name string) error {
	h, ok := tb.Topo.Host(name)
	if !ok || h.Serve == nil {
		return fmt.Errorf("testbed: no emulated server %q", name)
	}
	argv := serveArgv(tb.opts.Binary, h)
	kept := tb.State.Procs[:0]
	for _, p := range tb.State.Procs {
		if p.Name != name {
			kept = append(kept, p)
			continue
		}
		if isOurs(p) {
			return fmt.Errorf("testbed: server %s is already running (pid %d)", name, p.PID)
		}
		argv = p.Argv
		// StopServer has reaped it; a process killed otherwise stays a
		// zombie until this process exits, which is harmless.
		delete(tb.cmds, p.PID)
	}
	tb.State.Procs = kept
	log := filepath.Join(tb.opts.StateDir, name+".log")
	if err := os.Rename(log, log+".1"); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("testbed: %w", err)
	}
	if err := tb.start(name, h.NS, argv); err != nil {
		return err
	}
	if err := waitServer(h, 10*time.Second); err != nil {
		return fmt.Errorf("%w\n%s", err, tb.logTail(name))
	}
	return nil
}

// Capture starts recording host's eth0, inside its namespace, into a pcap
// file in the testbed's state directory; with ports, only TCP and UDP
// packets from or to one of them are kept. It is bounded by
// DefaultCaptureMaxPackets and DefaultCaptureMaxDuration. Call Stop for the
// packets; register Stop with t.Cleanup so a failing test stops it too
// (Down removes the state directory, file included).
func (tb *Testbed) Capture(host string, ports ...uint16) (*Capture, error) {
	h, ok := tb.Topo.Host(host)
	if !ok {
		return nil, fmt.Errorf("testbed: no host %q", host)
	}
	f, err := os.CreateTemp(tb.opts.StateDir, "capture-"+host+"-*.pcap")
	if err != nil {
		return nil, fmt.Errorf("testbed: capture: %w", err)
	}
	f.Close()
	return StartCapture(CaptureOptions{NS: h.NS, Interface: "eth0", Path: f.Name(), Ports: ports})
}
