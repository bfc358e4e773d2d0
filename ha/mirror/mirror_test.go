package mirror

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"lbx/dataplane"
	"lbx/dataplane/porttest"
	"lbx/ha/trust"
)

// devices is a trust domain for the tests: each unit's real identity (an
// ECDSA key and certificate, as config sync makes them), and which of
// them a unit trusts. Config sync's Syncer is the appliance's (its trust
// step is tested in ha/cfgsync and the namespace tests).
type devices struct {
	self    tls.Certificate
	trusted map[string]tls.Certificate
}

func (d *devices) Certificate() tls.Certificate { return d.self }
func (d *devices) Trusted() bool                { return len(d.trusted) > 0 }
func (d *devices) TrustedDevice(cert []byte) (string, bool) {
	for n, c := range d.trusted {
		if bytes.Equal(c.Certificate[0], cert) {
			return n, true
		}
	}
	return "", false
}

var identities = map[string]tls.Certificate{}

// identity is the named device's certificate, one per test binary.
func identity(t testing.TB, name string) tls.Certificate {
	t.Helper()
	if c, ok := identities[name]; ok {
		return c
	}
	c, err := trust.Identity("", name)
	if err != nil {
		t.Fatal(err)
	}
	identities[name] = c
	return c
}

// trustOf is unit self's trust domain holding the others.
func trustOf(t testing.TB, self string, others ...string) *devices {
	d := &devices{self: identity(t, self), trusted: map[string]tls.Certificate{}}
	for _, o := range others {
		d.trusted[o] = identity(t, o)
	}
	return d
}

