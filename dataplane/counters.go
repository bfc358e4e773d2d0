package dataplane

import "sync/atomic"

// DropReason names why the dataplane discarded a frame. Every reason has its
// own counter, printed by show commands as "drop.<reason>".
type DropReason uint8

// Drop reasons. The zero value means "not dropped".
const (
	dropNone                 DropReason = iota
	DropMalformed                       // truncated or inconsistent headers
	DropOversize                        // frame larger than the buffers the dataplane owns
	DropBadChecksum                     // IPv4 header or ICMP checksum wrong
	DropUnsupportedEthertype            // neither ARP nor IPv4
	DropUnsupportedProtocol             // IP protocol the appliance does not serve on a local address
	DropFragment                        // IPv4 fragment other than UDP through a virtual server (ICMP, TCP)
	DropNotForUs                        // not addressed to a self IP or VIP (the appliance is not a router)
	DropNoProgram                       // no configuration installed yet
	DropNoListener                      // local address, but no virtual server on that port/protocol
	DropVirtualDisabled                 // matching virtual server is disabled
	DropNoFlow                          // TCP segment other than a SYN without a flow
	DropNoMember                        // pool offered no member
	DropNoRoute                         // next hop not on a connected network
	DropTTLExceeded                     // TTL would reach zero on forwarding
	DropFlowTableFull                   // no free flow entry
	DropSNATPortsExhausted              // no free SNAT port (automap, or any SNAT pool address) for the client port's residue
	DropFlowCollision                   // the reply 5-tuple is already used by another flow
	DropNeighborTimeout                 // parked waiting for ARP too long, or pushed out of a full queue
	DropTxError                         // the egress port refused the frame
	DropLandAttack                      // source = destination = a local address (land attack)
	DropLocalSource                     // source is one of the appliance's own self IPs or VIPs (spoofed)
	DropBadTCPFlags                     // invalid TCP flag combination: SYN+FIN, SYN+RST, no flags, FIN without ACK
	DropBadL4Checksum                   // TCP or UDP checksum wrong on a packet that would open a flow
	DropSourceRoute                     // IPv4 loose or strict source-route option (LSRR, SSRR)
	DropRecordRoute                     // IPv4 record-route option
	DropAddressConflict                 // ARP from another host claiming a self IP or VIP
	DropARPRateLimited                  // ARP request refused: its sender asked too often
	DropICMPErrorNoFlow                 // ICMP error quoting no flow the appliance translated
	DropFragmentNoFirst                 // later UDP fragment whose datagram's first fragment was not seen
	DropFragmentOverlap                 // UDP fragment overlapping one already forwarded (or its datagram had one)
	DropFragmentMalformed               // UDP fragment with an impossible length or offset
	DropFragmentIncomplete              // UDP datagram whose fragments stopped before it was complete (counted per datagram)
	DropFragmentTableFull               // no free entry to track a fragmented UDP datagram
	DropStandby                         // ARP or traffic for an address of traffic-group-1 while it is standby here (HA)
	numDropReasons
)

var dropNames = [numDropReasons]string{
	dropNone:                 "none",
	DropMalformed:            "malformed",
	DropOversize:             "oversize",
	DropBadChecksum:          "bad-checksum",
	DropUnsupportedEthertype: "unsupported-ethertype",
	DropUnsupportedProtocol:  "unsupported-protocol",
	DropFragment:             "fragment",
	DropNotForUs:             "not-for-us",
	DropNoProgram:            "no-program",
	DropNoListener:           "no-listener",
	DropVirtualDisabled:      "virtual-disabled",
	DropNoFlow:               "no-flow",
	DropNoMember:             "no-member",
	DropNoRoute:              "no-route",
	DropTTLExceeded:          "ttl-exceeded",
	DropFlowTableFull:        "flow-table-full",
	DropSNATPortsExhausted:   "snat-ports-exhausted",
	DropFlowCollision:        "flow-collision",
	DropNeighborTimeout:      "neighbor-timeout",
	DropTxError:              "tx-error",
	DropLandAttack:           "land-attack",
	DropLocalSource:          "local-source",
	DropBadTCPFlags:          "bad-tcp-flags",
	DropBadL4Checksum:        "bad-l4-checksum",
	DropSourceRoute:          "source-route",
	DropRecordRoute:          "record-route",
	DropAddressConflict:      "address-conflict",
	DropARPRateLimited:       "arp-rate-limited",
	DropICMPErrorNoFlow:      "icmp-error-no-flow",
	DropFragmentNoFirst:      "fragment-no-first",
	DropFragmentOverlap:      "fragment-overlap",
	DropFragmentMalformed:    "fragment-malformed",
	DropFragmentIncomplete:   "fragment-incomplete",
	DropFragmentTableFull:    "fragment-table-full",
	DropStandby:              "standby",
}

// String returns the reason's counter name, e.g. "no-route".
func (r DropReason) String() string {
	if r < numDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// DropReasons lists every reason, in counter order.
func DropReasons() []DropReason {
	rs := make([]DropReason, 0, numDropReasons-1)
	for r := DropReason(1); r < numDropReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

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
	drops   [numDropReasons]atomic.Uint64
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
func (e *Engine) dropSum(r DropReason) uint64 {
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
	rxPackets, txPackets, arpReplies, arpRequests, icmpEchoes uint64
}

func (s *portSum) add(c *portCounters) {
	s.rxPackets += c.rxPackets.Load()
	s.txPackets += c.txPackets.Load()
	s.arpReplies += c.arpReplies.Load()
	s.arpRequests += c.arpRequests.Load()
	s.icmpEchoes += c.icmpEchoes.Load()
}

// sums returns every drop reason's sum, every port's counters and the
// local-rx count, summed over the shards.
func (e *Engine) sums() (drops [numDropReasons]uint64, ports []portSum, localRx uint64) {
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
