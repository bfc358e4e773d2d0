package tmsh

import (
	"strings"
	"testing"

	"lbx/ctrlplane/compile"
	"lbx/dataplane"
)

// countingDataplane adds counters to the recording fake.
type countingDataplane struct {
	fakeDataplane
	counters []dataplane.Counter
	flows    int
}

func (c *countingDataplane) Counters() []dataplane.Counter { return c.counters }
func (c *countingDataplane) Flows() int                    { return c.flows }

func TestShowSysDataplane(t *testing.T) {
	dp := &countingDataplane{
		counters: []dataplane.Counter{{Name: "drop.no-route", Value: 7}, {Name: "port.ext.rx_packets", Value: 42}},
		flows:    3,
	}
	s := NewStore(dp, compile.NetConfig{}, "", nil)
	out, err := s.Exec("show sys dataplane")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Sys::Dataplane", "flows", " 3\n", "drop.no-route", " 7\n", "port.ext.rx_packets", " 42\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := s.Exec("show sys dataplane extra"); err == nil || !strings.Contains(err.Error(), "unexpected") {
		t.Errorf("extra argument: %v", err)
	}
	// A dataplane without counters says so instead of printing nothing.
	plain := NewStore(&fakeDataplane{}, compile.NetConfig{}, "", nil)
	if _, err := plain.Exec("show sys dataplane"); err == nil {
		t.Error("show sys dataplane without a counter source succeeded")
	}
}
