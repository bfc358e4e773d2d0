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
	tcp := haproxyConfig("tcp", netip.MustParseAddr("198.18.1.201"), servers, servers[0], netip.MustParseAddr("198.18.2.201"))
	for _, want := range []string{"mode tcp", "bind 198.18.1.201:80", "balance roundrobin", "source 198.18.2.201",
		"server s1 198.18.2.11:80", "server s3 198.18.2.13:80", "bind 198.18.1.201:5201", "server b1 198.18.2.11:5201"} {
		if !strings.Contains(tcp, want) {
			t.Errorf("haproxy tcp config lacks %q:\n%s", want, tcp)
		}
	}
	http := haproxyConfig("http", netip.MustParseAddr("198.18.1.204"), servers, servers[0], netip.MustParseAddr("198.18.2.204"))
	if !strings.Contains(http, "mode http") || strings.Contains(http, "5201") {
		t.Errorf("haproxy http config: want mode http and no bulk frontend:\n%s", http)
	}
	lbx := lbxScript(netip.MustParseAddr("198.18.1.202"), servers, servers[0], true)
	for _, want := range []string{
		"create ltm pool /Common/bench_web load-balancing-mode round-robin members add { 198.18.2.11:80 198.18.2.12:80 198.18.2.13:80 }\n",
		"create ltm virtual /Common/bench_http destination 198.18.1.202:80 ip-protocol tcp pool /Common/bench_web profiles add { /Common/fastL4 } source-address-translation { type automap }\n",
		"create ltm virtual /Common/bench_udp destination 198.18.1.202:9 ip-protocol udp pool /Common/bench_udp",
		"create ltm pool /Common/bench_bulk members add { 198.18.2.11:5201 }\n",
	} {
		if !strings.Contains(lbx, want) {
			t.Errorf("lbx script lacks %q:\n%s", want, lbx)
		}
	}
	if tap := lbxScript(netip.MustParseAddr("198.18.1.100"), servers, servers[0], false); strings.Contains(tap, "bench_http") {
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
		},
		scale: scaleResult{Ran: true, Virtuals: 10000, Members: 100000, Lines: 20000, Apply: 3 * time.Second, StreamPPS: 20000,
			Sent: 100000, Received: 99990, MonRan: true, Monitored: 10000, Window: 10 * time.Second, Baseline: 0.01, WithMon: 0.21},
	}
	d.res["new-conn"]["lbx-tap"][0].Errors = 3
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
		"| bulk ≥ 0.8× route | 0.60 (0.58–0.62): **not met** (≥ 0.8) | 0.80 (0.77–0.83): **met** (≥ 0.8) |",
		"| 10000 virtuals / 100000 members applied in ≤ 1 s with zero loss | 3.00 s, 10 of 100000 packets lost: **not met** | — |",
		"| 10000 monitors at 1 s ≤ 0.5 core | 0.200 core: **met** | — |",
		"used **0.200 core**",
		"**10 lost**. The same stream for 3s just before, with no push: 0 sent, 0 lost.",
		"at the start 6.50 3.00 1.00, at the end 1.00 1.00 1.00: the machine was busy with other work",
		"new-conn/lbx-tap 3",
		"udp (HAProxy has no UDP load balancing)",
		"the sender was not above capacity for lbx-tap (110000 of 110000 pkt/s offered)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
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
