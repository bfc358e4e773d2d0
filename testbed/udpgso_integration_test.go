package testbed

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestIntegrationUDPGSOBurst sends bursts of small datagrams from four
// client sockets (four flows) through a UDP virtual server (round robin
// to two members, SNAT automap) and checks that every datagram arrives at
// the members exactly once, unchanged and in order within its flow. On
// TAP ports with USO the appliance reads each burst in batches (the
// drain) and writes a flow's datagrams of one batch as one UDP GSO frame
// that the kernel cuts again: the counters must show both happened, and
// the members' kernels verified every datagram's checksum (a wrong one
// would be dropped, and missing).
func TestIntegrationUDPGSOBurst(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	for _, c := range []string{
		"create ltm pool /Common/gso_udp_pool members add { 198.18.2.11:9 198.18.2.12:9 }",
		"create ltm virtual /Common/vs_gso_udp destination 198.18.1.100:9 ip-protocol udp pool /Common/gso_udp_pool profiles add { /Common/fastL4 } source-address-translation { type automap }",
	} {
		if out, err := app.Exec(c); err != nil || out != "" {
			t.Fatalf("%s: %q, %v (want no output)", c, out, err)
		}
	}
	// A sink on port 9 of each member, with a receive buffer for every
	// datagram of the test.
	var (
		mu   sync.Mutex
		got  = map[string][]string{} // client port → payloads, in arrival order
		sink []*net.UDPConn
	)
	for _, m := range []struct{ host, addr string }{{"server1", "198.18.2.11:9"}, {"server2", "198.18.2.12:9"}} {
		if err := tb.In(m.host, func() error {
			a, _ := net.ResolveUDPAddr("udp4", m.addr)
			c, err := net.ListenUDP("udp4", a)
			if err != nil {
				return err
			}
			c.SetReadBuffer(4 << 20)
			sink = append(sink, c)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, c := range sink {
			c.Close()
		}
	}()
	var wg sync.WaitGroup
	for _, c := range sink {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 2048)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				p := string(buf[:n])
				flow, _, _ := strings.Cut(p, "-")
				mu.Lock()
				got[flow] = append(got[flow], p)
				mu.Unlock()
			}
		}()
	}
	defer wg.Wait()
	defer func() {
		for _, c := range sink {
			c.Close()
		}
	}()

	const flows, bursts, perBurst = 4, 4, 50
	var clients []*net.UDPConn
	if err := tb.In("client", func() error {
		for range flows {
			c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: tb.Topo.VIP.AsSlice(), Port: 9})
			if err != nil {
				return err
			}
			clients = append(clients, c)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	count := func(flow string) int {
		mu.Lock()
		defer mu.Unlock()
		return len(got[flow])
	}
	// Each flow's first datagram opens its flow and may wait for ARP:
	// send until one arrives, then start afresh.
	for i, c := range clients {
		flow := fmt.Sprintf("w%d", i)
		deadline := time.Now().Add(10 * time.Second)
		for count(flow) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("flow %d: no datagram reached a member in 10 s", i)
			}
			c.Write([]byte(flow + "-warm"))
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The bursts: 18-byte datagrams (64-byte frames) from every socket
	// in turn, the flows interleaved as the appliance reads them.
	payload := func(f, seq int) string { return fmt.Sprintf("f%d-%05d-%08x", f, seq, seq*2654435761) }
	for b := range bursts {
		for k := range perBurst {
			seq := b*perBurst + k
			for f, c := range clients {
				if _, err := c.Write([]byte(payload(f, seq))); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Let the burst through before the next (the kernel's queues
		// between the namespaces hold 1000 frames).
		deadline := time.Now().Add(10 * time.Second)
		for f := range flows {
			for count(fmt.Sprintf("f%d", f)) < (b+1)*perBurst && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for f := range flows {
		g := got[fmt.Sprintf("f%d", f)]
		if len(g) != bursts*perBurst {
			t.Errorf("flow %d: %d datagrams arrived, want %d", f, len(g), bursts*perBurst)
		}
		for seq := range min(len(g), bursts*perBurst) {
			if g[seq] != payload(f, seq) {
				t.Fatalf("flow %d: datagram %d is %q, want %q", f, seq, g[seq], payload(f, seq))
			}
		}
	}
	if t.Failed() || testPortDriver() != "tap" {
		return
	}
	out, err := app.Exec("show sys dataplane")
	if err != nil {
		t.Fatal(err)
	}
	counter := func(name string) uint64 {
		m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(name) + `\s+(\d+)$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("show sys dataplane has no %s:\n%s", name, out)
		}
		v, _ := strconv.ParseUint(m[1], 10, 64)
		return v
	}
	if v := counter("port.lbx-ext.rx_drained"); v == 0 {
		t.Errorf("port.lbx-ext.rx_drained is 0: the bursts were read one frame per wake-up")
	}
	ifaces, err := app.Exec("show net interface")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ifaces, "offload+uso") {
		t.Logf("the kernel refused USO (no offload+uso in show net interface): datagrams went one write each\n%s", ifaces)
		return
	}
	if g, d := counter("port.lbx-int.udp_gso_frames_out"), counter("port.lbx-int.udp_gso_datagrams_out"); g == 0 || d < 2*g {
		t.Errorf("port.lbx-int.udp_gso_frames_out %d, udp_gso_datagrams_out %d: no UDP GSO writes towards the members\n%s", g, d, out)
	} else {
		t.Logf("%d UDP GSO writes carried %d of %d datagrams", g, d, flows*bursts*perBurst)
	}
}
