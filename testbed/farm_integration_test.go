package testbed

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"lbx/farm"
)

// farmUp makes a farm topology of n hosts for a test, torn down at its end.
func farmUp(t *testing.T, n int, config []byte) *Farm {
	t.Helper()
	requireRoot(t)
	f, err := FarmUp(FarmOptions{Binary: lbxBinary, Dir: t.TempDir(), Members: n, Config: config})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, m := range f.Members {
				for _, l := range []string{"module.log", "userlog.log", "lbx.out"} {
					b, _ := os.ReadFile(filepath.Join(m.Module, "log", l))
					t.Logf("%s %s:\n%s", m.Name, l, b)
				}
			}
		}
		if err := f.Down(); err != nil {
			t.Errorf("farm down: %v", err)
		}
	})
	return f
}

func farmStatus(f *Farm, i int) (farm.Status, error) {
	var s farm.Status
	out, err := farm.Ctl(f.Members[i].Socket, "status json", 5*time.Second)
	if err != nil {
		return s, err
	}
	err = json.Unmarshal([]byte(out), &s)
	return s, err
}

// waitFarm polls member i's status until ok holds (at most limit).
func waitFarm(t *testing.T, f *Farm, i int, limit time.Duration, what string, ok func(farm.Status) bool) farm.Status {
	t.Helper()
	deadline := time.Now().Add(limit)
	var s farm.Status
	var err error
	for time.Now().Before(deadline) {
		s, err = farmStatus(f, i)
		if err == nil && ok(s) {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("farm member %d: %s not within %v: status %+v, %v", i, what, limit, s, err)
	return s
}

// settled: exactly the named members are UP, each owns the share the
// assignment gives it, and none drains.
func settled(names ...string) func(farm.Status) bool {
	share := farm.Share(farm.Assign(names))
	return func(s farm.Status) bool {
		up := 0
		for _, m := range s.Members {
			if m.State == "UP" {
				if !contains(names, m.Name) {
					return false
				}
				up++
			}
			if m.Draining > 0 || m.Buckets != share[m.Name] {
				return false
			}
		}
		return up == len(names)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var serverRE = regexp.MustCompile(`server=(s\d+)`)

// farmGet is one HTTP request to the VIP from the client address src
// (and source port sport, 0 for any) with curl; it returns the answering
// server's name.
func farmGet(src netip.Addr, sport int) (string, error) {
	args := []string{"-s", "--max-time", "10", "--interface", src.String()}
	if sport != 0 {
		args = append(args, "--local-port", fmt.Sprint(sport))
	}
	args = append(args, fmt.Sprintf("http://%s:%d/", FarmVIP, FarmPort))
	cmd := exec.Command("curl", args...)
	var out strings.Builder
	cmd.Stdout = &out
	if err := withNS(FarmClientNS, cmd.Run); err != nil {
		return "", fmt.Errorf("curl from %s:%d: %v (%q)", src, sport, err, out.String())
	}
	m := serverRE.FindStringSubmatch(out.String())
	if m == nil || strings.Count(out.String(), "server=") != 1 {
		return "", fmt.Errorf("curl from %s:%d: answer %q", src, sport, out.String())
	}
	return m[1], nil
}

// memberByName maps farm member names (ADDR:7946) to server names (sN).
func (f *Farm) serverOf(member string) string {
	for _, m := range f.Members {
		if m.MemberName() == member {
			return m.Name
		}
	}
	return "?"
}

// checkCapture: every connection to the VIP got exactly one SYN-ACK and no
// RST came from the VIP.
func checkCapture(t *testing.T, c *Capture) {
	t.Helper()
	pkts, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	synacks := map[netip.AddrPort]map[uint32]bool{}
	syns := map[netip.AddrPort]bool{}
	for _, p := range pkts {
		if p.Proto != ProtoTCP {
			continue
		}
		if p.Src.Addr() == FarmVIP && p.Flags&FlagRST != 0 {
			t.Errorf("RST from the VIP: %s", p)
		}
		if p.Src.Addr() == FarmVIP && p.Flags&(FlagSYN|FlagACK) == FlagSYN|FlagACK {
			if synacks[p.Dst] == nil {
				synacks[p.Dst] = map[uint32]bool{}
			}
			synacks[p.Dst][p.Seq] = true
		}
		if p.Dst.Addr() == FarmVIP && p.Flags&(FlagSYN|FlagACK) == FlagSYN {
			syns[p.Src] = true
		}
	}
	for c := range syns {
		if len(synacks[c]) != 1 {
			t.Errorf("connection from %s: %d different SYN-ACKs (sequence numbers %v), want 1", c, len(synacks[c]), synacks[c])
		}
	}
	if len(syns) == 0 {
		t.Error("capture saw no SYN")
	}
}

func startCapture(t *testing.T) *Capture {
	t.Helper()
	c, err := StartCapture(CaptureOptions{NS: FarmClientNS, Path: filepath.Join(t.TempDir(), "farm.pcap"), Ports: []uint16{uint16(FarmPort)}, MaxDuration: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

// spread makes one connection from each client address and checks it is
// answered by the owner of its bucket under members; it returns the
// server of each address.
func spread(t *testing.T, f *Farm, members []string) map[netip.Addr]string {
	t.Helper()
	owner := farm.Assign(members)
	got := map[netip.Addr]string{}
	count := map[string]int{}
	for i := range FarmClients {
		src := FarmClientAddr(i)
		srv, err := farmGet(src, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := f.serverOf(owner[farm.BucketOf(src, 0, farm.OnAddr)])
		if srv != want {
			t.Errorf("client %s answered by %s, its bucket's owner is %s", src, srv, want)
		}
		got[src] = srv
		count[srv]++
	}
	t.Logf("%d connections over %d members: %v", FarmClients, len(members), count)
	if len(count) != len(members) {
		t.Errorf("connections reached %d members, want all %d: %v", len(count), len(members), count)
	}
	return got
}

// keepConn is a keep-alive HTTP connection from the client namespace.
type keepConn struct {
	src  netip.Addr
	conn net.Conn
	r    *bufio.Reader
}

func openKeep(t *testing.T, src netip.Addr) *keepConn {
	t.Helper()
	var conn net.Conn
	err := withNS(FarmClientNS, func() error {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
		var err error
		conn, err = d.Dial("tcp", netip.AddrPortFrom(FarmVIP, uint16(FarmPort)).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &keepConn{src: src, conn: conn, r: bufio.NewReader(conn)}
}

// get sends one request on the connection and returns the server.
func (k *keepConn) get() (string, error) {
	k.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(k.conn, "GET / HTTP/1.1\r\nHost: farm\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(k.r, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := bufio.NewReader(resp.Body).WriteTo(&b); err != nil {
		return "", err
	}
	m := serverRE.FindStringSubmatch(b.String())
	if m == nil {
		return "", fmt.Errorf("answer %q", b.String())
	}
	return m[1], nil
}

// TestFarm runs the seed's module (userconfig.xml unchanged, its two
// macros set) on three members: 60 connections from 60 client addresses
// each answered once by its bucket's owner, over all three, no duplicate
// SYN-ACK and no RST in a capture on the client; a fourth member joins
// without breaking connections in flight; then one member stops
// gracefully and another is killed with kill -9: every new connection is
// still answered, only their buckets moved, and the survivors'
// established connections carry on.
func TestFarm(t *testing.T) {
	f := farmUp(t, 4, nil)
	names := func(idx ...int) []string {
		var n []string
		for _, i := range idx {
			n = append(n, f.Members[i].MemberName())
		}
		return n
	}
	for i := range 3 {
		if err := f.StartMember(i); err != nil {
			t.Fatal(err)
		}
	}
	waitFarm(t, f, 0, 60*time.Second, "three members UP", settled(names(0, 1, 2)...))
	s, _ := farmStatus(f, 0)
	t.Logf("status:\n%s", s.Text())

	capture := startCapture(t)
	before := spread(t, f, names(0, 1, 2))
	checkVMAC(t, s.VMAC)

	// Connections in flight before s4 joins: three in buckets that move
	// to s4, three in buckets that stay.
	var keeps []*keepConn
	joining := farm.Assign(names(0, 1, 2, 3))
	movers, stayers := 0, 0
	for i := range FarmClients {
		src := FarmClientAddr(i)
		moves := f.serverOf(joining[farm.BucketOf(src, 0, farm.OnAddr)]) == "s4"
		if (moves && movers < 3) || (!moves && stayers < 3) {
			if moves {
				movers++
			} else {
				stayers++
			}
			k := openKeep(t, src)
			if srv, err := k.get(); err != nil || srv != before[src] {
				t.Fatalf("keep-alive from %s: %s, %v; want %s", src, srv, err, before[src])
			}
			keeps = append(keeps, k)
		}
	}
	if err := f.StartMember(3); err != nil {
		t.Fatal(err)
	}
	// While the old owners drain, s4 owns its buckets as Take.
	waitFarm(t, f, 3, 60*time.Second, "s4 UP with buckets", func(s farm.Status) bool {
		for _, m := range s.Members {
			if m.Self && m.State == "UP" && m.Buckets > 0 {
				return true
			}
		}
		return false
	})
	joined := names(0, 1, 2, 3)
	after := farm.Assign(joined)
	moved := 0
	for _, k := range keeps {
		if f.serverOf(after[farm.BucketOf(k.src, 0, farm.OnAddr)]) == "s4" {
			moved++
		}
		srv, err := k.get()
		if err != nil || srv != before[k.src] {
			t.Errorf("connection in flight from %s after s4 joined: %s, %v; want %s", k.src, srv, err, before[k.src])
		}
	}
	t.Logf("%d of %d connections in flight were in buckets that moved to s4", moved, len(keeps))
	if moved == 0 {
		t.Error("no connection in flight was in a bucket that moved")
	}
	// s4 takes those buckets as Take while their old owners drain.
	if s, err := farmStatus(f, 0); err == nil {
		t.Logf("status while draining:\n%s", s.Text())
	}
	// New connections follow the new assignment at once.
	spread(t, f, joined)
	for _, k := range keeps {
		k.conn.Close()
	}
	waitFarm(t, f, 0, 30*time.Second, "four members settled", settled(joined...))

	// Established connections on the survivors (s1, s4) through the stop
	// and the kill.
	keeps = keeps[:0]
	owner := farm.Assign(joined)
	for i := range FarmClients {
		src := FarmClientAddr(i)
		if srv := f.serverOf(owner[farm.BucketOf(src, 0, farm.OnAddr)]); (srv == "s1" || srv == "s4") && len(keeps) < 4 {
			k := openKeep(t, src)
			if got, err := k.get(); err != nil || got != srv {
				t.Fatalf("keep-alive from %s: %s, %v; want %s", src, got, err, srv)
			}
			keeps = append(keeps, k)
		}
	}
	if out, err := f.Ctl(1, "stop"); err != nil {
		t.Fatalf("farm stop on s2: %v", err)
	} else {
		t.Logf("lbx farm stop on s2: %s", strings.TrimSpace(out))
	}
	waitFarm(t, f, 0, 30*time.Second, "s2's buckets moved", settled(names(0, 2, 3)...))
	killed := time.Now()
	if err := f.SignalMember(2, syscall.SIGKILL, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitFarm(t, f, 0, 30*time.Second, "s3's buckets moved after kill -9", func(s farm.Status) bool {
		for _, m := range s.Members {
			if m.Name == f.Members[2].MemberName() {
				return false
			}
		}
		return settled(names(0, 3)...)(s)
	})
	t.Logf("failover: s3 killed → its buckets owned by the survivors in %v", time.Since(killed).Round(10*time.Millisecond))
	last := spread(t, f, names(0, 3))
	for src, srv := range last {
		prev := f.serverOf(owner[farm.BucketOf(src, 0, farm.OnAddr)])
		if (prev == "s1" || prev == "s4") && srv != prev {
			t.Errorf("client %s moved from surviving %s to %s", src, prev, srv)
		}
	}
	for _, k := range keeps {
		want := f.serverOf(owner[farm.BucketOf(k.src, 0, farm.OnAddr)])
		if srv, err := k.get(); err != nil || srv != want {
			t.Errorf("established connection from %s on %s after stop and kill: %s, %v", k.src, want, srv, err)
		}
	}
	checkCapture(t, capture)
	s, _ = farmStatus(f, 0)
	t.Logf("status:\n%s", s.Text())

	// s2 starts again and takes its share back.
	if _, err := f.Ctl(1, "start"); err != nil {
		t.Fatalf("farm start on s2: %v", err)
	}
	waitFarm(t, f, 0, 60*time.Second, "s2 UP again", settled(names(0, 1, 3)...))
	spread(t, f, names(0, 1, 3))
}

// TestFarmOnPort: with filter="on_port", 60 connections from one client
// address and 60 source ports are spread by address and port.
func TestFarmOnPort(t *testing.T) {
	cfg := strings.Replace(string(FarmUserConfig), `filter="on_addr"`, `filter="on_port"`, 1)
	f := farmUp(t, 3, []byte(cfg))
	var members []string
	for i := range 3 {
		if err := f.StartMember(i); err != nil {
			t.Fatal(err)
		}
		members = append(members, f.Members[i].MemberName())
	}
	waitFarm(t, f, 0, 60*time.Second, "three members UP", settled(members...))
	capture := startCapture(t)
	owner := farm.Assign(members)
	src := FarmClientAddr(0)
	count := map[string]int{}
	for p := 41000; p < 41000+60; p++ {
		srv, err := farmGet(src, p)
		if err != nil {
			t.Fatal(err)
		}
		if want := f.serverOf(owner[farm.BucketOf(src, uint16(p), farm.OnPort)]); srv != want {
			t.Errorf("%s:%d answered by %s, its bucket's owner is %s", src, p, srv, want)
		}
		count[srv]++
	}
	t.Logf("60 source ports of %s over the members: %v", src, count)
	if len(count) != 3 {
		t.Errorf("ports of one address reached %d members, want 3", len(count))
	}
	checkCapture(t, capture)
}

// TestFarmChecker: the checker sees the service die; the member goes
// WAIT, runs stop_both and start_both (logged in the application log) and
// is UP again; when the restart does not bring the service back, after
// maxloop restarts the member goes STOP and the other takes every bucket.
func TestFarmChecker(t *testing.T) {
	cfg := string(FarmUserConfig)
	cfg = strings.Replace(cfg, `maxloop="3" loop_interval="24"`, `maxloop="2" loop_interval="1"`, 1)
	cfg = strings.Replace(cfg, `interval="10"`, `interval="1"`, 1)
	cfg = strings.Replace(cfg, `timeout="5"`, `timeout="1"`, 1)
	f := farmUp(t, 2, []byte(cfg))
	members := []string{f.Members[0].MemberName(), f.Members[1].MemberName()}
	for i := range 2 {
		if err := f.StartMember(i); err != nil {
			t.Fatal(err)
		}
	}
	waitFarm(t, f, 1, 60*time.Second, "two members UP", settled(members...))
	f.KillServer(0)
	waitFarm(t, f, 1, 30*time.Second, "s1 restarted once", func(s farm.Status) bool {
		for _, m := range s.Members {
			if m.Name == members[0] && m.Restarts == 1 && m.State == "UP" {
				return true
			}
		}
		return false
	})
	spread(t, f, members)
	// Broken: start_both no longer starts the server.
	if err := os.WriteFile(filepath.Join(f.Members[0].Module, "broken"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f.KillServer(0)
	waitFarm(t, f, 1, 60*time.Second, "s1 STOP after maxloop, s2 owns all", func(s farm.Status) bool {
		for _, m := range s.Members {
			if m.Name == members[0] && m.State != "STOP" {
				return false
			}
		}
		return settled(members[1])(s)
	})
	for i := range FarmClients {
		if srv, err := farmGet(FarmClientAddr(i), 0); err != nil || srv != "s2" {
			t.Fatalf("after s1 stopped: %s, %v", srv, err)
		}
	}
	// <interface check="on">: s2's LAN interface down puts it in WAIT
	// (no restart), up again brings it back.
	selfState := func(want string) func(farm.Status) bool {
		return func(s farm.Status) bool {
			for _, m := range s.Members {
				if m.Self {
					return m.State == want
				}
			}
			return false
		}
	}
	if err := farmExec(f.Members[1].NS, "ip", "link", "set", "eth0", "down"); err != nil {
		t.Fatal(err)
	}
	waitFarm(t, f, 1, 30*time.Second, "s2 WAIT with its interface down", selfState("WAIT"))
	if err := farmExec(f.Members[1].NS, "ip", "link", "set", "eth0", "up"); err != nil {
		t.Fatal(err)
	}
	waitFarm(t, f, 1, 30*time.Second, "s2 UP with its interface up", func(s farm.Status) bool {
		return selfState("UP")(s) && settled(members[1])(s)
	})
	if s, _ := farmStatus(f, 1); s.Members[len(s.Members)-1].Restarts != 0 {
		t.Errorf("interface down restarted s2: %+v", s.Members)
	}
	modlog, _ := os.ReadFile(filepath.Join(f.Members[0].Module, "log", "module.log"))
	applog, _ := os.ReadFile(filepath.Join(f.Members[0].Module, "log", "userlog.log"))
	for _, want := range []string{"checker failed", "state UP → WAIT: restart 1 of 2", "state WAIT → UP: checkers pass", "state UP → WAIT: restart 2 of 2", "state WAIT → STOP: maxloop: 2 restarts within 1h0m0s"} {
		if !strings.Contains(string(modlog), want) {
			t.Errorf("module log lacks %q:\n%s", want, modlog)
		}
	}
	for _, want := range []string{"Running start_both", "start_both: server started", "Running stop_both", "start_both: broken, not starting the server"} {
		if !strings.Contains(string(applog), want) {
			t.Errorf("application log lacks %q:\n%s", want, applog)
		}
	}
}

// TestFarmDemo runs `lbx demo farm`'s story: spread over three, s2
// stopped takes no request, s2 back.
func TestFarmDemo(t *testing.T) {
	requireRoot(t)
	var out strings.Builder
	if err := FarmDemo(t.Context(), &out, lbxBinary, t.TempDir()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`three members UP: 30 requests from 30 client addresses: s1 [1-9]\d*, s2 [1-9]\d*, s3 [1-9]\d*`),
		regexp.MustCompile(`s2 stopped: 30 requests from 30 client addresses: s1 \d+, s2 0, s3 \d+`),
		regexp.MustCompile(`198.18.70.12:7946 +STOP +0`),
		regexp.MustCompile(`s2 back: 30 requests from 30 client addresses: s1 [1-9]\d*, s2 [1-9]\d*, s3 [1-9]\d*`),
	} {
		if !want.MatchString(out.String()) {
			t.Errorf("demo output lacks %v:\n%s", want, out.String())
		}
	}
}

// checkVMAC: the client resolved the VIP to the virtual MAC, and the
// farm's bridge never learnt it (no member sends from it), so it floods
// the VIP's frames to every member.
func checkVMAC(t *testing.T, vmac string) {
	t.Helper()
	neigh, err := farmOutput(FarmClientNS, "ip", "neigh", "show", FarmVIP.String())
	if err != nil || !strings.Contains(neigh, "lladdr "+vmac) {
		t.Errorf("client's neighbour entry for the VIP: %q, %v; want lladdr %s", neigh, err, vmac)
	}
	fdb, err := farmOutput(FarmSwitchNS, "bridge", "fdb", "show", "br", farmBridge)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(fdb, vmac) {
		t.Errorf("the bridge learnt the virtual MAC:\n%s", fdb)
	}
}

func farmOutput(ns string, argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	err := withNS(ns, cmd.Run)
	return out.String(), err
}
