package appliance_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"lbx/dataplane/drop"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"lbx/ctrlplane/metrics"
	"lbx/ctrlplane/status"
	"lbx/monitors"
)

// scrape is one GET of /metrics, parsed.
type scrape map[string]*dto.MetricFamily

// scrapeURL fetches url (bounded) and parses Prometheus's text format.
func scrapeURL(t *testing.T, url string) scrape {
	t.Helper()
	s, err := fetchMetrics(url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fetchMetrics(url string) (scrape, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: parse: %w", url, err)
	}
	return fams, nil
}

// find returns the value of the series of name whose labels include
// labels ("k=v" pairs); ok is false when there is none.
func (s scrape) find(name string, labels ...string) (float64, bool) {
	fam := s[name]
	if fam == nil {
		return 0, false
	}
next:
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// value is find that fails the test when the series is missing.
func (s scrape) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, ok := s.find(name, labels...)
	if !ok {
		t.Fatalf("no series %s%v in the scrape", name, labels)
	}
	return v
}

// want checks one series' value.
func (s scrape) want(t *testing.T, want float64, name string, labels ...string) {
	t.Helper()
	if got := s.value(t, name, labels...); got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

const (
	vsHTTP  = "virtual=/Common/vs_http"
	webPool = "pool=/Common/web_pool"
)

var webMembers = []string{"/Common/198.18.2.11:80", "/Common/198.18.2.12:80", "/Common/198.18.2.13:80"}

// Connections through the VIP are counted on the virtual, its pool and
// each member; the flow table's size and capacity are the engine's.
func TestMetricsCountTraffic(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	srv := httptest.NewServer(tb.app.MetricsHandler())
	defer srv.Close()

	s := scrapeURL(t, srv.URL)
	s.want(t, 0, "lbx_virtual_connections_total", vsHTTP)
	s.want(t, 1, "lbx_virtual_availability", vsHTTP, "availability=unknown") // no monitor
	s.want(t, 1, "lbx_virtual_enabled", vsHTTP)
	s.want(t, 1, "lbx_virtual_info", vsHTTP, "destination=198.18.1.100:80", "protocol=tcp", webPool)
	s.want(t, 3, "lbx_pool_members", webPool)
	for _, m := range webMembers {
		s.want(t, 1, "lbx_member_status", webPool, "member="+m, "status=unknown")
		s.want(t, 0, "lbx_member_status", webPool, "member="+m, "status=up")
	}
	s.want(t, float64(tb.app.Engine().FlowCapacity()), "lbx_flow_table_capacity")
	if c := s.value(t, "lbx_flow_table_capacity"); c < 4096 {
		t.Errorf("flow table capacity %v, want at least the 4096 asked for", c)
	}
	// Go runtime and process metrics ride along.
	if _, ok := s.find("go_goroutines"); !ok {
		t.Error("no go_goroutines in the scrape")
	}

	const n = 6
	for range n {
		get(t, tb.client, "http://198.18.1.100/")
	}
	// A UDP flow that stays open while the table is read.
	conn, err := tb.client.DialUDP(netip.MustParseAddrPort("198.18.1.100:7"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1500)); err != nil {
		t.Fatalf("no UDP echo: %v", err)
	}
	// The client's Get returns with the body; the last FINs may still be
	// crossing the appliance.
	waitFor(t, "virtual's current connections back to 0", func() bool {
		s = scrapeURL(t, srv.URL)
		v, _ := s.find("lbx_virtual_connections", vsHTTP)
		return v == 0
	})
	s.want(t, n, "lbx_virtual_connections_total", vsHTTP)
	s.want(t, n, "lbx_pool_connections_total", webPool)
	for _, m := range webMembers {
		s.want(t, n/3, "lbx_member_connections_total", webPool, "member="+m) // round robin
	}
	for _, name := range []string{"lbx_virtual_in_packets_total", "lbx_virtual_out_packets_total", "lbx_virtual_in_bytes_total", "lbx_virtual_out_bytes_total"} {
		if v := s.value(t, name, vsHTTP); v < n {
			t.Errorf("%s = %v after %d HTTP connections", name, v, n)
		}
	}
	// Packets in (client → server) carry fewer bytes than the answers.
	if in, out := s.value(t, "lbx_virtual_in_bytes_total", vsHTTP), s.value(t, "lbx_virtual_out_bytes_total", vsHTTP); in <= 0 || out <= in {
		t.Errorf("virtual bytes in %v, out %v: want both counted, more out (the pages) than in (the requests)", in, out)
	}
	s.want(t, 1, "lbx_virtual_connections_total", "virtual=/Common/vs_udp")
	// A node counts its members in every pool: server1's web and UDP ones.
	s.want(t, 2, "lbx_node_members", "node=/Common/198.18.2.11")
	s.want(t, s.value(t, "lbx_member_connections_total", webPool, "member="+webMembers[0])+
		s.value(t, "lbx_member_connections_total", "pool=/Common/udp_pool", "member=/Common/198.18.2.11:7"),
		"lbx_node_connections_total", "node=/Common/198.18.2.11")
	s.want(t, 1, "lbx_node_state", "node=/Common/198.18.2.11", "state=enabled")
	s.want(t, 1, "lbx_node_availability", "node=/Common/198.18.2.11", "availability=unknown")
	if f := s.value(t, "lbx_flow_table_entries"); f < 1 {
		t.Errorf("lbx_flow_table_entries = %v with a UDP flow open", f)
	}
}

// A member's status moves from up to down when its monitor fails, in the
// member's state set, its monitor's state and last result, and its pool's
// count of members up; probes feed the latency histogram.
func TestMetricsMemberDownAfterMonitorFails(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	srv := httptest.NewServer(tb.app.MetricsHandler())
	defer srv.Close()
	tb.exec(
		`create ltm monitor http web_http defaults-from http interval 1 timeout 3 send "GET / HTTP/1.0\r\n\r\n" recv "server="`,
		"modify ltm pool web_pool monitor web_http",
		// An HTTP virtual, so that the lbx_http_ series are served too.
		"create ltm virtual vs_metrics_l7 destination 198.18.1.109:80 ip-protocol tcp pool web_pool profiles { tcp http } source-address-translation { type automap }",
	)
	const pool, mon = "/Common/web_pool", "/Common/web_http"
	l := tb.lab
	l.stepUntil(time.Second, 10*time.Second, "all members up", func() bool {
		for _, m := range webMembers {
			if memberState(tb, pool, m) != monitors.Up {
				return false
			}
		}
		return true
	})
	server2 := "member=" + webMembers[1]
	monLabels := []string{webPool, server2, "node=", "monitor=" + mon}
	s := scrapeURL(t, srv.URL)
	s.want(t, 1, "lbx_member_status", webPool, server2, "status=up")
	s.want(t, 1, "lbx_member_up", webPool, server2)
	s.want(t, 3, "lbx_pool_members_up", webPool)
	s.want(t, 1, "lbx_pool_availability", webPool, "availability=available")
	s.want(t, 1, "lbx_virtual_availability", vsHTTP, "availability=available")
	s.want(t, 1, "lbx_monitor_state", append(monLabels, "state=up")...)
	s.want(t, 1, "lbx_monitor_up", monLabels...)
	s.want(t, 1, "lbx_monitor_last_result", append(monLabels, "result=success")...)
	st, _ := tb.app.Monitoring().MemberStatus(pool, webMembers[1])
	s.want(t, float64(st.Monitors[0].LastProbe.UnixNano())/1e9, "lbx_monitor_last_probe_timestamp_seconds", monLabels...)
	if d := s.value(t, "lbx_monitor_last_probe_duration_seconds", monLabels...); d < 0 || d > 3 {
		t.Errorf("last probe took %vs, want within the 3s timeout", d)
	}
	probes := s.value(t, "lbx_monitor_probe_duration_seconds", "monitor="+mon, "type=http")
	if probes < 3 {
		t.Errorf("latency histogram counts %v probes; all three members were probed up", probes)
	}

	if err := tb.http["server2"].Close(); err != nil {
		t.Fatal(err)
	}
	l.stepUntil(100*time.Millisecond, 10*time.Second, "server2 down", func() bool {
		return memberState(tb, pool, webMembers[1]) == monitors.Down
	})
	s = scrapeURL(t, srv.URL)
	s.want(t, 1, "lbx_member_status", webPool, server2, "status=down")
	s.want(t, 0, "lbx_member_status", webPool, server2, "status=up")
	s.want(t, 0, "lbx_member_up", webPool, server2)
	s.want(t, 1, "lbx_member_up", webPool, "member="+webMembers[0])
	s.want(t, 2, "lbx_pool_members_up", webPool)
	s.want(t, 1, "lbx_pool_availability", webPool, "availability=available")
	s.want(t, 1, "lbx_monitor_state", append(monLabels, "state=down")...)
	s.want(t, 0, "lbx_monitor_up", monLabels...)
	s.want(t, 1, "lbx_monitor_last_result", append(monLabels, "result=failure")...)
	if later := s.value(t, "lbx_monitor_probe_duration_seconds", "monitor="+mon, "type=http"); later <= probes {
		t.Errorf("latency histogram count %v, was %v before more probes ran", later, probes)
	}

	// The collector follows Prometheus's naming rules.
	c := metrics.NewCollector(metrics.Sources{Config: tb.app.Store(), Status: status.FromDataplane(tb.app.Engine(), tb.app.Monitoring()),
		Dataplane: tb.app.Engine(), Monitors: tb.app.Monitoring()})
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	// README's Metrics section lists exactly the metrics served.
	checkREADMEMetrics(t, s)
}

// checkREADMEMetrics compares README's Metrics table with the lbx_ names
// of a scrape that has every kind of series.
func checkREADMEMetrics(t *testing.T, s scrape) {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sect, ok := strings.Cut(string(b), "\n## Metrics\n")
	if !ok {
		t.Fatal("README has no Metrics section")
	}
	sect, _, _ = strings.Cut(sect, "\n## ")
	documented := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(lbx_[a-z_]+)` \\| (\\w+) \\|").FindAllStringSubmatch(sect, -1) {
		documented[m[1]] = m[2]
	}
	var served []string
	for name, fam := range s {
		if !strings.HasPrefix(name, "lbx_") {
			continue
		}
		served = append(served, name)
		typ, ok := documented[name]
		if !ok {
			t.Errorf("README's Metrics section does not list %s", name)
			continue
		}
		if want := strings.ToLower(fam.GetType().String()); typ != want {
			t.Errorf("README says %s is a %s; it is a %s", name, typ, want)
		}
	}
	for name := range documented {
		if !slices.Contains(served, name) {
			t.Errorf("README lists %s, which is not served", name)
		}
	}
}

// A node's monitor is one series per node, with pool and member empty,
// however many pools use the node.
func TestMetricsNodeMonitor(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	srv := httptest.NewServer(tb.app.MetricsHandler())
	defer srv.Close()
	tb.exec(
		"create ltm monitor tcp node_tcp defaults-from tcp destination *:80 interval 1 timeout 3",
		"modify ltm node /Common/198.18.2.11 monitor node_tcp",
	)
	const node = "/Common/198.18.2.11"
	nodeUp := func() bool {
		st, ok := tb.app.Monitoring().NodeStatus(node)
		return ok && st.State == monitors.Up
	}
	tb.lab.stepUntil(time.Second, 10*time.Second, "node up", nodeUp)
	labels := []string{"pool=", "member=", "node=" + node, "monitor=/Common/node_tcp"}
	s := scrapeURL(t, srv.URL)
	s.want(t, 1, "lbx_monitor_up", labels...)
	s.want(t, 1, "lbx_monitor_state", append(labels, "state=up")...)
	s.want(t, 1, "lbx_monitor_last_result", append(labels, "result=success")...)
	s.want(t, 1, "lbx_node_availability", "node="+node, "availability=available")
	// The members on the node take its verdict; those of udp_pool too.
	s.want(t, 1, "lbx_member_status", "pool=/Common/udp_pool", "member=/Common/198.18.2.11:7", "status=up")
	if n := len(s["lbx_monitor_up"].GetMetric()); n != 1 {
		t.Errorf("%d lbx_monitor_up series, want the node's one", n)
	}
	if err := tb.http["server1"].Close(); err != nil {
		t.Fatal(err)
	}
	tb.lab.stepUntil(100*time.Millisecond, 10*time.Second, "node down", func() bool { return !nodeUp() })
	s = scrapeURL(t, srv.URL)
	s.want(t, 1, "lbx_monitor_state", append(labels, "state=down")...)
	s.want(t, 1, "lbx_node_availability", "node="+node, "availability=offline")
	s.want(t, 1, "lbx_member_status", webPool, "member="+webMembers[0], "status=down")
}

// A malformed frame is counted under its drop reason.
func TestMetricsDropsByReason(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	srv := httptest.NewServer(tb.app.MetricsHandler())
	defer srv.Close()
	s := scrapeURL(t, srv.URL)
	before := s.value(t, "lbx_drops_total", "reason=malformed")
	for _, r := range drop.Reasons() {
		s.value(t, "lbx_drops_total", "reason="+r.String()) // every reason is served, also at 0
	}

	atk := tb.lab.port(tb.clientSwitch, "attacker")
	t.Cleanup(func() { atk.Close() })
	atkIP, vip := netip.MustParseAddr("198.18.1.66"), netip.MustParseAddr("198.18.1.100")
	extMAC := arpFor(t, atk, atkIP, vip)
	eth := &layers.Ethernet{SrcMAC: atk.MAC(), DstMAC: extMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: atkIP.AsSlice(), DstIP: vip.AsSlice()}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, SYN: true, Window: 1024}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
		t.Fatal(err)
	}
	frame := buf.Bytes()
	frame[14] = 0x44 // IHL 4: a header shorter than IPv4's minimum
	if _, err := atk.WriteBatch([][]byte{frame}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the malformed frame counted", func() bool {
		s = scrapeURL(t, srv.URL)
		v, _ := s.find("lbx_drops_total", "reason=malformed")
		return v == before+1
	})
	if got := tb.app.Engine().Drops(drop.Malformed); float64(got) != before+1 {
		t.Errorf("engine counts %d malformed drops, metrics %v", got, before+1)
	}
}

// The config version and last apply time move with each change, which the
// virtual's and the node's states show at once; a refused change moves
// nothing.
func TestMetricsConfigVersion(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	srv := httptest.NewServer(tb.app.MetricsHandler())
	defer srv.Close()
	s := scrapeURL(t, srv.URL)
	v0 := s.value(t, "lbx_config_version")
	if v0 != float64(tb.app.Store().Version()) || v0 < 1 {
		t.Fatalf("lbx_config_version = %v, store says %d (boot is an apply)", v0, tb.app.Store().Version())
	}
	t0 := s.value(t, "lbx_config_last_apply_timestamp_seconds")
	before := time.Now()
	tb.exec("modify ltm virtual vs_http disabled")
	s = scrapeURL(t, srv.URL)
	s.want(t, v0+1, "lbx_config_version")
	t1 := s.value(t, "lbx_config_last_apply_timestamp_seconds")
	if t1 < t0 || t1 < float64(before.UnixNano())/1e9-0.001 || t1 > float64(time.Now().UnixNano())/1e9 {
		t.Errorf("last apply at %v; was %v, change made after %v", t1, t0, float64(before.UnixNano())/1e9)
	}
	s.want(t, 0, "lbx_virtual_enabled", vsHTTP)
	tb.exec("modify ltm node /Common/198.18.2.12 state user-down")
	s = scrapeURL(t, srv.URL)
	s.want(t, v0+2, "lbx_config_version")
	s.want(t, 1, "lbx_node_state", "node=/Common/198.18.2.12", "state=forced-offline")
	s.want(t, 0, "lbx_node_state", "node=/Common/198.18.2.12", "state=enabled")
	// A refused change moves neither.
	if _, err := tb.app.Exec("modify ltm virtual vs_http pool /Common/missing"); err == nil {
		t.Fatal("a virtual on a missing pool was accepted")
	}
	s2 := scrapeURL(t, srv.URL)
	s2.want(t, v0+2, "lbx_config_version")
	s2.want(t, s.value(t, "lbx_config_last_apply_timestamp_seconds"), "lbx_config_last_apply_timestamp_seconds")
}

// Scrapes run while traffic flows, monitors probe and the configuration
// changes: every scrape parses and (under -race) nothing races.
func TestMetricsScrapeUnderLoad(t *testing.T) {
	tb := newTestbed(t, testbedConfig(t))
	srv := httptest.NewServer(tb.app.MetricsHandler())
	defer srv.Close()
	tb.exec(
		`create ltm monitor http web_http defaults-from http interval 1 timeout 3 send "GET / HTTP/1.0\r\n\r\n" recv "server="`,
		"modify ltm pool web_pool monitor web_http",
	)
	tb.lab.stepUntil(time.Second, 10*time.Second, "all members up", func() bool {
		for _, m := range webMembers {
			if memberState(tb, "/Common/web_pool", m) != monitors.Up {
				return false
			}
		}
		return true
	})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errs <- err
			}
		}()
	}
	const rounds = 15
	run(func() error { // traffic
		for range rounds {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := tb.client.Get(ctx, "http://198.18.1.100/")
			cancel()
			if err != nil {
				return fmt.Errorf("traffic: %w", err)
			}
		}
		return nil
	})
	run(func() error { // configuration changes
		for i := range rounds {
			state := []string{"user-disabled", "user-enabled"}[i%2]
			if _, err := tb.app.Exec("modify ltm pool web_pool members modify { 198.18.2.13:80 { session " + state + " } }"); err != nil {
				return err
			}
		}
		return nil
	})
	run(func() error { // monitors: probes run and finish as time moves
		var err error
		for range rounds {
			tb.lab.clock.AdvanceSettled(200*time.Millisecond, func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if e := tb.app.Monitoring().Scheduler().WaitIdle(ctx); e != nil && err == nil {
					err = fmt.Errorf("monitors not idle within 30s: %w", e)
				}
			})
		}
		return err
	})
	for range 2 { // scrapers
		run(func() error {
			for range rounds {
				s, err := fetchMetrics(srv.URL)
				if err != nil {
					return err
				}
				if _, ok := s.find("lbx_config_version"); !ok {
					return fmt.Errorf("a scrape has no lbx_config_version")
				}
			}
			return nil
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
