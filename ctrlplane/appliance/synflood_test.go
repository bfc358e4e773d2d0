package appliance_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"lbx/ctrlplane/appliance"
	"lbx/dataplane"
	"lbx/dataplane/porttest"
)

// logSink collects an appliance's log text.
type logSink struct {
	mu sync.Mutex
	b  []byte
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

// arpFor asks for ip's MAC from a raw port (as an attacker's tool would)
// and returns the answer.
func arpFor(t *testing.T, p *porttest.Port, src, ip netip.Addr) net.HardwareAddr {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: p.MAC(), DstMAC: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: p.MAC(), SourceProtAddress: src.AsSlice(),
		DstHwAddress: make(net.HardwareAddr, 6), DstProtAddress: ip.AsSlice()}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{}, eth, arp); err != nil {
		t.Fatal(err)
	}
	got := make(chan net.HardwareAddr, 1)
	go func() {
		bufs, sizes := [][]byte{make([]byte, 2048)}, []int{0}
		for {
			if _, err := p.ReadBatch(bufs, sizes); err != nil {
				return
			}
			pkt := gopacket.NewPacket(bufs[0][:sizes[0]], layers.LayerTypeEthernet, gopacket.Default)
			if a, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP); ok && a.Operation == layers.ARPReply &&
				netip.AddrFrom4([4]byte(a.SourceProtAddress)) == ip {
				got <- net.HardwareAddr(a.SourceHwAddress)
				return
			}
		}
	}()
	if _, err := p.WriteBatch([][]byte{buf.Bytes()}); err != nil {
		t.Fatal(err)
	}
	select {
	case mac := <-got:
		return mac
	case <-time.After(5 * time.Second):
		t.Fatalf("no ARP reply for %s within 5s", ip)
		return nil
	}
}

