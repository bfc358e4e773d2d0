package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSpliceReport(t *testing.T) {
	gen := beginMark + "\n\nNEW\n" + endMark + "\n"
	tests := []struct {
		name    string
		old     string
		want    string
		wantErr bool
	}{
		{name: "new file", old: "", want: fileHeader + gen},
		{name: "replaces only the section", old: "# B\nintro\n" + beginMark + "\nOLD\n" + endMark + "\nafter\n", want: "# B\nintro\n" + gen + "after\n"},
		{name: "stable when run twice", old: fileHeader + gen, want: fileHeader + gen},
		{name: "no markers: appended", old: "# B\nhand\n\n\n", want: "# B\nhand\n\n" + gen},
		{name: "end before begin", old: endMark + "\n" + beginMark + "\n", wantErr: true},
		{name: "begin without end", old: beginMark + "\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := spliceReport(tc.old, "NEW")
			if (err != nil) != tc.wantErr {
				t.Fatalf("spliceReport() error = %v, wantErr %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("spliceReport() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	ok := config{Rounds: 5, Duration: 5 * time.Second, Threads: 2, Conns: 32, Timeout: 2 * time.Second, Warmup: time.Second, Window: 10 * time.Second, Scale: scaleFull}
	if err := ok.validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	q := ok
	q.quick()
	if err := q.validate(); err != nil {
		t.Fatalf("quick config: %v", err)
	}
	if q.Rounds >= ok.Rounds || q.Duration >= ok.Duration || !q.Quick {
		t.Errorf("quick() = %+v: want fewer, shorter rounds than %+v", q, ok)
	}
	tests := []struct {
		name   string
		modify func(*config)
	}{
		{"no rounds", func(c *config) { c.Rounds = 0 }},
		{"too many rounds", func(c *config) { c.Rounds = 51 }},
		{"fractional duration", func(c *config) { c.Duration = 1500 * time.Millisecond }},
		{"too long", func(c *config) { c.Duration = 2 * time.Minute }},
		{"fewer connections than threads", func(c *config) { c.Conns = 1 }},
		{"fractional warm-up", func(c *config) { c.Warmup = 500 * time.Millisecond }},
		{"short timeout", func(c *config) { c.Timeout = 0 }},
		{"no window", func(c *config) { c.Window = 0 }},
		{"negative virtuals", func(c *config) { c.Scale.Virtuals = -1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.modify(&c)
			if err := c.validate(); err == nil {
				t.Errorf("validate() accepted %+v", c)
			}
		})
	}
}

func targetNamed(t *testing.T, name string) target {
	t.Helper()
	for _, x := range targets {
		if x.Name == name {
			return x
		}
	}
	t.Fatalf("no target %s", name)
	return target{}
}

func workloadNamed(t *testing.T, name string) workload {
	t.Helper()
	for _, w := range workloads {
		if w.Name == name {
			return w
		}
	}
	t.Fatalf("no workload %s", name)
	return workload{}
}

func TestCommandLines(t *testing.T) {
	c := config{Threads: 2, Conns: 32, Timeout: 2 * time.Second}
	tests := []struct {
		got, want string
	}{
		{shellJoin(c.wrkArgs(5*time.Second, workloads[1], targetNamed(t, "nft"))),
			"wrk -t2 -c32 -d5s --latency --timeout 2s -H 'Connection: close' http://198.18.1.200/"},
		{shellJoin(c.wrkArgs(5*time.Second, workloads[0], targetNamed(t, "route"))),
			"wrk -t2 -c32 -d5s --latency --timeout 2s http://198.18.2.11/"},
		{shellJoin(iperfArgs(5*time.Second, targetNamed(t, "lbx-xdp"))), "iperf3 -c 198.18.1.202 -p 5201 -t 5 -J"},
		{shellJoin(c.wrkArgs(5*time.Second, workloadNamed(t, "l7-keep-alive"), targetNamed(t, "lbx-tap"))),
			"wrk -t2 -c32 -d5s --latency --timeout 2s http://198.18.1.110/"},
		{shellJoin(c.wrkArgs(5*time.Second, workloadNamed(t, "l7-tls"), targetNamed(t, "haproxy-http"))),
			"wrk -t2 -c32 -d5s --latency --timeout 2s -H 'Connection: close' https://198.18.1.204:8443/"},
		{shellJoin(udpArgs(2*time.Second, targetNamed(t, "lbx-tap"), 0)), "udp-send -to 198.18.1.100:9 -for 2s"},
		{shellJoin(udpArgs(0, targetNamed(t, "lbx-tap"), 20000)), "udp-send -to 198.18.1.100:9 -for 0s -pps 20000"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("command\n got %s\nwant %s", tc.got, tc.want)
		}
	}
}

func TestTargets(t *testing.T) {
	// Every contender named in the issue, each address distinct, and the
	// peers' addresses clear of the testbed's (checked by AddPeer at run
	// time; here: distinct among themselves).
	seen := map[netip.Addr]string{}
	for _, tr := range targets {
		if other, ok := seen[tr.Addr]; ok {
			t.Errorf("%s and %s share %s", tr.Name, other, tr.Addr)
		}
		seen[tr.Addr] = tr.Name
	}
	for _, name := range []string{"lbx-tap", "lbx-xdp", "nft", "haproxy-tcp", "haproxy-http", "route"} {
		targetNamed(t, name)
	}
	for _, g := range goals {
		targetNamed(t, g.Peer)
	}
	hh := targetNamed(t, "haproxy-http")
	if hh.serves(workloads[2]) || hh.serves(workloads[3]) || !hh.serves(workloads[0]) {
		t.Errorf("haproxy-http serves: want HTTP only")
	}
	// The L7 workloads: the HTTP proxies only, each on its L7 address, one
	// not shared with any contender's layer-4 address.
	for _, w := range workloads {
		if !w.L7 {
			continue
		}
		for _, tr := range targets {
			want := tr.LBX || tr.Name == "haproxy-http"
			if tr.serves(w) != want {
				t.Errorf("%s serves %s: %v, want %v", tr.Name, w.Name, tr.serves(w), want)
			}
			if other, ok := seen[tr.L7]; ok && tr.L7 != tr.Addr {
				t.Errorf("%s's L7 address %s is %s's", tr.Name, tr.L7, other)
			}
			if _, ok := tr.Skip[w.Name]; !ok && !want {
				t.Errorf("%s skips %s without saying why", tr.Name, w.Name)
			}
		}
	}
	// Rotation: each round starts one later, and every round has all.
	for r := 1; r <= len(targets)+1; r++ {
		o := roundOrder(r)
		if o[0].Name != targets[(r-1)%len(targets)].Name || len(o) != len(targets) {
			t.Errorf("round %d order starts with %s", r, o[0].Name)
		}
	}
}

func TestPeerConfigs(t *testing.T) {
	servers := []netip.Addr{netip.MustParseAddr("198.18.2.11"), netip.MustParseAddr("198.18.2.12"), netip.MustParseAddr("198.18.2.13")}
	nft := nftRuleset(netip.MustParseAddr("198.18.1.200"), servers, servers[0], netip.MustParseAddr("198.18.2.200"), "eth1")
	for _, want := range []string{
		"ip daddr 198.18.1.200 tcp dport 80 dnat to numgen inc mod 3 map { 0 : 198.18.2.11, 1 : 198.18.2.12, 2 : 198.18.2.13 }",
		"ip daddr 198.18.1.200 udp dport 9 dnat to numgen inc mod 3 map { 0 : 198.18.2.11, 1 : 198.18.2.12, 2 : 198.18.2.13 }",
		"ip daddr 198.18.1.200 tcp dport 5201 dnat to 198.18.2.11\n",
		`oifname "eth1" ct status dnat snat to 198.18.2.200`,
	} {
		if !strings.Contains(nft, want) {
			t.Errorf("nft ruleset lacks %q:\n%s", want, nft)
		}
	}
	tcp := haproxyConfig("tcp", netip.MustParseAddr("198.18.1.201"), servers, servers[0], netip.MustParseAddr("198.18.2.201"), "")
	for _, want := range []string{"mode tcp", "bind 198.18.1.201:80", "balance roundrobin", "source 198.18.2.201",
		"server s1 198.18.2.11:80", "server s3 198.18.2.13:80", "bind 198.18.1.201:5201", "server b1 198.18.2.11:5201"} {
		if !strings.Contains(tcp, want) {
			t.Errorf("haproxy tcp config lacks %q:\n%s", want, tcp)
		}
	}
	if strings.Contains(tcp, "ssl") {
		t.Errorf("haproxy tcp config terminates TLS:\n%s", tcp)
	}
	http := haproxyConfig("http", netip.MustParseAddr("198.18.1.204"), servers, servers[0], netip.MustParseAddr("198.18.2.204"), "/tmp/b.pem")
	if !strings.Contains(http, "mode http") || strings.Contains(http, "5201") {
		t.Errorf("haproxy http config: want mode http and no bulk frontend:\n%s", http)
	}
	if want := "bind 198.18.1.204:8443 ssl crt /tmp/b.pem ssl-min-ver TLSv1.3 ciphersuites TLS_AES_128_GCM_SHA256 curves X25519\n\tdefault_backend servers\n"; !strings.Contains(http, want) {
		t.Errorf("haproxy http config lacks the TLS frontend %q:\n%s", want, http)
	}
	lbx := lbxScript(netip.MustParseAddr("198.18.1.202"), netip.MustParseAddr("198.18.1.212"), servers, servers[0], true, "/tmp/b.crt", "/tmp/b.key")
	for _, want := range []string{
		"create ltm pool /Common/bench_web load-balancing-mode round-robin members add { 198.18.2.11:80 198.18.2.12:80 198.18.2.13:80 }\n",
		"create ltm virtual /Common/bench_http destination 198.18.1.202:80 ip-protocol tcp pool /Common/bench_web profiles add { /Common/fastL4 } source-address-translation { type automap }\n",
		"create ltm virtual /Common/bench_udp destination 198.18.1.202:9 ip-protocol udp pool /Common/bench_udp",
		"create ltm pool /Common/bench_bulk members add { 198.18.2.11:5201 }\n",
		"create ltm pool /Common/bench_l7 load-balancing-mode round-robin members add { 198.18.2.11:80 198.18.2.12:80 198.18.2.13:80 }\n",
		"create ltm profile client-ssl /Common/bench_ssl cert /tmp/b.crt key /tmp/b.key\n",
		"create ltm virtual /Common/bench_l7 destination 198.18.1.212:80 ip-protocol tcp pool /Common/bench_l7 profiles { /Common/tcp /Common/http /Common/oneconnect } source-address-translation { type automap }\n",
		"create ltm virtual /Common/bench_l7s destination 198.18.1.212:8443 ip-protocol tcp pool /Common/bench_l7 profiles { /Common/tcp /Common/http /Common/oneconnect /Common/bench_ssl } source-address-translation { type automap }\n",
	} {
		if !strings.Contains(lbx, want) {
			t.Errorf("lbx script lacks %q:\n%s", want, lbx)
		}
	}
	if tap := lbxScript(netip.MustParseAddr("198.18.1.100"), netip.MustParseAddr("198.18.1.110"), servers, servers[0], false, "c", "k"); strings.Contains(tap, "bench_http") {
		t.Errorf("lbx-tap script has the HTTP virtual its boot config has already:\n%s", tap)
	}
	argv := strings.Join(xdpBootArgs("/bin/lbx", "/tmp/x.sock", "/tmp/x.conf"), " ")
	for _, want := range []string{`"driver":"afxdp","device":"eth0","mac":"02:00:5e:10:01:03"`, `"address":"198.18.2.3/24","port":"int"`, "--control.socket /tmp/x.sock"} {
		if !strings.Contains(argv, want) {
			t.Errorf("lbx-xdp boot args lack %q: %s", want, argv)
		}
	}
}

func TestReport(t *testing.T) {
	wrk := func(rps float64, p50ms, p99ms int) sample {
		return sample{Rate: rps, P50: time.Duration(p50ms) * time.Millisecond, P99: time.Duration(p99ms) * time.Millisecond}
	}
	r := func(v float64) sample { return sample{Rate: v} }
	d := &runData{
		cfg:       config{Rounds: 2, Duration: 5 * time.Second, Threads: 2, Conns: 32, Timeout: 2 * time.Second, Window: 10 * time.Second, Scale: scaleFull},
		mach:      machine{Cores: 2, Go: "go1.26"},
		date:      time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		argv:      []string{"bench", "-quick"},
		placement: []string{"CPU 0 — the ends."},
		loadStart: "6.50 3.00 1.00", loadEnd: "1.00 1.00 1.00",
		res: map[string]map[string][]sample{
			"keep-alive": {
				"lbx-tap": {wrk(100, 2, 8), wrk(120, 2, 8)}, "lbx-xdp": {wrk(400, 1, 2), wrk(440, 1, 2)},
				"nft": {wrk(400, 1, 2), wrk(400, 1, 2)}, "haproxy-tcp": {wrk(200, 1, 4), wrk(200, 1, 4)},
				"haproxy-http": {wrk(100, 1, 4), wrk(100, 1, 4)}, "route": {wrk(500, 1, 1), wrk(500, 1, 1)},
			},
			"new-conn": {
				"lbx-tap": {wrk(50, 4, 16), wrk(50, 4, 16)}, "lbx-xdp": {wrk(50, 4, 16), wrk(50, 4, 16)},
				"nft": {wrk(100, 2, 4), wrk(100, 2, 4)}, "haproxy-tcp": {wrk(100, 2, 8), wrk(100, 2, 8)},
				"haproxy-http": {wrk(100, 2, 8), wrk(100, 2, 8)}, "route": {wrk(100, 2, 8), wrk(100, 2, 8)},
			},
			"udp": {
				"lbx-tap": {{Rate: 100000, Sent: 500000}, {Rate: 120000, Sent: 600000}}, "lbx-xdp": {{Rate: 300000, Sent: 2500000}, {Rate: 300000, Sent: 2500000}},
				"nft": {r(400000), r(400000)}, "route": {r(350000), r(350000)},
			},
			"bulk": {
				"lbx-tap": {r(1.5), r(1.5)}, "lbx-xdp": {r(2), r(2)},
				"nft": {r(10), r(10)}, "haproxy-tcp": {r(8), r(8)}, "route": {r(2.4), r(2.6)},
			},
			"l7-keep-alive": {
				"lbx-tap": {wrk(90, 2, 8), wrk(110, 2, 8)}, "lbx-xdp": {wrk(100, 2, 8), wrk(100, 2, 8)},
				"haproxy-http": {wrk(100, 1, 4), wrk(100, 1, 4)},
			},
			"l7-tls": {
				"lbx-tap": {wrk(30, 2, 8), wrk(30, 2, 8)}, "lbx-xdp": {wrk(20, 2, 8), wrk(20, 2, 8)},
				"haproxy-http": {wrk(20, 1, 4), wrk(20, 1, 4)},
			},
		},
		tls: map[string]tlsParams{"lbx-tap": {"TLSv1.3", "TLS_AES_128_GCM_SHA256", "X25519"}},
		scale: scaleResult{Ran: true, Virtuals: 10000, Members: 100000, Lines: 20000, Apply: 3 * time.Second, StreamPPS: 20000,
			Sent: 100000, Received: 99990, MonRan: true, Monitored: 10000, Window: 10 * time.Second, Baseline: 0.01, WithMon: 0.21},
	}
	d.res["new-conn"]["lbx-tap"][0].Errors = 3
	for i, v := range []float64{100e-6, 140e-6} {
		d.res["l7-keep-alive"]["lbx-tap"][i].CPUPerReq = v
		d.res["l7-keep-alive"]["haproxy-http"][i].CPUPerReq = 100e-6
	}
	got := report(d)
	for _, want := range []string{
		"## Run of 2026-01-02 03:04 UTC (full run)",
		"Machine: 2 cores (unknown)",
		"- CPU 0 — the ends.",
		"| keep-alive | lbx-tap | 110 req/s (100–120) | 2.00 ms | 8.00 ms | 0 |",
		"| udp | lbx-xdp | 300000 pkt/s (300000–300000) | — | — | offered 500000 pkt/s |",
		"| bulk | route | 2.50 Gbit/s (2.40–2.60) | — | — | 0 retransmits |",
		"| keep-alive | lbx-tap / nft | 0.28 (0.25–0.30) | 2.00 (2.00–2.00) | 4.00 (4.00–4.00) | 0.28 (0.25–0.30): **not met** (≥ 1.0) |",
		"| keep-alive | lbx-xdp / haproxy-tcp | 2.10 (2.00–2.20) | 1.00 (1.00–1.00) | 0.50 (0.50–0.50) | 2.10 (2.00–2.20): **met** (≥ 1.5) |",
		"| keep-alive | lbx-tap / haproxy-http | 1.10 (1.00–1.20) | 2.00 (2.00–2.00) | 2.00 (2.00–2.00) | — |",
		"| udp | lbx-xdp / route | 0.86 (0.86–0.86) | — | — | 0.86 (0.86–0.86): **met** (≥ 0.8) |",
		"| bulk ≥ 0.8× route (issue 15) | 0.60 (0.58–0.62): **not met** (≥ 0.8) | 0.80 (0.77–0.83): **met** (≥ 0.8) |",
		"| 10000 virtuals / 100000 members applied in ≤ 1 s with zero loss | 3.00 s, 10 of 100000 packets lost: **not met** | — |",
		"| 10000 monitors at 1 s ≤ 0.5 core | 0.200 core: **met** | — |",
		"used **0.200 core**",
		"**10 lost**. The same stream for 3s just before, with no push: 0 sent, 0 lost.",
		"at the start 6.50 3.00 1.00, at the end 1.00 1.00 1.00: the machine was busy with other work",
		"new-conn/lbx-tap 3",
		"udp (HAProxy has no UDP load balancing)",
		"| l7-keep-alive ≥ 1.0× haproxy-http (issue 17) | 1.00 (0.90–1.10): **met** (≥ 1.0) | 1.00 (1.00–1.00): **met** (≥ 1.0) |",
		"| l7-tls | lbx-tap / haproxy-http | 1.50 (1.50–1.50) | 2.00 (2.00–2.00) | 2.00 (2.00–2.00) | 1.50 (1.50–1.50): **met** (≥ 1.0) |",
		"| l7-tls | haproxy-http | 20.00 conn/s (20.00–20.00) |",
		"| l7-keep-alive | lbx-tap | 120 µs (100–140) | 1.20 (1.00–1.40) |",
		"| l7-keep-alive | haproxy-http | 100 µs (100–100) | — |",
		"l7-keep-alive (not an HTTP proxy); l7-tls (not an HTTP proxy)",
		"Negotiated, checked before the rounds with `openssl s_client -brief` from the client: lbx-tap TLSv1.3, TLS_AES_128_GCM_SHA256, X25519;",
		"the sender was not above capacity for lbx-tap (110000 of 110000 pkt/s offered)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, " µs ("); n != 2 {
		t.Errorf("report has %d CPU rows, want the 2 runs with a CPU figure:\n%s", n, got)
	}
	if strings.Contains(got, "l7-keep-alive | nft") || strings.Contains(got, "l7-tls | lbx-tap / nft") {
		t.Errorf("report has an L7 row for a contender that does not run it:\n%s", got)
	}
	if strings.Contains(got, "udp | haproxy") {
		t.Errorf("report has a UDP row for HAProxy, which does not run it:\n%s", got)
	}
	d.cfg.Quick = true
	d.scale = scaleResult{Ran: true, Virtuals: 10, Members: 100, Err: "push: line 3: bad\nmore"}
	got = report(d)
	for _, want := range []string{"(quick run (`make bench-quick`))", "failed: push: line 3: bad |", "The monitor load was not run"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

func TestSelectWorkloads(t *testing.T) {
	ws, gs, err := selectWorkloads("l7-tls, l7-keep-alive,l7-tls", workloads, goals)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].Name != "l7-tls" || ws[1].Name != "l7-keep-alive" {
		t.Errorf("workloads %v", ws)
	}
	for _, g := range gs {
		if g.Peer != "haproxy-http" {
			t.Errorf("goal %v kept for a workload not run", g)
		}
	}
	if len(gs) != 2 {
		t.Errorf("goals %v: want the two L7 ones", gs)
	}
	if _, _, err := selectWorkloads("keep-alive,nope", workloads, goals); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown workload: err = %v", err)
	}
}
