package monitors

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestTypeNames(t *testing.T) {
	for _, name := range []string{"icmp", "gateway-icmp", "tcp", "tcp-half-open", "http", "https", "udp", "external"} {
		typ, err := ParseType(name)
		if err != nil || typ.String() != name {
			t.Errorf("ParseType(%q) = %v, %v", name, typ, err)
		}
	}
	if _, err := ParseType("smtp"); err == nil {
		t.Error("ParseType(smtp): want error")
	}
}

func TestCloseCheck(t *testing.T) {
	var zero Spec
	if zero.CloseCheck != CloseLenient {
		t.Fatal("the default close check must be lenient")
	}
	for _, tc := range []struct {
		in   string
		want CloseCheck
	}{{"lenient", CloseLenient}, {"legacy", CloseLegacy}} {
		got, err := ParseCloseCheck(tc.in)
		if err != nil || got != tc.want || got.String() != tc.in {
			t.Errorf("ParseCloseCheck(%q) = %v, %v", tc.in, got, err)
		}
	}
	if _, err := ParseCloseCheck("strict"); err == nil {
		t.Error("ParseCloseCheck(strict): want error")
	}
	if ReasonRSTAfterFIN != "RST after FIN during close" {
		t.Error("ReasonRSTAfterFIN changed")
	}
}

func TestCompileSpecDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Spec
		want Spec
	}{
		{"bigip", Spec{Name: "/Common/tcp", Type: TCP},
			Spec{Name: "/Common/tcp", Type: TCP, Interval: 5 * time.Second, Timeout: 16 * time.Second}},
		{"bigip interval", Spec{Name: "/Common/tcp", Type: TCP, Interval: 10 * time.Second},
			Spec{Name: "/Common/tcp", Type: TCP, Interval: 10 * time.Second, Timeout: 31 * time.Second}},
		{"alteon", Spec{Name: "1", Type: TCP, Interval: 2 * time.Second, Alteon: true},
			Spec{Name: "1", Type: TCP, Interval: 2 * time.Second, Timeout: 2 * time.Second, Alteon: true, Retries: 4, Restore: 2}},
	} {
		got, err := CompileSpec(tc.in, "", "")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !got.Equal(&tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, *got, tc.want)
		}
	}
}

func TestCompileSpecErrors(t *testing.T) {
	base := Spec{Name: "/Common/http", Type: HTTP}
	for _, tc := range []struct {
		name              string
		spec              Spec
		recv, recvDisable string
		want              string
	}{
		{"recv", base, "200 (OK", "", "monitor /Common/http: recv: error parsing regexp"},
		{"recv-disable", base, "", "[", "monitor /Common/http: recv-disable: error parsing regexp"},
		{"type", Spec{Name: "/Common/x"}, "", "", "monitor /Common/x: type"},
		{"name", Spec{Type: TCP}, "", "", "name must not be empty"},
		{"external", Spec{Name: "/Common/ext", Type: External}, "", "", "monitor /Common/ext: run must name a program"},
		{"timeout", Spec{Name: "/Common/tcp", Type: TCP, Interval: 10 * time.Second, Timeout: 10 * time.Second}, "", "", "monitor /Common/tcp: timeout (10s) must be greater than interval (10s)"},
		{"negative", Spec{Name: "/Common/tcp", Type: TCP, UpInterval: -1}, "", "", "up-interval must be >= 0"},
		{"retry", Spec{Name: "1", Type: TCP, Alteon: true, Retries: -1}, "", "", "monitor 1: retry must be >= 1"},
	} {
		_, err := CompileSpec(tc.spec, tc.recv, tc.recvDisable)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestSpecEqual(t *testing.T) {
	mk := func(mod func(*Spec), recv string) *Spec {
		s := Spec{Name: "/Common/http", Type: HTTP, Send: "GET /\r\n", Args: []string{"a"}}
		if mod != nil {
			mod(&s)
		}
		out, err := CompileSpec(s, recv, "")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a := mk(nil, "200")
	if !a.Equal(mk(nil, "200")) {
		t.Error("identical specs (distinct regexps) not Equal")
	}
	for name, b := range map[string]*Spec{
		"recv":        mk(nil, "201"),
		"no recv":     mk(nil, ""),
		"args":        mk(func(s *Spec) { s.Args = []string{"b"} }, "200"),
		"close-check": mk(func(s *Spec) { s.CloseCheck = CloseLegacy }, "200"),
		"destination": mk(func(s *Spec) { s.Destination.Port = 8080 }, "200"),
		"alteon":      mk(func(s *Spec) { s.Alteon = true }, "200"),
	} {
		if a.Equal(b) {
			t.Errorf("%s: specs differ but Equal", name)
		}
	}
	if a.Equal(nil) {
		t.Error("Equal(nil)")
	}
}

func TestResolve(t *testing.T) {
	m := Target{Addr: netip.MustParseAddr("198.18.2.11"), Port: 80}
	for _, tc := range []struct {
		dst, want Target
	}{
		{Target{}, m},
		{Target{Port: 8080}, Target{Addr: m.Addr, Port: 8080}},
		{Target{Addr: netip.MustParseAddr("198.18.9.9")}, Target{Addr: netip.MustParseAddr("198.18.9.9"), Port: 80}},
		{Target{Addr: netip.IPv4Unspecified(), Port: 443}, Target{Addr: m.Addr, Port: 443}},
	} {
		s := Spec{Destination: tc.dst}
		if got := s.Resolve(m); got != tc.want {
			t.Errorf("Resolve with destination %v = %v, want %v", tc.dst, got, tc.want)
		}
	}
}
