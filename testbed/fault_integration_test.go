package testbed

import (
	"io"
	"regexp"
	"strconv"
	"testing"
	"time"
)

var rttRe = regexp.MustCompile(`time=([0-9.]+) ms`)

// pingRTTs pings dst from host n times and returns the round trips.
func pingRTTs(t *testing.T, tb *Testbed, host, dst string, n int) []time.Duration {
	t.Helper()
	c, err := tb.Command(host, "ping", "-n", "-c", strconv.Itoa(n), "-i", "0.2", "-W", "3", dst)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Output()
	if err != nil {
		t.Fatalf("ping %s: %v\n%s", dst, err, out)
	}
	var rtts []time.Duration
	for _, m := range rttRe.FindAllStringSubmatch(string(out), -1) {
		ms, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		rtts = append(rtts, time.Duration(ms*float64(time.Millisecond)))
	}
	if len(rtts) != n {
		t.Fatalf("ping %s: %d answers of %d:\n%s", dst, len(rtts), n, out)
	}
	return rtts
}

// A delay link in front of a host holds every frame 40 ms each way: every
// round trip through it takes at least 80 ms (the lower bound is the
// mechanism's, not the machine's speed), TCP through the VIP still works
// across it, and clearing it puts the port back on its bridge.
func TestIntegrationDelayFault(t *testing.T) {
	tb := upTestbed(t)
	if err := tb.Delay("server1", 40*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for _, rtt := range pingRTTs(t, tb, "server1", "198.18.2.2", 4) {
		if rtt < 80*time.Millisecond {
			t.Fatalf("round trip from the delayed server1 to the self IP took %s: want at least 80ms", rtt)
		}
	}
	// The appliance's own ports: the client's pings of the self IP wait
	// twice per crossing of the link too.
	if err := tb.Delay("lbx", 25*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for _, rtt := range pingRTTs(t, tb, "client", "198.18.1.2", 3) {
		if rtt < 50*time.Millisecond {
			t.Fatalf("round trip to the delayed appliance took %s: want at least 50ms", rtt)
		}
	}
	seen := map[string]bool{}
	for range 6 {
		seen[ServerName(curl(t, tb, "http://"+tb.Topo.VIP.String()+"/drip?n=5000&ms=0"))] = true
	}
	if !seen["server1"] {
		t.Fatalf("six requests through the delayed appliance reached %v: want server1 among them", seen)
	}
	if len(tb.State.Faults) != 2 {
		t.Fatalf("state lists faults %+v, want two", tb.State.Faults)
	}
	for _, target := range []string{"server1", "lbx"} {
		if err := tb.ClearFault(target); err != nil {
			t.Fatal(err)
		}
	}
	if len(tb.State.Faults) != 0 {
		t.Fatalf("state lists faults %+v after clear", tb.State.Faults)
	}
	for _, rtt := range pingRTTs(t, tb, "server1", "198.18.2.2", 2) {
		if rtt >= 80*time.Millisecond {
			t.Logf("round trip %s after clearing (a loaded machine; not asserted)", rtt)
		}
	}
	if err := tb.Delay("nosuch", time.Millisecond); err == nil {
		t.Fatal("a fault on an unknown target was accepted")
	}

	// `lbx testbed fault` works from the state file alone (Attach), as
	// for a detached testbed; its relay is a detached process that the
	// state file records, so Down stops it too.
	att, err := Attach(tb.opts.StateDir, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	att.opts.Binary = lbxBinary
	if err := att.Delay("server1", 40*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for _, rtt := range pingRTTs(t, tb, "server1", "198.18.2.2", 2) {
		if rtt < 80*time.Millisecond {
			t.Fatalf("round trip with the fault set through Attach took %s: want at least 80ms", rtt)
		}
	}
	st, err := ReadState(tb.opts.StateDir)
	if err != nil || len(st.Faults) != 1 || st.Faults[0].Target != "server1" {
		t.Fatalf("state file faults %+v (%v), want server1's", st, err)
	}
	if _, ok := st.Running("delay-v-server1"); !ok {
		t.Fatalf("no running delay-v-server1 in the state file: %+v", st.Procs)
	}
	if err := att.ClearFault("server1"); err != nil {
		t.Fatal(err)
	}
}
