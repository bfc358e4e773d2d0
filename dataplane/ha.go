package dataplane

import (
	"fmt"
	"net/netip"

	"lbx/dataplane/program"

	"lbx/dataplane/drop"
)

// HA: floating self IPs and (SetFloatingVIPs) VIPs are traffic-group-1's.
// While it is standby here (SetStandby) they are neither answered nor
// accepted (drop.standby); the flags are loaded once per batch.

// VRRP is IPv4 protocol 112, sent to 224.0.0.18 (this MAC) or unicast.
const protoVRRP = 112

var vrrpGroupMAC = [6]byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}

// VRRPSink receives the VRRP frames a port hears: sent to 224.0.0.18 or
// to one of the appliance's addresses with IP protocol 112. It runs on the
// port's receive goroutine and must not keep frame.
type VRRPSink func(port string, frame []byte)

// SetVRRPSink attaches the VRRP engine; nil detaches it (VRRP frames are
// then not-for-us, as without HA).
func (e *Engine) SetVRRPSink(f VRRPSink) {
	if f == nil {
		e.vrrp.Store(nil)
	} else {
		e.vrrp.Store(&f)
	}
}

// SetStandby sets whether traffic-group-1 is standby on this unit, from
// each port's next batch.
func (e *Engine) SetStandby(standby bool) { e.standby.Store(standby) }

// Standby reports whether traffic-group-1 is standby on this unit.
func (e *Engine) Standby() bool { return e.standby.Load() }

// SetVirtualMAC gives traffic-group-1's addresses a MAC of their own (the
// VRRP virtual router MAC): while active, the ports accept frames to it
// and answer ARP for those addresses with it. Set before Start.
func (e *Engine) SetVirtualMAC(mac [6]byte) { e.vmac = mac }

// SetFloatingVIPs puts the virtual addresses in traffic-group-1 (HA on).
func (e *Engine) SetFloatingVIPs(on bool) { e.floatVIPs.Store(on) }

// arpMAC is the MAC to answer ARP for target with.
func (w *worker) arpMAC(in *installed, target uint32) [6]byte {
	if w.e.vmac != ([6]byte{}) && w.floating(in, target) {
		return w.e.vmac
	}
	return w.rx.mac
}

// floating reports whether a belongs to traffic-group-1 in this batch.
func (w *worker) floating(in *installed, a uint32) bool {
	for i := range in.selfs {
		if s := &in.selfs[i]; s.addr == a {
			return s.floating
		}
	}
	return w.floatVIPs && in.prog.IsVIP(addr4(a))
}

// toVRRP hands a VRRP frame to the sink, if one is attached.
func (w *worker) toVRRP(frame []byte) bool {
	b := w.e.vrrp.Load()
	if b == nil {
		return false
	}
	(*b)(w.rx.name, frame)
	w.e.vrrpRx.Add(1) // shared, but VRRP is a few frames a second
	return true
}

// isVRRP reports whether an IPv4 frame carries VRRP (before the parse).
func isVRRP(frame []byte) bool {
	return len(frame) >= ethHdrLen+ipv4MinHdr && frame[ethHdrLen+9] == protoVRRP
}

// FloatingAddr is an address of traffic-group-1 and its port.
type FloatingAddr struct {
	Port string
	Addr netip.Addr
}

// FloatingAddrs are the addresses of traffic-group-1 in the installed
// program: the floating self IPs on their port and, with SetFloatingVIPs,
// each virtual address on the port of its connected network (every port
// when none holds it, as ARP answers it on every port).
func (e *Engine) FloatingAddrs() []FloatingAddr {
	in := e.cur.Load()
	if in == nil {
		return nil
	}
	var out []FloatingAddr
	for _, s := range in.selfs {
		if s.floating {
			out = append(out, FloatingAddr{e.ports[s.port].name, addr4(s.addr)})
		}
	}
	if e.floatVIPs.Load() {
		for _, a := range in.prog.VIPs() {
			if i := in.connected(program.U32(a)); i >= 0 {
				out = append(out, FloatingAddr{e.ports[in.selfs[i].port].name, a})
				continue
			}
			for _, p := range e.ports {
				out = append(out, FloatingAddr{p.name, a})
			}
		}
	}
	return out
}

// SendFrames writes whole Ethernet frames the appliance originates (VRRP
// advertisements, gratuitous ARP) to a port. The frames are not kept.
func (e *Engine) SendFrames(port string, frames [][]byte) error {
	i, ok := e.portIdx[port]
	if !ok {
		return fmt.Errorf("dataplane: send: no such port %q", port)
	}
	p := e.ports[i]
	n, err := p.port.WriteBatch(frames)
	n = max(0, min(n, len(frames)))
	p.ctr.txPackets.Add(uint64(n))
	if lost := len(frames) - n; lost > 0 {
		e.drops[drop.TxError].Add(uint64(lost))
		return fmt.Errorf("dataplane: send on %s: %d of %d frames lost: %v", port, lost, len(frames), err)
	}
	return nil
}
