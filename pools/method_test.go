package pools

import (
	"errors"
	"testing"
)

func TestParseMethodRoundTrip(t *testing.T) {
	for _, m := range Methods() {
		got, err := ParseMethod(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMethod(%q) = %v, %v; want %v", m.String(), got, err, m)
		}
	}
	if len(Methods()) != 24 {
		t.Errorf("len(Methods()) = %d, want 24", len(Methods()))
	}
}

func TestParseMethodNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		want Method
	}{
		{"round-robin", MethodRoundRobin},
		{"ratio-member", MethodRatioMember},
		{"least-connections-node", MethodLeastConnectionsNode},
		{"weighted-least-connections-member", MethodWeightedLeastConnectionsMember},
		{"predictive-node", MethodPredictiveNode},
		{"fastest-app-response", MethodFastestAppResponse},
		{"ratio-session", MethodRatioSession},
		{"source-address-port-hash", MethodSourceAddressPortHash},
		{"alteon-minmisses", MethodAlteonMinMisses},
		{"maglev", MethodMaglev},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMethod(tc.name)
			if err != nil || got != tc.want {
				t.Errorf("ParseMethod(%q) = %v, %v; want %v", tc.name, got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "Round-Robin", "least-connections", "ratio", "maglev "} {
		if _, err := ParseMethod(bad); !errors.Is(err, ErrUnknownMethod) {
			t.Errorf("ParseMethod(%q) error = %v, want ErrUnknownMethod", bad, err)
		}
	}
	if s := Method(200).String(); s != "method(200)" {
		t.Errorf("Method(200).String() = %q", s)
	}
}

func FuzzParseMethod(f *testing.F) {
	for _, m := range Methods() {
		f.Add(m.String())
	}
	f.Add("")
	f.Add("\xff")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMethod(s)
		if err == nil && m.String() != s {
			t.Fatalf("ParseMethod(%q) = %v which prints as %q", s, m, m.String())
		}
	})
}
