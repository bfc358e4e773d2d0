package appliance_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/appliance"
	"lbx/dataplane"
	"lbx/dataplane/porttest"
	"lbx/internal/clock"
)

// lab is an in-process network: switches, hosts and appliances over
// porttest's ports, torn down when the test ends, after which no goroutine
// may be left.
type lab struct {
	t    *testing.T
	macs int
	// MonitorClock drives every appliance's monitors: tests step it.
	clock *clock.Manual
	apps  []*appliance.Appliance
}

func newLab(t *testing.T) *lab {
	t.Helper()
	before := runtime.NumGoroutine()
	l := &lab{t: t, clock: clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	// Registered first, so it runs after every other cleanup.
	t.Cleanup(func() { waitGoroutines(t, before) })
	return l
}

func (l *lab) mac() string {
	l.macs++
	return fmt.Sprintf("02:00:5e:00:%02x:%02x", l.macs>>8, l.macs&0xff)
}

// port plugs a new port into sw.
func (l *lab) port(sw *porttest.Switch, name string) *porttest.Port {
	l.t.Helper()
	p, err := sw.Port(porttest.Config{Name: name, MAC: porttest.MustMAC(l.mac())})
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

// pipe makes two ports joined back to back.
func (l *lab) pipe(a, b string) (*porttest.Port, *porttest.Port) {
	l.t.Helper()
	pa, pb, err := porttest.Pipe(porttest.Config{Name: a, MAC: porttest.MustMAC(l.mac())}, porttest.Config{Name: b, MAC: porttest.MustMAC(l.mac())})
	if err != nil {
		l.t.Fatal(err)
	}
	return pa, pb
}

// host starts a host on a new port of sw.
func (l *lab) host(sw *porttest.Switch, name, addr, gateway string) *porttest.Host {
	l.t.Helper()
	cfg := porttest.HostConfig{Name: name, Port: l.port(sw, name), Addr: netip.MustParsePrefix(addr)}
	if gateway != "" {
		cfg.Gateway = netip.MustParseAddr(gateway)
	}
	h, err := porttest.NewHost(cfg)
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { h.Close() })
	return h
}

// server starts a host serving the identity page on :80.
func (l *lab) server(sw *porttest.Switch, name, addr, gateway string) (*porttest.Host, *porttest.Server) {
	l.t.Helper()
	h := l.host(sw, name, addr, gateway)
	return h, l.serve(h, name)
}

// echo starts the UDP echo on h's port 7.
func (l *lab) echo(h *porttest.Host, name string) {
	l.t.Helper()
	e, err := h.ServeUDPEcho(7, name)
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { e.Close() })
}

// serve starts the identity server on h's port 80.
func (l *lab) serve(h *porttest.Host, name string) *porttest.Server {
	l.t.Helper()
	return l.serveOn(h, 80, name)
}

// serveOn starts the identity server on h's port.
func (l *lab) serveOn(h *porttest.Host, port uint16, name string) *porttest.Server {
	l.t.Helper()
	s, err := h.ServeHTTP(port, name)
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { s.Close() })
	return s
}

// appliance boots an appliance on ports with the traffic config conf
// (bigip.conf text, written where `lbx run` reads its saved config).
// selfs are "NAME ADDRESS/LEN PORT".
func (l *lab) appliance(ports []dataplane.Port, conf string, selfs ...string) *appliance.Appliance {
	l.t.Helper()
	var sips []dataplane.SelfIP
	for _, s := range selfs {
		f := strings.Fields(s)
		sips = append(sips, dataplane.SelfIP{Name: f[0], Prefix: netip.MustParsePrefix(f[1]), Port: f[2]})
	}
	saved := filepath.Join(l.t.TempDir(), "bigip.conf")
	if err := os.WriteFile(saved, []byte(conf), 0o644); err != nil {
		l.t.Fatal(err)
	}
	app, err := appliance.New(appliance.Config{
		Ports: ports, SelfIPs: sips, SavedPath: saved, FlowCapacity: 4096,
		MonitorClock: l.clock,
	})
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() {
		if err := app.Close(); err != nil {
			l.t.Errorf("appliance close: %v", err)
		}
	})
	l.apps = append(l.apps, app)
	return app
}

