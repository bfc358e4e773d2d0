package testbed

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lbxBinary is built once by TestMain: the testbed runs the appliance and
// the emulated servers as real processes of the real binary.
var lbxBinary string

func TestMain(m *testing.M) {
	code := func() int {
		if os.Geteuid() == 0 {
			dir, err := os.MkdirTemp("", "lbx-testbed-bin")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			lbxBinary = filepath.Join(dir, "lbx")
			if b := os.Getenv("LBX_TESTBED_BINARY"); b != "" {
				// A prebuilt binary, e.g. an older build for an A/B
				// profile (tapprofile_test.go).
				lbxBinary = b
			} else if out, err := exec.Command("go", "build", "-o", lbxBinary, "lbx/cmd/lbx").CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "build lbx: %v\n%s", err, out)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// requireRoot skips a namespace test when not root, except in CI where a
// test that cannot run is a failure.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("namespace tests need root, and CI=true forbids skipping them")
	}
	t.Skip("namespace tests need root")
}

// testPortDriver is the appliance's port driver for the integration
// tests: $LBX_TESTBED_PORT_DRIVER (tap or afxdp), tap when unset. `make
// test` runs the suite on tap and a subset on afxdp (see README).
func testPortDriver() string {
	if d := os.Getenv("LBX_TESTBED_PORT_DRIVER"); d != "" {
		return d
	}
	return "tap"
}

// upTestbed brings the default testbed up with a private state dir and
// socket, and tears it down when the test ends, pass or fail.
func upTestbed(t *testing.T) *Testbed {
	t.Helper()
	requireRoot(t)
	dir := t.TempDir()
	tb, err := Up(Options{
		Binary:     lbxBinary,
		StateDir:   filepath.Join(dir, "state"),
		Socket:     filepath.Join(dir, "lbx.sock"),
		PortDriver: testPortDriver(),
	})
	if err != nil {
		t.Fatalf("testbed up: %v", err)
	}
	t.Cleanup(func() {
		if err := tb.Down(); err != nil {
			t.Errorf("testbed down: %v", err)
		}
	})
	return tb
}

