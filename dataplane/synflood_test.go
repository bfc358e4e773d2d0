package dataplane

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"lbx/dataplane/flowtable"
)

// TestEngineSYNFlood floods a small engine with SYNs from one client and
// checks, with the injected clock, that an established connection keeps
// flowing, new connections from another client are forwarded, nothing is
// refused, the evictions are counted and the pressure is logged once per
// interval.
func TestEngineSYNFlood(t *testing.T) {
	h := newHarness(t, nil)
	e, err := NewEngine(EngineConfig{Ports: []Port{h.ports[0], h.ports[1]}, FlowCapacity: flowtable.Shards * 8, Clock: h.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	var logs syncBuffer
	e.log = newTextLogger(&logs)
	h.e = e
	h.w = []*worker{e.newWorker(0), e.newWorker(1)}
	if err := e.Install(testProgram(t, progOpts{})); err != nil {
		t.Fatal(err)
	}
	h.learnAll()
	h.ports[portInt].drain()

	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	// An established connection: SYN, the member's SYN-ACK, ACK.
	h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
	m := h.ports[portInt].drain()
	if len(m) != 1 {
		t.Fatalf("SYN: %d frames to the members, want 1", len(m))
	}
	mw := decodeWire(t, m[0])
	mi := -1
	for i, a := range members {
		if strings.HasPrefix(mw.Dst, a.String()+":") {
			mi = i
		}
	}
	srv := ipHdr{srcMAC: memberMAC(mi), dstMAC: intMAC, src: members[mi], dst: client}
	h.send(portInt, tcpFrame(srv, 8080, 40000, fSYNACK, ""))
	h.send(portExt, tcpFrame(cl, 40000, 80, fACK, ""))
	h.ports[portExt].drain()
	h.ports[portInt].drain()

	attacker := ipHdr{srcMAC: mustMAC("02:00:00:00:0a:01"), dstMAC: extMAC, src: netip.MustParseAddr("198.18.0.66"), dst: vip}
	syn := tcpFrame(attacker, 1024, 80, fSYN, "")
	const floodN = 20000
	for i := range floodN {
		newClientPort(syn, i)
		h.send(portExt, syn)
		if i%1000 == 999 {
			h.clock.Advance(100 * time.Millisecond)
			h.ports[portInt].drain()
			// The established connection keeps flowing both ways.
			h.send(portExt, tcpFrame(cl, 40000, 80, fACK, "data"))
			h.send(portInt, tcpFrame(srv, 8080, 40000, fACK, "answer"))
			if a, b := len(h.ports[portInt].drain()), len(h.ports[portExt].drain()); a != 1 || b != 1 {
				t.Fatalf("after %d flood SYNs the established connection sent %d and received %d frames, want 1 and 1", i+1, a, b)
			}
			// A new connection from the legitimate client is forwarded.
			h.send(portExt, tcpFrame(cl, uint16(50000+i/1000), 80, fSYN, ""))
			if n := len(h.ports[portInt].drain()); n != 1 {
				t.Fatalf("after %d flood SYNs a new connection's SYN sent %d frames, want 1", i+1, n)
			}
		}
	}
	if d := h.drops(); len(d) != 0 {
		t.Errorf("drops %v, want none: the reaper makes room", d)
	}
	counters := map[string]uint64{}
	for _, c := range e.Counters() {
		counters[c.Name] = c.Value
	}
	if ev := counters["flows.embryonic_evicted"]; ev < floodN-uint64(e.flows.Capacity()) {
		t.Errorf("flows.embryonic_evicted = %d, want at least %d", ev, floodN-e.flows.Capacity())
	}
	if n := counters["flows.embryonic"]; n == 0 || n > uint64(e.flows.EmbryonicLimit()) {
		t.Errorf("flows.embryonic = %d, want 1..%d", n, e.flows.EmbryonicLimit())
	}

	e.Sweep(h.clock.Now())
	if got := strings.Count(logs.String(), "flow table under pressure"); got != 1 {
		t.Fatalf("%d pressure log lines after the flood, want 1:\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "embryonic-evicted=") {
		t.Errorf("pressure line lacks the eviction count:\n%s", logs.String())
	}
	// More flooding within the interval: counted, not logged again.
	for i := range 1000 {
		newClientPort(syn, floodN+i)
		h.send(portExt, syn)
	}
	h.clock.Advance(time.Second)
	e.Sweep(h.clock.Now())
	if got := strings.Count(logs.String(), "flow table under pressure"); got != 1 {
		t.Errorf("%d pressure log lines within the interval, want 1", got)
	}
	h.clock.Advance(time.Duration(pressureInterval))
	e.Sweep(h.clock.Now())
	if got := strings.Count(logs.String(), "flow table under pressure"); got != 2 {
		t.Errorf("%d pressure log lines after the interval, want 2", got)
	}
	// Quiet: no more lines.
	h.clock.Advance(time.Duration(2 * pressureInterval))
	e.Sweep(h.clock.Now())
	if got := strings.Count(logs.String(), "flow table under pressure"); got != 2 {
		t.Errorf("%d pressure log lines when quiet, want 2", got)
	}
}
