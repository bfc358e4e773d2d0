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
	ok := config{Rounds: 5, Duration: 5 * time.Second, Threads: 2, Conns: 32, Timeout: 2 * time.Second, Warmup: time.Second}
	if err := ok.validate(); err != nil {
		t.Fatalf("default config: %v", err)
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

func TestWrkArgs(t *testing.T) {
	c := config{Threads: 2, Conns: 32, Timeout: 2 * time.Second}
	got := shellJoin(c.wrkArgs(5*time.Second, metrics[1], targets[1]))
	want := "wrk -t2 -c32 -d5s --latency --timeout 2s -H 'Connection: close' http://198.18.1.200/"
	if got != want {
		t.Errorf("wrk command\n got %s\nwant %s", got, want)
	}
}

func TestPeerConfigs(t *testing.T) {
	servers := []netip.Addr{netip.MustParseAddr("198.18.2.11"), netip.MustParseAddr("198.18.2.12"), netip.MustParseAddr("198.18.2.13")}
	nft := nftRuleset(netip.MustParseAddr("198.18.1.200"), 80, servers, netip.MustParseAddr("198.18.2.200"), "eth1")
	for _, want := range []string{
		"ip daddr 198.18.1.200 tcp dport 80 dnat to numgen inc mod 3 map { 0 : 198.18.2.11, 1 : 198.18.2.12, 2 : 198.18.2.13 }",
		`oifname "eth1" ct status dnat snat to 198.18.2.200`,
	} {
		if !strings.Contains(nft, want) {
			t.Errorf("nft ruleset lacks %q:\n%s", want, nft)
		}
	}
	hap := haproxyConfig(netip.MustParseAddr("198.18.1.201"), 80, servers, netip.MustParseAddr("198.18.2.201"))
	for _, want := range []string{"mode tcp", "bind 198.18.1.201:80", "balance roundrobin", "source 198.18.2.201",
		"server s1 198.18.2.11:80", "server s3 198.18.2.13:80"} {
		if !strings.Contains(hap, want) {
			t.Errorf("haproxy config lacks %q:\n%s", want, hap)
		}
	}
}

func TestReport(t *testing.T) {
	res := func(rps float64, p50ms, p99ms int) wrkResult {
		return wrkResult{Requests: int64(rps * 5), RPS: rps, P50: time.Duration(p50ms) * time.Millisecond, P99: time.Duration(p99ms) * time.Millisecond}
	}
	d := &runData{
		cfg:  config{Rounds: 2, Duration: 5 * time.Second, Threads: 2, Conns: 32, Timeout: 2 * time.Second},
		mach: machine{Cores: 2, Go: "go1.26"},
		date: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		argv: []string{"bench"},
		res: map[string]map[string][]wrkResult{
			"keep-alive": {"lbx": {res(100, 2, 8), res(120, 2, 8)}, "nft": {res(400, 1, 2), res(400, 1, 2)}, "haproxy": {res(200, 1, 4), res(200, 1, 4)}},
			"new-conn":   {"lbx": {res(50, 4, 16), res(50, 4, 16)}, "nft": {res(100, 2, 4), res(100, 2, 4)}, "haproxy": {res(100, 2, 8), res(100, 2, 8)}},
		},
	}
	d.res["new-conn"]["lbx"][0].SocketErrors = 3
	got := report(d)
	for _, want := range []string{
		"## Run of 2026-01-02 03:04 UTC",
		"| keep-alive | lbx | 110 req/s (100–120) | 2.00 ms | 8.00 ms | 0 |",
		"| keep-alive | lbx / nft | 0.28 (0.25–0.30) | 2.00 (2.00–2.00) | 4.00 (4.00–4.00) |",
		"| new-conn | lbx / haproxy | 0.50 (0.50–0.50) | 2.00 (2.00–2.00) | 2.00 (2.00–2.00) |",
		"new-conn/lbx 3",
		"Machine: 2 cores (unknown)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}