// step moves the monitors' clock forward by d, one due timer at a time,
// letting every appliance's probes finish (bounded) before time moves on.
// The bound is real time, generous for a 2-core machine that also runs the
// namespace tests: a probe here ends in milliseconds when it can run (seen
// once: 10 s was not enough while a whole CI run shared the cores).
func (l *lab) step(d time.Duration) {
	l.t.Helper()
	l.clock.AdvanceSettled(d, func() {
		for _, a := range l.apps {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := a.Monitoring().Scheduler().WaitIdle(ctx)
			cancel()
			if err != nil {
				l.t.Fatalf("monitors not idle within 30s: %v", err)
			}
		}
	})
}

// stepUntil steps the monitors' clock by interval until cond holds, at
// most limit of clock time, and returns how much clock time that took.
func (l *lab) stepUntil(interval, limit time.Duration, what string, cond func() bool) time.Duration {
	l.t.Helper()
	var took time.Duration
	for !cond() {
		if took >= limit {
			l.t.Fatalf("%s: not after %s of monitor time", what, limit)
		}
		l.step(interval)
		took += interval
	}
	return took
}

// waitFor polls cond (bounded, in real time) for what the network does on
// its own goroutines, like the last FIN of a closed connection.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitGoroutines waits (bounded) until the goroutine count is back to
// before.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Errorf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// get fetches url from h over a new connection (bounded).
func get(t *testing.T, h *porttest.Host, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body, err := h.Get(ctx, url)
	if err != nil {
		t.Fatalf("get %s: %v", url, err)
	}
	return body
}

// countServers sends n requests from h to url and counts answers by server
// name; failures count as "(failed)".
func countServers(h *porttest.Host, url string, n int) map[string]int {
	counts := map[string]int{}
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		body, err := h.Get(ctx, url)
		cancel()
		if name := porttest.ServerName(body); err == nil && name != "" {
			counts[name]++
		} else {
			counts["(failed)"]++
		}
	}
	return counts
}

// testbedConfig is the namespace testbed's default traffic config: the
// same text boots the in-process appliance.
func testbedConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../testbed/default.conf")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testbed is the namespace testbed's default topology, in process:
//
//	client 198.18.1.10 ──client switch── lbx-ext [self 198.18.1.2, VIP 198.18.1.100]
//	                                     lbx-int [self 198.18.2.2] ──server switch── server1..3 198.18.2.11-13
type testbed struct {
	lab     *lab
	client  *porttest.Host
	servers map[string]*porttest.Host
	http    map[string]*porttest.Server
	app     *appliance.Appliance
	// clientSwitch joins the client and lbx-ext, for raw ports.
	clientSwitch *porttest.Switch
}

func newTestbed(t *testing.T, conf string) *testbed {
	t.Helper()
	l := newLab(t)
	csw, ssw := porttest.NewSwitch(), porttest.NewSwitch()
	tb := &testbed{lab: l, servers: map[string]*porttest.Host{}, http: map[string]*porttest.Server{}, clientSwitch: csw}
	tb.app = l.appliance([]dataplane.Port{l.port(csw, "lbx-ext"), l.port(ssw, "lbx-int")}, conf,
		"ext 198.18.1.2/24 lbx-ext", "int 198.18.2.2/24 lbx-int")
	tb.client = l.host(csw, "client", "198.18.1.10/24", "198.18.1.2")
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("server%d", i)
		tb.servers[name], tb.http[name] = l.server(ssw, name, fmt.Sprintf("198.18.2.%d/24", 10+i), "198.18.2.2")
		l.echo(tb.servers[name], name)
	}
	return tb
}

func (tb *testbed) exec(cmds ...string) {
	tb.lab.t.Helper()
	for _, c := range cmds {
		if _, err := tb.app.Exec(c); err != nil {
			tb.lab.t.Fatalf("%s: %v", c, err)
		}
	}
}
