package testbed

import (
	"bufio"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/ctlsock"

	"github.com/google/go-cmp/cmp"
)

// serverMember is the /Common/ADDR:PORT name of host's member on port.
func serverMember(t *testing.T, tb *Testbed, host string, port int) string {
	t.Helper()
	h, ok := tb.Topo.Host(host)
	if !ok {
		t.Fatalf("no host %s", host)
	}
	return fmt.Sprintf("/Common/%s:%d", h.Addr.Addr(), port)
}

// addrPort is host's ADDR:PORT.
func addrPort(t *testing.T, tb *Testbed, host string, port int) string {
	t.Helper()
	return strings.TrimPrefix(serverMember(t, tb, host, port), "/Common/")
}

// createNodes creates the nodes of server4..6, which the default config
// does not have.
func createNodes(t *testing.T, tb *Testbed, app *ctlsock.Client) {
	t.Helper()
	for _, name := range []string{"server4", "server5", "server6"} {
		h, _ := tb.Topo.Host(name)
		a := h.Addr.Addr().String()
		execAll(t, app, "create ltm node /Common/"+a+" address "+a)
	}
}

// createPGAPool creates a round-robin pool of server1..3 at priority 10
// and server4..6 at priority 5 with min-active-members 2, and a virtual
// server on vip:80 for it; extra are further pool properties.
func createPGAPool(t *testing.T, tb *Testbed, app *ctlsock.Client, pool, vip, extra string) {
	t.Helper()
	var members []string
	for i := 1; i <= 6; i++ {
		prio := 10
		if i > 3 {
			prio = 5
		}
		members = append(members, fmt.Sprintf("%s { priority-group %d }", addrPort(t, tb, fmt.Sprintf("server%d", i), 80), prio))
	}
	execAll(t, app,
		fmt.Sprintf("create ltm pool %s load-balancing-mode round-robin min-active-members 2 slow-ramp-time 0 %s members add { %s }",
			pool, extra, strings.Join(members, " ")),
		fmt.Sprintf("create ltm virtual vs_%s destination %s:80 ip-protocol tcp pool %s source-address-translation { type automap }", pool, vip, pool),
	)
}

// checkBurst sends n requests to url, a new connection each, and wants
// exactly the counts per server in want. With round robin over k
// candidates and n a multiple of k, every candidate gets exactly n/k
// whatever the rotation's starting point, so the check is exact.
func checkBurst(t *testing.T, tb *Testbed, step, url string, n int, want map[string]int) {
	t.Helper()
	got := countServers(t, tb, url, n)
	t.Logf("%s: %d requests: %v", step, n, got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: answers per server (-want +got):\n%s", step, diff)
	}
}

var numberRe = regexp.MustCompile(`\d+`)

// activeGroups reads, from show ltm pool, the line that says which
// priority groups are active ("Active Priority Groups : 10 5" or the
// like: a status line whose label has "activ" and "priorit" in it),
// and returns its numbers, highest first.
func activeGroups(t *testing.T, app *ctlsock.Client, pool string) ([]int, string) {
	t.Helper()
	out, err := app.Exec("show ltm pool " + pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		label, value, ok := strings.Cut(l, ":")
		label = strings.ToLower(label)
		if !ok || !strings.Contains(label, "activ") || !strings.Contains(label, "priorit") {
			continue
		}
		var g []int
		for _, s := range numberRe.FindAllString(value, -1) {
			n, _ := strconv.Atoi(s)
			g = append(g, n)
		}
		slices.Sort(g)
		slices.Reverse(g)
		return g, out
	}
	return nil, out
}

func checkGroups(t *testing.T, app *ctlsock.Client, step, pool string, want ...int) {
	t.Helper()
	got, out := activeGroups(t, app, pool)
	if got == nil {
		t.Errorf("%s: show ltm pool %s names no active priority groups:\n%s", step, pool, out)
		return
	}
	t.Logf("%s: show ltm pool %s: active priority groups %v", step, pool, got)
	if !slices.Equal(got, want) {
		t.Errorf("%s: show ltm pool %s: active priority groups %v, want %v:\n%s", step, pool, got, want, out)
	}
}

