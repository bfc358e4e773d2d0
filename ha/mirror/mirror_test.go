package mirror

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"lbx/dataplane"
	"lbx/dataplane/porttest"
)

// newEngine is a real engine on an in-memory port named ext, standby, with
// no program: what a standby unit of another configuration would be.
func newEngine(t *testing.T) *dataplane.Engine {
	t.Helper()
	p, _, err := porttest.Pipe(porttest.Config{Name: "ext", MAC: porttest.MustMAC("02:00:5e:00:00:01")}, porttest.Config{Name: "peer", MAC: porttest.MustMAC("02:00:5e:00:00:02")})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := dataplane.NewEngine(dataplane.EngineConfig{Ports: []dataplane.Port{p}, FlowCapacity: 4096})
	if err != nil {
		t.Fatal(err)
	}
	eng.SetStandby(true)
	eng.Start()
	t.Cleanup(func() { eng.Close() })
	return eng
}

func freeAddr(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return netip.MustParseAddrPort(ln.Addr().String())
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The standby side over a real TCP stream on loopback: a hello from a
// peer with a port this unit lacks is logged and kept; flows of a virtual
// this unit does not run are refused and counted, not installed; a
// malformed message ends the stream with a decode error that names it,
// and the unit carries on (a new stream is accepted).
func TestReceiverRefusals(t *testing.T) {
	eng := newEngine(t)
	m, err := New(Config{Unit: "lbx2", Listen: freeAddr(t), Peer: freeAddr(t), Interval: time.Millisecond}, eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	dial := func() net.Conn {
		c, err := net.Dial("tcp", m.cfg.Listen.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	var e encoder
	c := dial()
	c.Write(bytes.Clone(e.hello(&Hello{Unit: "lbx1", Ports: []string{"ext", "int"}})))
	b, _ := e.flows(sampleFlows(), map[string]uint16{})
	c.Write(b)
	waitFor(t, "flows received", func() bool { return m.Stats().FlowsRecv == 3 })
	if st := m.Stats(); st.NoVirtual != 3 || st.Installed != 0 || st.PeerUnit != "lbx1" || eng.Flows() != 0 {
		t.Errorf("flows of virtuals not here: %+v, %d flows in the table", st, eng.Flows())
	}
	c.Write([]byte{0, 0, 0, 2, 99, 0}) // message type 99
	waitFor(t, "decode error", func() bool { return m.Stats().DecodeErrors == 1 })
	if st := m.Stats(); !strings.Contains(st.LastError, "message type 99") {
		t.Errorf("last error %q, want it to name message type 99", st.LastError)
	}
	c2 := dial()
	c2.Write(bytes.Clone(e.hello(&Hello{Unit: "lbx3", Ports: []string{"ext"}})))
	b, _ = e.removed(nil)
	c2.Write(b)
	waitFor(t, "a new stream after the bad one", func() bool { return m.Stats().PeerUnit == "lbx3" })
	// A first message that is not a hello ends the stream.
	c3 := dial()
	c3.Write(b)
	waitFor(t, "no hello", func() bool { return m.Stats().DecodeErrors == 2 })
}

// The active side: with nobody listening at the peer's address the
// sender retries, says why, and stops with Close.
func TestSenderRetriesAndCloses(t *testing.T) {
	eng := newEngine(t)
	eng.SetStandby(false)
	m, err := New(Config{Unit: "lbx1", Listen: freeAddr(t), Peer: freeAddr(t)}, eng, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a dial error", func() bool { return strings.Contains(m.Stats().LastError, "connection refused") })
	done := make(chan struct{})
	go func() { m.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return within 5 s")
	}
	if _, err := New(Config{Listen: freeAddr(t)}, eng, nil); err == nil || !strings.Contains(err.Error(), "mirror_peer") {
		t.Errorf("no peer: %v, want an error naming mirror_peer", err)
	}
}
