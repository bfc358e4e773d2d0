package flowtable

import (
	"net/netip"
	"slices"
	"time"
)

// The connection table as an operator sees it (tmsh `show sys connection`,
// `delete sys connection`): each flow's client side (client → virtual) and
// server side (lbx or its SNAT address → member), protocol and idle time,
// selected by address and port. Listing allocates and takes each shard's
// lock in turn, as the sweeper does; it is for the control plane, never
// the packet path.

// addr4 converts an address in host order to netip form.
func addr4(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

// Connection is one flow.
type Connection struct {
	CSClient netip.AddrPort // the client
	CSServer netip.AddrPort // the virtual server it connected to
	SSClient netip.AddrPort // the source towards the member: the client, or the SNAT address
	SSServer netip.AddrPort // the member
	Protocol uint8          // ProtoTCP, ProtoUDP
	Virtual  string         // the virtual server's name
	Idle     time.Duration  // since the last packet
}

// ConnFilter selects connections; a zero field matches any.
type ConnFilter struct {
	CSClientAddr, CSServerAddr, SSClientAddr, SSServerAddr netip.Addr
	CSClientPort, CSServerPort, SSClientPort, SSServerPort uint16
}

// Match reports whether c is selected.
func (f ConnFilter) Match(c Connection) bool {
	addr := func(want netip.Addr, got netip.AddrPort) bool { return !want.IsValid() || got.Addr() == want }
	port := func(want uint16, got netip.AddrPort) bool { return want == 0 || got.Port() == want }
	return addr(f.CSClientAddr, c.CSClient) && addr(f.CSServerAddr, c.CSServer) &&
		addr(f.SSClientAddr, c.SSClient) && addr(f.SSServerAddr, c.SSServer) &&
		port(f.CSClientPort, c.CSClient) && port(f.CSServerPort, c.CSServer) &&
		port(f.SSClientPort, c.SSClient) && port(f.SSServerPort, c.SSServer)
}

// connection is flow f as a Connection at table time now.
func (ft *Table) connection(f *flow, now int64) Connection {
	fw, rv := f.keys[Forward], f.keys[Reverse]
	if f.oneWay {
		rv.Src = f.hop // DSR: the member, reached at the VIP's address and port by MAC
	}
	return Connection{
		CSClient: netip.AddrPortFrom(addr4(fw.Src), fw.Sport),
		CSServer: netip.AddrPortFrom(addr4(fw.Dst), fw.Dport),
		SSClient: netip.AddrPortFrom(addr4(rv.Dst), rv.Dport),
		SSServer: netip.AddrPortFrom(addr4(rv.Src), rv.Sport),
		Protocol: fw.Proto,
		Virtual:  f.virtual(),
		Idle:     time.Duration(max(now-f.lastSeen, 0)),
	}
}

// Connections returns the live flows sel selects, at time now (flows past
// their timeout and not yet swept are left out), sorted by client.
func (ft *Table) Connections(sel ConnFilter, now time.Time) []Connection {
	m := ft.Mono(now)
	var out []Connection
	for i := range ft.shards {
		s := &ft.shards[i]
		s.mu.Lock()
		for e := range s.entries {
			if f := &s.entries[e]; f.used && !ft.expired(f, m) {
				if c := ft.connection(f, m); sel.Match(c) {
					out = append(out, c)
				}
			}
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Connection) int {
		if c := a.CSClient.Compare(b.CSClient); c != 0 {
			return c
		}
		return a.CSServer.Compare(b.CSServer)
	})
	return out
}

// DeleteConnections removes the flows sel selects and returns how many; a
// removed flow's next packet is handled as a new one.
func (ft *Table) DeleteConnections(sel ConnFilter) int {
	removed := 0
	for i := range ft.shards {
		s := &ft.shards[i]
		s.mu.Lock()
		for e := range s.entries {
			if f := &s.entries[e]; f.used && sel.Match(ft.connection(f, f.lastSeen)) {
				ft.removeLocked(s, int32(e))
				removed++
			}
		}
		s.mu.Unlock()
	}
	return removed
}