// Priority-group activation, driven by the operator: three members at
// priority 10, three at 5, min-active-members 2. With two 10s disabled the
// 5s join; with one back the 5s stop getting new connections.
func TestIntegrationPGAByConfig(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	createNodes(t, tb, app)
	createPGAPool(t, tb, app, "pga_pool", "198.18.1.101", "")
	url := "http://198.18.1.101/"
	m1, m2 := addrPort(t, tb, "server1", 80), addrPort(t, tb, "server2", 80)

	checkBurst(t, tb, "all up", url, 60, map[string]int{"server1": 20, "server2": 20, "server3": 20})
	checkGroups(t, app, "all up", "pga_pool", 10)

	execAll(t, app, fmt.Sprintf("modify ltm pool pga_pool members modify { %s { session user-disabled } %s { session user-disabled } }", m1, m2))
	checkBurst(t, tb, "server1 and server2 disabled", url, 60, map[string]int{"server3": 15, "server4": 15, "server5": 15, "server6": 15})
	checkGroups(t, app, "server1 and server2 disabled", "pga_pool", 10, 5)

	execAll(t, app, fmt.Sprintf("modify ltm pool pga_pool members modify { %s { session user-enabled } }", m2))
	checkBurst(t, tb, "server2 enabled again", url, 60, map[string]int{"server2": 30, "server3": 30})
	checkGroups(t, app, "server2 enabled again", "pga_pool", 10)
}

// The same story driven by a monitor: the servers of two 10s stop, the
// monitor marks them down and the 5s join; one restarts, comes up, and
// the 5s stop getting new connections.
func TestIntegrationPGAByMonitor(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	createNodes(t, tb, app)
	execAll(t, app, "create ltm monitor tcp pga_tcp defaults-from tcp interval 1 timeout 3")
	createPGAPool(t, tb, app, "pga_pool", "198.18.1.101", "monitor pga_tcp")
	url := "http://198.18.1.101/"
	for i := 1; i <= 6; i++ {
		waitMember(t, app, "pga_pool", serverMember(t, tb, fmt.Sprintf("server%d", i), 80), "up", 15*time.Second)
	}
	checkBurst(t, tb, "all up", url, 60, map[string]int{"server1": 20, "server2": 20, "server3": 20})
	checkGroups(t, app, "all up", "pga_pool", 10)

	for _, s := range []string{"server1", "server2"} {
		if err := tb.StopServer(s); err != nil {
			t.Fatal(err)
		}
	}
	// Down within timeout (3 s) after the last good probe, plus an
	// interval (1 s), plus 3 s for scheduling and show polling.
	for _, s := range []string{"server1", "server2"} {
		took := waitMember(t, app, "pga_pool", serverMember(t, tb, s, 80), "down", 7*time.Second)
		t.Logf("%s stopped: member down after %s", s, took.Round(time.Millisecond))
	}
	checkBurst(t, tb, "server1 and server2 down", url, 60, map[string]int{"server3": 15, "server4": 15, "server5": 15, "server6": 15})
	checkGroups(t, app, "server1 and server2 down", "pga_pool", 10, 5)

	if err := tb.StartServer("server2"); err != nil {
		t.Fatal(err)
	}
	took := waitMember(t, app, "pga_pool", serverMember(t, tb, "server2", 80), "up", 10*time.Second)
	t.Logf("server2 restarted: member up after %s", took.Round(time.Millisecond))
	checkBurst(t, tb, "server2 up again", url, 60, map[string]int{"server2": 30, "server3": 30})
	checkGroups(t, app, "server2 up again", "pga_pool", 10)
}

