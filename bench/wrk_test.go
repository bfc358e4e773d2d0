package main

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const wrkKeepAlive = `Running 5s test @ http://198.18.1.100/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.90ms    1.52ms  10.92ms   70.27%
    Req/Sec   807.45    100.35     0.92k    60.00%
  Latency Distribution
     50%  410.00us
     75%    5.80ms
     90%    6.73ms
     99%    1.02s
  51234 requests in 5.00s, 8.12MB read
Requests/sec:  10246.80
Transfer/sec:      1.62MB
`

const wrkErrors = `Running 5s test @ http://198.18.1.200/
  2 threads and 32 connections
  Latency Distribution
     50%    1.51ms
     75%    1.79ms
     90%    2.13ms
     99%    3.84ms
  4927 requests in 5.01s, 2.44MB read
  Socket errors: connect 2, read 3, write 0, timeout 5
  Non-2xx or 3xx responses: 7
Requests/sec:    983.43
Transfer/sec:      0.49MB
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    wrkResult
		wantErr bool
	}{
		{name: "keep-alive", in: wrkKeepAlive, want: wrkResult{
			Requests: 51234, Duration: 5 * time.Second, RPS: 10246.80,
			P50: 410 * time.Microsecond, P99: 1020 * time.Millisecond,
		}},
		{name: "errors counted", in: wrkErrors, want: wrkResult{
			Requests: 4927, Duration: 5010 * time.Millisecond, RPS: 983.43,
			P50: 1510 * time.Microsecond, P99: 3840 * time.Microsecond,
			SocketErrors: 10, Non2xx: 7,
		}},
		{name: "no latency distribution", in: "  10 requests in 1.00s, 1KB read\nRequests/sec: 10.00\n", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "bad unit", in: "     50%  4.1xs\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseWrk(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseWrk() error = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			// Float units can be off by a rounding nanosecond.
			opt := cmp.Comparer(func(a, b time.Duration) bool { d := a - b; return d > -2 && d < 2 })
			if diff := cmp.Diff(tc.want, got, opt); diff != "" {
				t.Errorf("parseWrk() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseWrkDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0.00us", 0, true},
		{"12.50us", 12500 * time.Nanosecond, true},
		{"2.13ms", 2130 * time.Microsecond, true},
		{"1.50s", 1500 * time.Millisecond, true},
		{"2.00m", 2 * time.Minute, true},
		{"1.00h", time.Hour, true},
		{"ms", 0, false},
		{"-1.00ms", 0, false},
		{"3.0", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseWrkDuration(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("parseWrkDuration(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if d := got - tc.want; tc.ok && (d < -1 || d > 1) {
				t.Errorf("parseWrkDuration(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseSClient(t *testing.T) {
	out := `CONNECTION ESTABLISHED
Protocol version: TLSv1.3
Ciphersuite: TLS_AES_128_GCM_SHA256
Peer certificate: CN = lbx-bench
Hash used: SHA256
Signature type: ECDSA
Verification error: self-signed certificate
Server Temp Key: X25519, 253 bits
DONE
`
	p, err := parseSClient(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := (tlsParams{"TLSv1.3", "TLS_AES_128_GCM_SHA256", "X25519"}); p != want {
		t.Errorf("parseSClient = %v, want %v", p, want)
	}
	for _, bad := range []string{"", "connect:errno=111\n", "Protocol version: TLSv1.3\nCiphersuite: TLS_AES_128_GCM_SHA256\n"} {
		if _, err := parseSClient(bad); err == nil {
			t.Errorf("parseSClient(%q) accepted", bad)
		}
	}
}

func TestWriteCert(t *testing.T) {
	f, err := writeCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(f.Cert, f.Key); err != nil {
		t.Errorf("lbx's files: %v", err)
	}
	if _, err := tls.LoadX509KeyPair(f.PEM, f.PEM); err != nil {
		t.Errorf("HAProxy's file: %v", err)
	}
}

func FuzzParseSClient(f *testing.F) {
	f.Add("Protocol version: TLSv1.3\nCiphersuite: TLS_AES_128_GCM_SHA256\nServer Temp Key: X25519, 253 bits\n")
	f.Add("Negotiated TLS1.3 group: X25519\nProtocol version: TLSv1.2\nCiphersuite: ECDHE-ECDSA-AES128-GCM-SHA256\n")
	f.Add("connect:errno=111\n")
	f.Add(":\n::\nProtocol version:\n")
	f.Fuzz(func(t *testing.T, out string) {
		p, err := parseSClient(out)
		if err == nil && (p.Version == "" || p.Suite == "" || p.Group == "") {
			t.Errorf("parseSClient(%q) = %+v with no error", out, p)
		}
	})
}