func curl(t *testing.T, tb *Testbed, args ...string) string {
	t.Helper()
	c, err := tb.Command("client", append([]string{"curl", "-sS", "--max-time", "5"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	return string(out)
}

func TestIntegrationRoundRobinHTTP(t *testing.T) {
	tb := upTestbed(t)
	url := "http://" + tb.Topo.VIP.String() + "/"
	var got []string
	for i := range 30 {
		name := ServerName(curl(t, tb, url))
		if name == "" {
			t.Fatalf("request %d: no server name in answer", i)
		}
		got = append(got, name)
	}
	// Round robin: the first three are the three servers, then it repeats.
	seen := map[string]bool{}
	for _, n := range got[:3] {
		seen[n] = true
	}
	if len(seen) != 3 {
		t.Fatalf("first three answers %v: want three different servers", got[:3])
	}
	for i := 3; i < len(got); i++ {
		if got[i] != got[i-3] {
			t.Fatalf("answer %d is %s, want %s (strict rotation); all answers: %v", i, got[i], got[i-3], got)
		}
	}
	out, err := tb.Client().Exec("show ltm virtual /Common/vs_http")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Total Connections\s+30\n`).MatchString(out) {
		t.Errorf("show ltm virtual does not count 30 connections:\n%s", out)
	}
	// Every curl closed its connection with FINs both ways. curl exits
	// once it has sent its FIN, so the server's FIN may still be on the
	// wire: give the close a bounded moment to pass through the appliance.
	closed := regexp.MustCompile(`Current Connections\s+0\n`)
	for i := 0; i < 40 && !closed.MatchString(out); i++ {
		time.Sleep(50 * time.Millisecond)
		if out, err = tb.Client().Exec("show ltm virtual /Common/vs_http"); err != nil {
			t.Fatal(err)
		}
	}
	if !closed.MatchString(out) {
		t.Errorf("show ltm virtual still counts open connections 2s after the last close:\n%s", out)
	}
}

func TestIntegrationKeepAliveStaysOnOneServer(t *testing.T) {
	tb := upTestbed(t)
	url := "http://" + tb.Topo.VIP.String() + "/"
	// One curl with five URLs reuses one connection.
	out := curl(t, tb, url, url, url, url, url)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("got %d answers, want 5:\n%s", len(lines), out)
	}
	for _, l := range lines[1:] {
		if l != lines[0] { // same server, and the same peer address:port
			t.Fatalf("keep-alive requests answered differently:\n%s", out)
		}
	}
}

func TestIntegrationPingVIPAndSelf(t *testing.T) {
	tb := upTestbed(t)
	for _, dst := range []string{tb.Topo.VIP.String(), "198.18.1.2"} {
		c, err := tb.Command("client", "ping", "-c", "2", "-W", "2", dst)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Output()
		if err != nil {
			t.Fatalf("ping %s: %v\n%s", dst, err, out)
		}
		if !strings.Contains(string(out), "2 received") {
			t.Fatalf("ping %s: want 2 replies:\n%s", dst, out)
		}
	}
	out, err := tb.Client().Exec("show sys dataplane")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`port\.lbx-ext\.icmp_echo_replies\s+4\n`).MatchString(out) {
		t.Errorf("show sys dataplane does not count the 4 echo replies:\n%s", out)
	}
}

var peerRe = regexp.MustCompile(`peer=([0-9.]+):\d+`)

func TestIntegrationSNATAutomapAndNone(t *testing.T) {
	tb := upTestbed(t)
	url := "http://" + tb.Topo.VIP.String() + "/"
	peer := func() string {
		m := peerRe.FindStringSubmatch(curl(t, tb, url))
		if m == nil {
			t.Fatal("no peer in answer")
		}
		return m[1]
	}
	if got := peer(); got != "198.18.2.2" {
		t.Errorf("with SNAT automap the server saw %s, want the self IP 198.18.2.2", got)
	}
	if _, err := tb.Client().Exec("modify ltm virtual vs_http source-address-translation { type none }"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got := peer(); got != "198.18.1.10" {
			t.Errorf("without SNAT the server saw %s, want the client 198.18.1.10", got)
		}
	}
}

func TestIntegrationUDPEcho(t *testing.T) {
	tb := upTestbed(t)
	var conn net.Conn
	err := tb.In("client", func() error {
		var err error
		conn, err = net.Dial("udp4", tb.Topo.VIP.String()+":7")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 1500)
	seen := map[string]bool{}
	for i := range 3 {
		// Each datagram from the same socket is one flow: one server.
		msg := fmt.Sprintf("hello %d", i)
		var n int
		for attempt := 0; attempt < 5; attempt++ { // UDP may lose the first datagram to ARP
			conn.SetDeadline(time.Now().Add(time.Second))
			if _, err := conn.Write([]byte(msg)); err != nil {
				t.Fatal(err)
			}
			if n, err = conn.Read(buf); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("no echo for %q: %v", msg, err)
		}
		reply := string(buf[:n])
		name, rest, _ := strings.Cut(reply, " ")
		if rest != msg || !strings.HasPrefix(name, "server") {
			t.Fatalf("echo %q: got %q", msg, reply)
		}
		seen[name] = true
	}
	if len(seen) != 1 {
		t.Errorf("one UDP flow answered by %v; want one server", seen)
	}
}

// dialVIP opens a TCP connection from the client host to the VIP's port 80.
func dialVIP(t *testing.T, tb *Testbed) net.Conn {
	t.Helper()
	var conn net.Conn
	if err := tb.In("client", func() error {
		var err error
		conn, err = net.DialTimeout("tcp4", tb.Topo.VIP.String()+":80", 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return conn
}

// oneRequest sends one HTTP/1.1 request on an open connection and returns
// the answer's line (server, its address and the peer it saw).
func oneRequest(conn net.Conn, r *bufio.Reader) (string, error) {
	conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: vip\r\n\r\n")); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	if ServerName(string(body)) == "" {
		return "", fmt.Errorf("answer %q names no server", body)
	}
	return strings.TrimSpace(string(body)), nil
}

// httpOnConn is oneRequest that fails the test on error.
func httpOnConn(t *testing.T, conn net.Conn, r *bufio.Reader) string {
	t.Helper()
	line, err := oneRequest(conn, r)
	if err != nil {
		t.Fatalf("request on established connection: %v", err)
	}
	return line
}

// Changes to other objects take effect on live traffic and leave an
// established flow of an untouched virtual server alone.
func TestIntegrationLiveChangesKeepEstablishedFlows(t *testing.T) {
	tb := upTestbed(t)
	conn := dialVIP(t, tb)
	defer conn.Close()
	r := bufio.NewReader(conn)
	first := httpOnConn(t, conn, r)
	app := tb.Client()
	execAll(t, app,
		"create ltm pool /Common/alt_pool members add { 198.18.2.13:80 }",
		"create ltm virtual /Common/vs_alt destination 198.18.1.101:80 ip-protocol tcp pool /Common/alt_pool source-address-translation { type automap }",
		"modify ltm pool /Common/udp_pool members delete { 198.18.2.11:7 }",
		"modify ltm pool /Common/web_pool members delete { 198.18.2.11:80 198.18.2.12:80 198.18.2.13:80 } members add { 198.18.2.11:80 }",
	)
	// The new virtual carries traffic at once.
	if got := ServerName(curl(t, tb, "http://198.18.1.101/")); got != "server3" {
		t.Errorf("new virtual answered by %q, want server3", got)
	}
	// New connections to the modified pool go to its one remaining member.
	if got := ServerName(curl(t, tb, "http://"+tb.Topo.VIP.String()+"/")); got != "server1" {
		t.Errorf("modified pool answered by %q, want server1", got)
	}
	// The established connection still reaches the member it started on.
	if second := httpOnConn(t, conn, r); second != first {
		t.Errorf("established connection moved: first %q, then %q", first, second)
	}
	// A failing command changes nothing.
	if _, err := app.Exec("create ltm virtual /Common/vs_bad destination 198.18.1.102:80 pool /Common/nope"); err == nil {
		t.Fatal("virtual with a missing pool was accepted")
	}
	if second := httpOnConn(t, conn, r); second != first {
		t.Errorf("after a failed command the connection moved: %q", second)
	}
	// Deleting the virtual ends its flows.
	if _, err := app.Exec("delete ltm virtual /Common/vs_http"); err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	conn.Write([]byte("GET / HTTP/1.1\r\nHost: vip\r\n\r\n"))
	if _, err := http.ReadResponse(r, nil); err == nil {
		t.Error("a deleted virtual still answered on its old connection")
	}
}

// `lbx testbed down` cleans up after a run that crashed and left its
// namespaces and processes behind.
func TestIntegrationDownAfterCrash(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	tb, err := Up(Options{Binary: lbxBinary, StateDir: state, Socket: filepath.Join(dir, "lbx.sock")})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Down() // a no-op when the crash recovery below worked
	// The appliance dies hard; the process that built the testbed is gone
	// too, so only the state file and the namespaces are left.
	for _, p := range tb.State.Procs {
		if p.Name == "appliance" {
			syscall.Kill(p.PID, syscall.SIGKILL)
			tb.cmds[p.PID].Wait()
		}
	}
	if err := Down(state, nil); err != nil {
		t.Fatalf("down after crash: %v", err)
	}
	for _, ns := range tb.Topo.Namespaces() {
		if nsExists(ns) {
			t.Errorf("namespace %s left after down", ns)
		}
	}
	for _, p := range tb.State.Procs {
		if c := tb.cmds[p.PID]; c != nil && p.Name != "appliance" {
			c.Wait() // reap; Down already signalled them
		}
		if alive(p.PID) {
			t.Errorf("%s (pid %d) still running", p.Name, p.PID)
		}
	}
}

func TestIntegrationDownRemovesEverything(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	tb, err := Up(Options{Binary: lbxBinary, StateDir: filepath.Join(dir, "state"), Socket: filepath.Join(dir, "lbx.sock")})
	if err != nil {
		t.Fatal(err)
	}
	pids := tb.State.Procs
	if err := tb.Down(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range tb.Topo.Namespaces() {
		if strings.Contains(string(out), ns) {
			t.Errorf("namespace %s still present after down:\n%s", ns, out)
		}
	}
	links, err := exec.Command("ip", "-o", "link").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lbx-ext", "lbx-int", "br-client", "br-server", "v-client", "v-server1"} {
		if strings.Contains(string(links), name) {
			t.Errorf("link %s still present after down", name)
		}
	}
	for _, p := range pids {
		if alive(p.PID) {
			t.Errorf("process %s (pid %d) still running after down", p.Name, p.PID)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "lbx.sock")); !os.IsNotExist(err) {
		t.Errorf("control socket still present after down: %v", err)
	}
}
