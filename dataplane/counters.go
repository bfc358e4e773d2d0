package dataplane

import (
	"sync/atomic"

	"lbx/dataplane/drop"
)

// Counter is one named counter value, as printed by show commands.
type Counter struct {
	Name  string
	Value uint64
}

// portCounters are one port's counters.
type portCounters struct {
	rxPackets   atomic.Uint64
	txPackets   atomic.Uint64
	arpReplies  atomic.Uint64 // ARP replies sent for self IPs and VIPs
	arpRequests atomic.Uint64 // ARP requests sent to resolve next hops
	icmpEchoes  atomic.Uint64 // ICMP echo replies sent
	gsoWhole    atomic.Uint64 // GSO frames received and forwarded whole (gso.go)
}

// cacheLine is the padding that keeps two writers' counters off one cache
// line.
const cacheLine = 128

// counterShard is one writer's share of the engine's counters: each port
// goroutine's worker counts into its own shard, so no cache line is written
// by two receive goroutines per packet; readers (Drops, Counters) sum the
// shards. The fields are atomics only because readers load them while the
// owner writes; there is one writer per shard (the local-stack workers
// share one shard, see local.go).
//
// Counts from goroutines that are not workers (the sweeper, Install,
// service-down actions) go to the Engine's own drops array and portState.ctr,
// which the readers add in.
type counterShard struct {
	_       [cacheLine]byte
	drops   [drop.NumReasons]atomic.Uint64
	localRx atomic.Uint64 // packets delivered to the local sink
	ports   []portCounters
	_       [cacheLine]byte
}

// newShard allocates a shard and registers it with the engine's readers.
func (e *Engine) newShard() *counterShard {
	// Padding either side of the per-port counters, which are their own
	// allocation.
	pad := (cacheLine + 39) / 40
	c := &counterShard{ports: make([]portCounters, len(e.ports)+2*pad)[pad : pad+len(e.ports)]}
	e.shardMu.Lock()
	e.shards = append(e.shards, c)
	e.shardMu.Unlock()
	return c
}

// dropSum returns the sum of one drop reason's counters.
func (e *Engine) dropSum(r drop.Reason) uint64 {
	v := e.drops[r].Load()
	e.shardMu.Lock()
	for _, c := range e.shards {
		v += c.drops[r].Load()
	}
	e.shardMu.Unlock()
	return v
}

// portSum is one port's counters summed over the shards, as plain numbers.
type portSum struct {
	rxPackets, txPackets, arpReplies, arpRequests, icmpEchoes, gsoWhole uint64
}

func (s *portSum) add(c *portCounters) {
	s.rxPackets += c.rxPackets.Load()
	s.txPackets += c.txPackets.Load()
	s.arpReplies += c.arpReplies.Load()
	s.arpRequests += c.arpRequests.Load()
	s.icmpEchoes += c.icmpEchoes.Load()
	s.gsoWhole += c.gsoWhole.Load()
}

// sums returns every drop reason's sum, every port's counters and the
// local-rx count, summed over the shards.
func (e *Engine) sums() (drops [drop.NumReasons]uint64, ports []portSum, localRx uint64) {
	ports = make([]portSum, len(e.ports))
	for r := range drops {
		drops[r] = e.drops[r].Load()
	}
	for i, p := range e.ports {
		ports[i].add(&p.ctr)
	}
	e.shardMu.Lock()
	defer e.shardMu.Unlock()
	for _, c := range e.shards {
		for r := range drops {
			drops[r] += c.drops[r].Load()
		}
		for i := range ports {
			ports[i].add(&c.ports[i])
		}
		localRx += c.localRx.Load()
	}
	return drops, ports, localRx
}

// logLimit lets one log line through per interval. Port goroutines share
// it without a lock: the first to see the interval over wins the CAS and
// logs, the others stay quiet.
type logLimit struct{ next atomic.Int64 }

// allow reports whether a line may be logged at now (engine monotonic ns),
// and if so holds the next one back for every ns.
func (l *logLimit) allow(now, every int64) bool {
	n := l.next.Load()
	return now >= n && l.next.CompareAndSwap(n, now+every)
}