// counter reads one counter of show sys dataplane.
func counter(t *testing.T, app *appliance.Appliance, name string) uint64 {
	t.Helper()
	out, err := app.Exec("show sys dataplane")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(name) + `\s+(\d+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("show sys dataplane has no %s:\n%s", name, out)
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

// TestSYNFloodFromOneHost floods the virtual server with SYNs from one
// host (raw frames, source ports cycling, never completing a handshake)
// while the client keeps an established connection transferring and opens
// new connections: both keep succeeding, the flood's flows are evicted and
// counted, and the log says the flow table is under pressure.
func TestSYNFloodFromOneHost(t *testing.T) {
	l := newLab(t)
	csw, ssw := porttest.NewSwitch(), porttest.NewSwitch()
	saved := filepath.Join(t.TempDir(), "bigip.conf")
	if err := os.WriteFile(saved, []byte(testbedConfig(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs logSink
	ext := l.port(csw, "lbx-ext")
	app, err := appliance.New(appliance.Config{
		Ports: []dataplane.Port{ext, l.port(ssw, "lbx-int")},
		SelfIPs: []dataplane.SelfIP{
			{Name: "ext", Prefix: netip.MustParsePrefix("198.18.1.2/24"), Port: "lbx-ext"},
			{Name: "int", Prefix: netip.MustParsePrefix("198.18.2.2/24"), Port: "lbx-int"},
		},
		SavedPath: saved, FlowCapacity: 4096, MonitorClock: l.clock,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.Close(); err != nil {
			t.Errorf("appliance close: %v", err)
		}
	})
	client := l.host(csw, "client", "198.18.1.10/24", "198.18.1.2")
	for i := 1; i <= 3; i++ {
		l.server(ssw, fmt.Sprintf("server%d", i), fmt.Sprintf("198.18.2.%d/24", 10+i), "198.18.2.2")
	}
	vipAddr := netip.MustParseAddrPort("198.18.1.100:80")

	// The established connection, with keep-alive requests over it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := client.DialTCP(ctx, vipAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rd := bufio.NewReader(conn)
	request := func() error {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: vip\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(rd, nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	}
	if err := request(); err != nil {
		t.Fatalf("established connection before the flood: %v", err)
	}

	// The attacker: a raw port on the client switch.
	atk := l.port(csw, "attacker")
	t.Cleanup(func() { atk.Close() })
	atkIP := netip.MustParseAddr("198.18.1.66")
	extMAC := arpFor(t, atk, atkIP, vipAddr.Addr())
	eth := &layers.Ethernet{SrcMAC: atk.MAC(), DstMAC: extMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: atkIP.AsSlice(), DstIP: vipAddr.Addr().AsSlice()}
	syns := make([][]byte, 0, 30000)
	for p := 10000; p < 40000; p++ {
		tcp := &layers.TCP{SrcPort: layers.TCPPort(p), DstPort: 80, Seq: uint32(p), SYN: true, Window: 1024}
		tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
			t.Fatal(err)
		}
		syns = append(syns, buf.Bytes())
	}
	stop := make(chan struct{})
	var sent atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i += 16 {
			select {
			case <-stop:
				return
			default:
			}
			i %= len(syns)
			// The flood is paced by the appliance's port queue: the point
			// is a full flow table, not a full port queue, which on a busy
			// 2-core machine would drop the client's frames too and make
			// this test depend on the scheduler.
			if ext.Queued() > 128 {
				time.Sleep(200 * time.Microsecond)
				continue
			}
			n, _ := atk.WriteBatch(syns[i : i+16])
			sent.Add(uint64(n))
			// About 8,000 SYNs a second: the 4,096-entry table fills in
			// half a second and then evicts an embryonic flow per SYN,
			// oldest first, so a client's own embryonic flow lives about
			// half a second: ample for its handshake even under -race on a
			// loaded machine (at 80,000 a second it lived 50 ms, and a new
			// connection could lose every SYN it retried).
			time.Sleep(2 * time.Millisecond)
		}
	}()
	var stopOnce sync.Once
	stopFlood := func() { stopOnce.Do(func() { close(stop); wg.Wait() }) }
	defer stopFlood()

	// Wait (bounded) until the flood has filled the table: flows evicted
	// to make room for it, or refused for want of room.
	pressure := func() uint64 {
		return counter(t, app, "flows.embryonic_evicted") + counter(t, app, "drop.flow-table-full")
	}
	deadline := time.Now().Add(10 * time.Second)
	for pressure() < 2000 {
		if time.Now().After(deadline) {
			t.Fatalf("flood: the flow table saw only %d evictions and refusals after 10s (%d SYNs sent)", pressure(), sent.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// During the flood: the established transfer and new connections.
	for i := range 5 {
		if err := request(); err != nil {
			t.Fatalf("established connection, request %d during the flood: %v", i, err)
		}
		if body := get(t, client, "http://198.18.1.100/"); porttest.ServerName(body) == "" {
			t.Fatalf("new connection %d during the flood: answer %q", i, body)
		}
	}
	evicted := counter(t, app, "flows.embryonic_evicted")
	if evicted < 2000 {
		t.Errorf("flows.embryonic_evicted = %d", evicted)
	}
	if full := counter(t, app, "drop.flow-table-full"); full != 0 {
		t.Errorf("drop.flow-table-full = %d, want 0", full)
	}
	waitFor(t, "pressure log line", func() bool {
		return regexp.MustCompile(`flow table under pressure.*embryonic-evicted=\d+`).MatchString(logs.String())
	})
	// Frames the appliance's port lost before the dataplane read them are
	// counted too.
	stopFlood()
	if got, want := counter(t, app, "port.lbx-ext.rx_lost"), ext.Stats().Drops; got != want {
		t.Errorf("port.lbx-ext.rx_lost = %d, the port dropped %d", got, want)
	}
	t.Logf("%d SYNs sent, %d lost on lbx-ext, %d embryonic flows evicted", sent.Load(), ext.Stats().Drops, evicted)
}
