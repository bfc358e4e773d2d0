package appliance_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"lbx/dataplane"
	"lbx/dataplane/porttest"
)

// arpRequest is a broadcast ARP request from mac/ip asking for target.
func arpRequest(mac net.HardwareAddr, ip, target netip.Addr) []byte {
	f := make([]byte, 42)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], mac)
	binary.BigEndian.PutUint16(f[12:], 0x0806)
	a := f[14:]
	binary.BigEndian.PutUint16(a[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(a[2:], 0x0800) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 1) // request
	copy(a[8:14], mac)
	s, t := ip.As4(), target.As4()
	copy(a[14:18], s[:])
	copy(a[24:28], t[:])
	return f
}

// arpReply is who answered an ARP request: the sender's MAC and address.
type arpReply struct {
	mac  string
	addr netip.Addr
}

// A virtual server on a server's address is refused, so the appliance
// never answers ARP for the server on the server network: asked who has
// server1's address, only server1 answers.
func TestRefusedVIPNeverReachesARP(t *testing.T) {
	l := newLab(t)
	csw, ssw := porttest.NewSwitch(), porttest.NewSwitch()
	app := l.appliance([]dataplane.Port{l.port(csw, "lbx-ext"), l.port(ssw, "lbx-int")}, testbedConfig(t),
		"ext 198.18.1.2/24 lbx-ext", "int 198.18.2.2/24 lbx-int")
	l.host(ssw, "server1", "198.18.2.11/24", "198.18.2.2")
	probe := l.port(ssw, "probe")
	t.Cleanup(func() { probe.Close() })

	_, err := app.Exec("create ltm virtual vs_hijack destination 198.18.2.11:8080 ip-protocol tcp pool web_pool")
	if err == nil || !strings.Contains(err.Error(), "address is the address of node /Common/198.18.2.11 (a server)") {
		t.Errorf("create ltm virtual on server1's address: err = %v, want it refused", err)
	}
	for _, v := range app.Engine().Program().Virtuals {
		if v.Addr == netip.MustParseAddr("198.18.2.11") {
			t.Errorf("virtual %s on server1's address reached the dataplane", v.Name)
		}
	}

	replies := make(chan arpReply, 16)
	go func() {
		bufs, sizes := [][]byte{make([]byte, 2048)}, []int{0}
		for {
			if _, err := probe.ReadBatch(bufs, sizes); err != nil {
				return
			}
			f := bufs[0][:sizes[0]]
			if len(f) < 42 || binary.BigEndian.Uint16(f[12:]) != 0x0806 || binary.BigEndian.Uint16(f[20:]) != 2 {
				continue
			}
			replies <- arpReply{mac: net.HardwareAddr(bytes.Clone(f[22:28])).String(), addr: netip.AddrFrom4([4]byte(f[28:32]))}
		}
	}()
	me, server1, self := netip.MustParseAddr("198.18.2.99"), netip.MustParseAddr("198.18.2.11"), netip.MustParseAddr("198.18.2.2")
	// The appliance answers on its port in order: once it has answered for
	// its self IP, it has answered (or not) for server1's address before.
	if _, err := probe.WriteBatch([][]byte{arpRequest(probe.MAC(), me, server1), arpRequest(probe.MAC(), me, self)}); err != nil {
		t.Fatal(err)
	}
	var got []arpReply
	applianceMAC := ""
	timeout := time.After(10 * time.Second)
	for applianceMAC == "" || !hasAddr(got, server1) {
		select {
		case r := <-replies:
			got = append(got, r)
			if r.addr == self {
				applianceMAC = r.mac
			}
		case <-timeout:
			t.Fatalf("ARP replies within 10s: %v; want one for the self IP and one from server1", got)
		}
	}
	for _, r := range got {
		if r.addr == server1 && r.mac == applianceMAC {
			t.Errorf("the appliance (%s) answered ARP for server1's address: replies %v", applianceMAC, got)
		}
	}
}

func (r arpReply) String() string { return r.addr.String() + " is-at " + r.mac }

func hasAddr(rs []arpReply, a netip.Addr) bool {
	for _, r := range rs {
		if r.addr == a {
			return true
		}
	}
	return false
}