// heldConn is an idle keep-alive HTTP connection through a VIP.
type heldConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// least-connections-member with long-lived connections: while five idle
// keep-alive connections are open to server1, every new short connection
// goes to server2 (server2 holds at most the few short connections still
// closing, never five); once they close, server1 takes traffic again.
func TestIntegrationLeastConnections(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	m1, m2 := addrPort(t, tb, "server1", 80), addrPort(t, tb, "server2", 80)
	// server2 starts disabled, so the held connections all go to server1
	// whatever the tie-break.
	execAll(t, app,
		fmt.Sprintf("create ltm pool lc_pool load-balancing-mode least-connections-member slow-ramp-time 0 members add { %s %s { session user-disabled } }", m1, m2),
		"create ltm virtual vs_lc destination 198.18.1.101:80 ip-protocol tcp pool lc_pool source-address-translation { type automap }",
	)
	const held = 5
	var conns []heldConn
	defer func() {
		for _, c := range conns {
			c.conn.Close()
		}
	}()
	for i := range held {
		var c net.Conn
		if err := tb.In("client", func() error {
			var err error
			c, err = net.DialTimeout("tcp4", "198.18.1.101:80", 5*time.Second)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		hc := heldConn{c, bufio.NewReader(c)}
		conns = append(conns, hc)
		if got := ServerName(httpOnConn(t, hc.conn, hc.r)); got != "server1" {
			t.Fatalf("held connection %d answered by %s, want server1", i, got)
		}
	}
	curConns := func(member string) int {
		t.Helper()
		out, err := app.Exec("show ltm pool lc_pool members")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) >= 4 && f[0] == "/Common/"+member {
				n, err := strconv.Atoi(f[3])
				if err != nil {
					t.Fatalf("show ltm pool: Cur Conns of %s: %q:\n%s", member, f[3], out)
				}
				return n
			}
		}
		t.Fatalf("show ltm pool lc_pool lacks %s:\n%s", member, out)
		return 0
	}
	if n := curConns(m1); n != held {
		t.Errorf("server1 has %d current connections, want the %d held", n, held)
	}

	execAll(t, app, fmt.Sprintf("modify ltm pool lc_pool members modify { %s { session user-enabled } }", m2))
	checkBurst(t, tb, "5 idle connections held to server1", "http://198.18.1.101/", 20, map[string]int{"server2": 20})
	// The held connections were idle, not dead: each still answers.
	for i, c := range conns {
		if got := ServerName(httpOnConn(t, c.conn, c.r)); got != "server1" {
			t.Errorf("held connection %d now answered by %s", i, got)
		}
	}

	for _, c := range conns {
		c.conn.Close()
	}
	conns = nil
	// The closes pass through the appliance (FIN both ways): wait, bounded,
	// until server1's count is back to 0.
	deadline := time.Now().Add(3 * time.Second)
	for curConns(m1) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("server1 still has %d current connections 3s after the held ones closed", curConns(m1))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// With both at (about) zero, ties go round robin: server1 takes
	// traffic again. Consecutive ties alternate, so 10 requests cannot all
	// miss server1 unless it holds more connections than server2.
	got := countServers(t, tb, "http://198.18.1.101/", 10)
	t.Logf("held connections closed: 10 requests: %v", got)
	if got["server1"] == 0 || got["(failed)"] != 0 {
		t.Errorf("after the held connections closed, server1 should take new connections again: %v", got)
	}
}

// TestDefaultTopologyExtraServers: server4..6 exist, with their own
// addresses, and are in no pool of the default config.
func TestDefaultTopologyExtraServers(t *testing.T) {
	topo := DefaultTopology()
	for i, want := range []string{"198.18.2.15/24", "198.18.2.16/24", "198.18.2.17/24"} {
		name := fmt.Sprintf("server%d", i+4)
		h, ok := topo.Host(name)
		if !ok {
			t.Fatalf("no host %s", name)
		}
		if h.Addr.String() != want || h.NS != "lbx-"+name || h.SwEnd != "v-"+name || h.Pooled || h.Serve == nil {
			t.Errorf("%s: %+v", name, h)
		}
		if strings.Contains(DefaultConfig(), h.Addr.Addr().String()) {
			t.Errorf("the default config mentions %s", name)
		}
	}
	seen := map[string]string{}
	for _, h := range topo.Hosts {
		if other, dup := seen[h.Addr.Addr().String()]; dup {
			t.Errorf("%s and %s share %s", h.Name, other, h.Addr.Addr())
		}
		seen[h.Addr.Addr().String()] = h.Name
	}
}

// persistRecords is show ltm persistence persist-records.
func persistRecords(t *testing.T, app *ctlsock.Client) string {
	t.Helper()
	out, err := app.Exec("show ltm persistence persist-records")
	if err != nil {
		t.Fatalf("show ltm persistence persist-records: %v", err)
	}
	return out
}

