package main

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseIperf(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    iperfResult
		wantErr string
	}{
		{name: "client run", in: `{"start":{},"intervals":[],"end":{"sum_sent":{"bytes":1,"bits_per_second":2.6e9,"retransmits":12},"sum_received":{"bytes":1,"bits_per_second":2.5e9}}}`,
			want: iperfResult{Gbps: 2.5, Retransmits: 12}},
		{name: "server busy", in: `{"start":{},"intervals":[],"end":{},"error":"error - the server is busy running a test. try again later"}`, wantErr: "server is busy"},
		{name: "no summary", in: `{"end":{}}`, wantErr: "lacks end.sum_received"},
		{name: "not json", in: `iperf3: error - unable to connect`, wantErr: "output"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseIperf([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseIperf() = %+v, %v; want error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("parseIperf() = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseCount(t *testing.T) {
	if n, err := parseCount("ready\nreceived 12345\n", "received"); err != nil || n != 12345 {
		t.Errorf("parseCount(received) = %d, %v", n, err)
	}
	if n, err := parseCount("sent 7\n", "sent"); err != nil || n != 7 {
		t.Errorf("parseCount(sent) = %d, %v", n, err)
	}
	if _, err := parseCount("ready\n", "received"); err == nil {
		t.Error("parseCount without the line: no error")
	}
}

func TestParseStatCPU(t *testing.T) {
	// A real line's shape; the command holds a space and a parenthesis.
	stat := "4242 (lbx (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 350 75 0 0 20 0 9 0 100 1000 100 18446744073709551615"
	got, err := parseStatCPU(stat)
	if err != nil || got != 425 {
		t.Errorf("parseStatCPU() = %d, %v; want 425 (utime 350 + stime 75)", got, err)
	}
	for _, bad := range []string{"4242 lbx S 1", "4242 (lbx) S 1 2 3", "4242 (lbx) S 1 4242 4242 0 -1 4194560 1234 0 0 0 x 75"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q): no error", bad)
		}
	}
}

func TestScaleScript(t *testing.T) {
	s, err := scaleScript(scaleFull)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) != 2*scaleFull.Virtuals {
		t.Fatalf("%d lines, want %d (a pool and a virtual each)", len(lines), 2*scaleFull.Virtuals)
	}
	members, vs := 0, 0
	seen := map[string]bool{}
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "create ltm pool "):
			_, list, _ := strings.Cut(l, "{")
			for _, m := range strings.Fields(strings.TrimSuffix(list, "}")) {
				if seen[m] {
					t.Fatalf("member %s twice", m)
				}
				seen[m] = true
				members++
			}
		case strings.HasPrefix(l, "create ltm virtual "):
			vs++
		default:
			t.Fatalf("unexpected line %q", l)
		}
	}
	if vs != 10000 || members != 100000 {
		t.Errorf("%d virtuals, %d members; want 10000, 100000", vs, members)
	}
	if !strings.HasSuffix(lines[len(lines)-1], "destination 198.18.1.100:29999 ip-protocol tcp pool /Common/scale_9999") {
		t.Errorf("last line %q", lines[len(lines)-1])
	}
	if _, err := scaleScript(scaleSpec{Virtuals: 1, MembersPerPool: 3}); err == nil {
		t.Error("odd members per pool accepted")
	}
	if _, err := scaleScript(scaleSpec{Virtuals: 50000, MembersPerPool: 2}); err == nil {
		t.Error("virtuals past port 65535 accepted")
	}
}

func TestMonitorScript(t *testing.T) {
	servers := []netip.Addr{netip.MustParseAddr("198.18.2.11"), netip.MustParseAddr("198.18.2.12"), netip.MustParseAddr("198.18.2.13")}
	s, err := monitorScript(25, servers)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "interval 1") {
		t.Fatalf("script:\n%s", s)
	}
	if want := "create ltm pool /Common/mon_2 monitor /Common/bench_tcp members add { 198.18.2.13:30006 198.18.2.11:30007 198.18.2.12:30007 198.18.2.13:30007 198.18.2.11:30008 }"; lines[3] != want {
		t.Errorf("last pool\n got %s\nwant %s", lines[3], want)
	}
	if _, err := monitorScript(10000, servers); err != nil {
		t.Errorf("10000 members: %v", err)
	}
}

func TestParseSnmpUDP(t *testing.T) {
	text := `Ip: Forwarding DefaultTTL
Ip: 2 64
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 346 1 5 348 4 0 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 9 9 9 9 9 9 9 9 9
`
	if n, err := parseSnmpUDP(text); err != nil || n != 350 {
		t.Errorf("parseSnmpUDP() = %d, %v; want 350 (346 delivered + 4 buffer overflows)", n, err)
	}
	for _, bad := range []string{"Ip: 1\n", "Udp: InDatagrams NoPorts\nUdp: 1 2\n", "Udp: InDatagrams RcvbufErrors\nUdp: x 2\n"} {
		if _, err := parseSnmpUDP(bad); err == nil {
			t.Errorf("parseSnmpUDP(%q): no error", bad)
		}
	}
}

// TestIperfRetryable: a server still busy with the previous test, and any
// failure to reach it (a bounded number of times), is tried again; a
// failure during the test is not.
func TestIperfRetryable(t *testing.T) {
	for out, want := range map[string]bool{
		`{"error": "the server is busy running a test. try again later"}`:          true,
		`{"error": "unable to connect to server: Connection reset by peer"}`:       true,
		`{"error": "unable to receive control message: Connection reset by peer"}`: true,
		`{"error": "unable to connect to server: No route to host"}`:               true,
		`{"error": "control socket has closed unexpectedly"}`:                      false,
		`{"end": {"sum_received": {"bits_per_second": 1e9}}}`:                      false,
	} {
		if got := iperfRetryable([]byte(out)); got != want {
			t.Errorf("iperfRetryable(%s) = %v, want %v", out, got, want)
		}
	}
}
