package flowtable

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// closeLoad is a run of short TCP connections (HTTP with Connection:
// close) through a table, on simulated time: each connection is a SYN,
// the member's SYN-ACK, the client's ACK, the client's FIN and the
// member's FIN and the client's last ACK, rtt after the SYN; rate of them
// start per second, from clients addresses each cycling through ports
// source ports (a client kernel's ephemeral range). The sweeper runs every
// simulated second.
type closeLoad struct {
	rate    int // new connections per second
	seconds int
	clients int
	ports   int // per client
	rtt     time.Duration
}

// closeResult is what a closeLoad run saw.
type closeResult struct {
	conns   int // connections opened
	refused int // SYNs the table refused
	broken  int // connections whose later segments found no flow
	held    int // flows in the table at the end
}

func (l closeLoad) run(ft *Table) closeResult {
	var r closeResult
	step := int64(time.Second) / int64(l.rate)
	rtt := int64(l.rtt)
	type conn struct {
		nf    *NewFlow
		start int64
	}
	// Connections in flight, oldest first: each gets its later segments
	// once rtt has passed.
	var inflight []conn
	finish := func(c conn) {
		rev := Key{Src: c.nf.Member, Sport: c.nf.MemberPort, Dst: c.nf.Fwd.Src, Dport: c.nf.Fwd.Sport, Proto: protoTCP}
		t := c.start + rtt
		ok := true
		for _, seg := range []struct {
			k     Key
			flags uint8
		}{{rev, tcpSYN | tcpACK}, {c.nf.Fwd, tcpACK}, {c.nf.Fwd, tcpFIN | tcpACK}, {rev, tcpFIN | tcpACK}, {c.nf.Fwd, tcpACK}} {
			if _, found := ft.Lookup(seg.k, t, flags(seg.flags)); !found {
				ok = false
			}
		}
		if !ok {
			r.broken++
		}
	}
	n := l.rate * l.seconds
	nextSweep := int64(time.Second)
	for i := range n {
		now := int64(i) * step
		for len(inflight) > 0 && inflight[0].start+rtt <= now {
			finish(inflight[0])
			inflight = inflight[1:]
		}
		if now >= nextSweep {
			ft.Sweep(ft.epoch.Add(time.Duration(now)))
			nextSweep += int64(time.Second)
		}
		c := i % l.clients
		port := 32768 + (i/l.clients)%l.ports
		nf := &NewFlow{
			Fwd:    Key{Src: cIP + uint32(c), Dst: vIP, Sport: uint16(port), Dport: 80, Proto: protoTCP},
			Member: mIP + uint32(i%4), MemberPort: 8080, Egress: [2]int{portInt, portExt},
		}
		r.conns++
		if _, why := ft.Insert(nf, now, flags(tcpSYN)); why != OK {
			r.refused++
			continue
		}
		inflight = append(inflight, conn{nf, now})
	}
	for _, c := range inflight {
		finish(c)
	}
	r.held = ft.Len()
	return r
}

// TestSustainedConnectionClose: a table of the old default size (65,536)
// with the default 10 s closing timeout carries short connections at rates
// far above 65,536 / 10 s without refusing or breaking one: closed flows
// are reused by their 5-tuple's next SYN or recycled for other tuples.
func TestSustainedConnectionClose(t *testing.T) {
	tests := []closeLoad{
		// wrk-like: 4 clients, Linux's ephemeral range (28,232 ports).
		{rate: 50_000, seconds: 12, clients: 4, ports: 28232, rtt: time.Millisecond},
		// Many clients: no port comes round in 10 s, so entries must be
		// recycled.
		{rate: 50_000, seconds: 12, clients: 1000, ports: 28232, rtt: time.Millisecond},
	}
	for _, l := range tests {
		t.Run(fmt.Sprintf("%d/s from %d clients", l.rate, l.clients), func(t *testing.T) {
			ft := New(65536, Timeouts{}, testTime)
			r := l.run(ft)
			t.Logf("%+v recycled %d evicted %d", r, ft.Recycled(), ft.Evicted())
			if r.refused != 0 || r.broken != 0 {
				t.Errorf("%d of %d connections refused, %d broken; want none", r.refused, r.conns, r.broken)
			}
			if ft.Evicted() != 0 {
				t.Errorf("%d embryonic flows evicted; want none (closed flows go first)", ft.Evicted())
			}
		})
	}
}

// BenchmarkConnectionClose measures the table's cost of one short TCP
// connection (insert and the five lookups of its life), on as many
// goroutines as GOMAXPROCS, as the engine's receive goroutines call it;
// 1e9 / ns/op is the new-connection rate the table allows on this machine.
func BenchmarkConnectionClose(b *testing.B) {
	ft := New(65536, Timeouts{}, testTime)
	var next atomic.Uint32
	b.RunParallel(func(pb *testing.PB) {
		client := cIP + 1000*next.Add(1)
		now := int64(0)
		i := 0
		for pb.Next() {
			nf := NewFlow{
				Fwd:    Key{Src: client + uint32(i/28232), Dst: vIP, Sport: uint16(32768 + i%28232), Dport: 80, Proto: protoTCP},
				Member: mIP + uint32(i%4), MemberPort: 8080, Egress: [2]int{portInt, portExt},
			}
			rev := Key{Src: nf.Member, Sport: nf.MemberPort, Dst: nf.Fwd.Src, Dport: nf.Fwd.Sport, Proto: protoTCP}
			if _, why := ft.Insert(&nf, now, flags(tcpSYN)); why != OK {
				b.Fatalf("refused: %v", why)
			}
			ft.Lookup(rev, now, flags(tcpSYN|tcpACK))
			ft.Lookup(nf.Fwd, now, flags(tcpACK))
			ft.Lookup(nf.Fwd, now, flags(tcpFIN|tcpACK))
			ft.Lookup(rev, now, flags(tcpFIN|tcpACK))
			ft.Lookup(nf.Fwd, now, flags(tcpACK))
			now += int64(10 * time.Microsecond) // 100k connections/s per goroutine
			i++
		}
	})
}