// recordLine returns the line of records that names the client address,
// or "".
func recordLine(records, client string) string {
	re := regexp.MustCompile(`(^|[^0-9.])` + regexp.QuoteMeta(client) + `([^0-9.]|$)`)
	for _, l := range strings.Split(records, "\n") {
		if re.MatchString(l) {
			return l
		}
	}
	return ""
}

// Source-address persistence holds the client on one member of a
// round-robin pool across connections, and across a change of the active
// priority groups; the record shows, and deleting it lets the next
// connection be balanced again.
func TestIntegrationSourceAddressPersistence(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	createNodes(t, tb, app)
	createPGAPool(t, tb, app, "per_pool", "198.18.1.103", "")
	execAll(t, app,
		"create ltm persistence source-addr sa defaults-from source_addr timeout 60",
		"modify ltm virtual vs_per_pool persist replace-all-with { sa }",
		// The same pool without persistence, to see what balancing alone does.
		"create ltm virtual vs_plain destination 198.18.1.104:80 ip-protocol tcp pool per_pool source-address-translation { type automap }",
	)
	const url, plain = "http://198.18.1.103/", "http://198.18.1.104/"
	client := tb.Topo.Hosts[0].Addr.Addr().String()

	got := countServers(t, tb, url, 20)
	t.Logf("persisted: 20 requests: %v", got)
	var held string
	for s := range got {
		held = s
	}
	if len(got) != 1 || !slices.Contains([]string{"server1", "server2", "server3"}, held) {
		t.Fatalf("20 requests from one client with source-address persistence: %v; want all on one member of priority group 10", got)
	}
	records := persistRecords(t, app)
	t.Logf("show ltm persistence persist-records:\n%s", records)
	line := recordLine(records, client)
	heldAddr := addrPort(t, tb, held, 80)
	hasField := func(line string, values ...string) bool {
		for _, f := range strings.Fields(line) {
			if slices.Contains(values, strings.TrimPrefix(f, "/Common/")) {
				return true
			}
		}
		return false
	}
	if line == "" || !hasField(line, heldAddr) || !hasField(line, "vs_per_pool", "198.18.1.103:80") || !hasField(line, "per_pool") {
		t.Errorf("persist-records should list client %s, virtual vs_per_pool, pool per_pool, member %s:\n%s", client, heldAddr, records)
	}

	// Disable the two other members of group 10: group 5 joins, as the
	// virtual without persistence shows (round robin over four), but the
	// persisted client stays on its member.
	var others []string
	for _, s := range []string{"server1", "server2", "server3"} {
		if s != held {
			others = append(others, s)
		}
	}
	execAll(t, app, fmt.Sprintf("modify ltm pool per_pool members modify { %s { session user-disabled } %s { session user-disabled } }",
		addrPort(t, tb, others[0], 80), addrPort(t, tb, others[1], 80)))
	checkBurst(t, tb, "two of group 10 disabled, no persistence", plain, 60, map[string]int{held: 15, "server4": 15, "server5": 15, "server6": 15})
	checkBurst(t, tb, "two of group 10 disabled, persisted", url, 20, map[string]int{held: 20})

	// Deleting the record: it is gone, and the next connections are
	// balanced again. Two fresh selections over four candidates in a row
	// are two different members (round robin), so deleting before each of
	// a few requests must spread them.
	execAll(t, app, "delete ltm persistence persist-records")
	if records := persistRecords(t, app); recordLine(records, client) != "" {
		t.Errorf("persist record of %s still listed after delete:\n%s", client, records)
	}
	seen := map[string]int{}
	for range 4 {
		name, err := tb.Get(t.Context(), "client", url)
		if err != nil || name == "" {
			t.Fatalf("request after deleting the record: %q, %v", name, err)
		}
		seen[name]++
		if line := recordLine(persistRecords(t, app), client); !hasField(line, addrPort(t, tb, name, 80)) {
			t.Errorf("after a request answered by %s, the new record is %q", name, line)
		}
		execAll(t, app, "delete ltm persistence persist-records")
	}
	t.Logf("a fresh record before each of 4 requests: %v", seen)
	if len(seen) < 2 {
		t.Errorf("with the record deleted before each request, 4 requests went to %v; want them balanced over the active members", seen)
	}
}