// dialAs opens a TLS stream to addr presenting device's certificate.
func dialAs(t *testing.T, addr netip.AddrPort, device string) *tls.Conn {
	t.Helper()
	cfg := trust.ClientConfig(identity(t, device), nil)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr.String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readAck reads the receiver's answer to a hello: nil when it accepted
// the stream.
func readAck(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return err
	}
	if b[0] != streamAccepted {
		return errors.New("not the acceptance")
	}
	return nil
}

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
	m, err := New(Config{Unit: "lbx2", Listen: freeAddr(t), Peer: freeAddr(t), Interval: time.Millisecond}, eng, trustOf(t, "lbx2", "lbx1", "lbx3"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	var e encoder
	c := dialAs(t, m.cfg.Listen, "lbx1")
	c.Write(bytes.Clone(e.hello(&Hello{Unit: "lbx1", Ports: []string{"ext", "int"}})))
	if err := readAck(c); err != nil {
		t.Fatalf("lbx1's stream: %v, want it accepted", err)
	}
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
	c2 := dialAs(t, m.cfg.Listen, "lbx3")
	c2.Write(bytes.Clone(e.hello(&Hello{Unit: "lbx3", Ports: []string{"ext"}})))
	b, _ = e.removed(nil)
	c2.Write(b)
	waitFor(t, "a new stream after the bad one", func() bool { return m.Stats().PeerUnit == "lbx3" })
	// A first message that is not a hello ends the stream.
	c3 := dialAs(t, m.cfg.Listen, "lbx1")
	c3.Write(b)
	waitFor(t, "no hello", func() bool { return m.Stats().DecodeErrors == 2 })
}

// The active side: with nobody listening at the peer's address the
// sender retries, says why, and stops with Close.
func TestSenderRetriesAndCloses(t *testing.T) {
	eng := newEngine(t)
	eng.SetStandby(false)
	m, err := New(Config{Unit: "lbx1", Listen: freeAddr(t), Peer: freeAddr(t)}, eng, trustOf(t, "lbx1", "lbx2"), nil)
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
	if _, err := New(Config{Listen: freeAddr(t)}, eng, trustOf(t, "lbx1"), nil); err == nil || !strings.Contains(err.Error(), "mirror_peer") {
		t.Errorf("no peer: %v, want an error naming mirror_peer", err)
	}
	if _, err := New(Config{Listen: freeAddr(t), Peer: freeAddr(t)}, eng, nil, nil); err == nil || !strings.Contains(err.Error(), "ha.configsync") {
		t.Errorf("no trust: %v, want an error naming ha.configsync", err)
	}
}

// Only a trusted device may stream to the unit: a plain TCP stream, a TLS
// stream with a certificate the trust domain does not hold, and a trusted
// device's stream whose hello names another unit are each refused and
// counted, and none of their flows reaches the flow table's install; a
// trusted device's stream then is accepted.
func TestReceiverRefusesUntrusted(t *testing.T) {
	eng := newEngine(t)
	m, err := New(Config{Unit: "lbx2", Listen: freeAddr(t), Peer: freeAddr(t)}, eng, trustOf(t, "lbx2", "lbx1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	var e encoder
	hello := func(unit string) []byte { return bytes.Clone(e.hello(&Hello{Unit: unit, Ports: []string{"ext"}})) }
	flows, _ := e.flows(sampleFlows(), map[string]uint16{})
	flows = bytes.Clone(flows)

	// Plain TCP: what an injector without TLS sends.
	raw, err := net.Dial("tcp", m.cfg.Listen.String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.Write(append(hello("lbx1"), flows...))
	waitFor(t, "the plain stream refused", func() bool { return m.Stats().Unauthenticated == 1 })
	if st := m.Stats(); !strings.Contains(st.LastError, "TLS handshake") {
		t.Errorf("plain TCP: last error %q, want it to name the TLS handshake", st.LastError)
	}

	// A device outside the trust domain, with a valid certificate of its
	// own: the handshake fails on the receiver, and the sender reads why.
	c := dialAs(t, m.cfg.Listen, "intruder")
	c.Write(append(hello("lbx1"), flows...))
	if err := readAck(c); err == nil || !strings.Contains(err.Error(), "bad certificate") {
		t.Errorf("untrusted device: %v, want the stream refused with bad certificate", err)
	}
	waitFor(t, "the untrusted device refused", func() bool { return m.Stats().Unauthenticated == 2 })
	if st := m.Stats(); !strings.Contains(st.LastError, "not a trusted device") {
		t.Errorf("untrusted device: last error %q, want it to say not a trusted device", st.LastError)
	}

	// lbx1's certificate, a hello naming lbx3.
	c = dialAs(t, m.cfg.Listen, "lbx1")
	c.Write(hello("lbx3"))
	if err := readAck(c); err == nil {
		t.Error("a hello naming another unit than the certificate's: accepted")
	}
	waitFor(t, "the impersonation refused", func() bool { return m.Stats().Unauthenticated == 3 })
	if st := m.Stats(); !strings.Contains(st.LastError, `names unit "lbx3"`) || st.FlowsRecv != 0 || st.PeerUnit != "" {
		t.Errorf("impersonation: %+v, want it refused naming lbx3, no flows received", st)
	}

	// lbx1 itself.
	c = dialAs(t, m.cfg.Listen, "lbx1")
	c.Write(hello("lbx1"))
	if err := readAck(c); err != nil {
		t.Fatalf("lbx1: %v, want the stream accepted", err)
	}
	c.Write(flows)
	waitFor(t, "lbx1's flows received", func() bool { return m.Stats().FlowsRecv == 3 })
	if st := m.Stats(); st.Unauthenticated != 3 || st.PeerUnit != "lbx1" {
		t.Errorf("lbx1's stream: %+v", st)
	}

	// A newer stream replaces it: the receiver closes the older one (a
	// peer that vanished without closing must not hold its place).
	newer := dialAs(t, m.cfg.Listen, "lbx1")
	newer.Write(hello("lbx1"))
	if err := readAck(newer); err != nil {
		t.Fatalf("the newer stream: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the older stream after a newer one was accepted: read %v, want it closed", err)
	}
}

// Two units stream to each other only when each trusts the other: the
// active unit's sender says why it does not stream (no trust yet, then a
// peer whose certificate it does not trust, then a peer that refuses it)
// and streams once both trust each other.
func TestSenderNeedsMutualTrust(t *testing.T) {
	recvEng, sendEng := newEngine(t), newEngine(t)
	sendEng.SetStandby(false)
	addr2 := freeAddr(t)
	cases := []struct {
		name          string
		trust1        *devices // the sender's
		trust2        *devices // the receiver's
		senderErr     string
		refusedByRecv bool
	}{
		{"nobody trusted", trustOf(t, "lbx1"), trustOf(t, "lbx2", "lbx1"), "no device in the trust domain", false},
		{"the receiver not trusted by the sender", trustOf(t, "lbx1", "lbx3"), trustOf(t, "lbx2", "lbx1"), "which is no trusted device's", false},
		{"the sender not trusted by the receiver", trustOf(t, "lbx1", "lbx2"), trustOf(t, "lbx2", "lbx3"), "bad certificate", true},
		{"both trusted", trustOf(t, "lbx1", "lbx2"), trustOf(t, "lbx2", "lbx1"), "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := New(Config{Unit: "lbx2", Listen: addr2, Peer: freeAddr(t)}, recvEng, c.trust2, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Start(); err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			s, err := New(Config{Unit: "lbx1", Listen: freeAddr(t), Peer: addr2}, sendEng, c.trust1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if c.senderErr == "" {
				waitFor(t, "streaming", func() bool { return s.Stats().Connected && r.Stats().PeerUnit == "lbx1" })
				if st := r.Stats(); st.Unauthenticated != 0 {
					t.Errorf("receiver: %+v", st)
				}
				return
			}
			waitFor(t, "the sender's error", func() bool { return strings.Contains(s.Stats().LastError, c.senderErr) })
			if c.refusedByRecv {
				waitFor(t, "the receiver's refusal", func() bool { return r.Stats().Unauthenticated > 0 })
			}
			if s.Stats().Connected || s.Stats().Sessions != 0 || r.Stats().PeerUnit != "" {
				t.Errorf("streaming without mutual trust: sender %+v, receiver %+v", s.Stats(), r.Stats())
			}
		})
	}
}

// BenchmarkStreamTLS is what the stream's TLS costs a flow update: the
// sample flows encoded in 256 KB batches (as the sender's buffer flushes
// them), written through a TLS 1.3 connection over loopback TCP with the
// devices' certificates and read and decoded on the other side. Compare
// with the plain row (the same over TCP): the difference is the TLS per
// update, shared by the two units' cores.
func BenchmarkStreamTLS(b *testing.B) {
	for _, tlsOn := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "tls"}[tlsOn]
		b.Run(name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			tr1, tr2 := trustOf(b, "lbx1", "lbx2"), trustOf(b, "lbx2", "lbx1")
			var e encoder
			var batch []byte
			for len(batch) < 256<<10 {
				m, _ := e.flows(sampleFlows(), map[string]uint16{})
				batch = append(batch, m...)
			}
			perBatch := 0
			for p := batch; len(p) > 0; {
				typ, body, _, err := readMessage(bytes.NewReader(p), nil)
				if err != nil || typ != msgFlows {
					b.Fatal(err)
				}
				got, _ := decodeFlows(body, nil)
				perBatch += len(got)
				p = p[5+len(body):]
			}
			done := make(chan int, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					done <- 0
					return
				}
				defer c.Close()
				var r io.Reader = c
				if tlsOn {
					r = tls.Server(c, trust.ServerConfig(tr2.self, nil))
				}
				br := bufio.NewReaderSize(r, 256<<10)
				var buf []byte
				var flows []dataplane.MirrorFlow
				n := 0
				for {
					var body []byte
					var err error
					if _, body, buf, err = readMessage(br, buf); err != nil {
						done <- n
						return
					}
					if flows, err = decodeFlows(body, flows[:0]); err != nil {
						done <- n
						return
					}
					n += len(flows)
				}
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			var w io.WriteCloser = c
			if tlsOn {
				w = tls.Client(c, trust.ClientConfig(tr1.self, nil))
			}
			b.SetBytes(int64(len(batch)))
			b.ResetTimer()
			for range b.N {
				if _, err := w.Write(batch); err != nil {
					b.Fatal(err)
				}
			}
			w.Close()
			n := <-done
			if n != b.N*perBatch {
				b.Fatalf("received %d flow updates, sent %d", n, b.N*perBatch)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/update")
		})
	}
}
