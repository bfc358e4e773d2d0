package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"lbx/ctrlplane/ctlsock"
	"lbx/testbed"
)

// Ports every contender serves the workloads on (the client connects to
// target.Addr on them; the servers listen on them too).
const (
	httpPort = 80   // the servers' emulated HTTP
	udpPort  = 9    // the bench's UDP sink in each server namespace
	bulkPort = 5201 // iperf3 -s in each server namespace
	// tlsPort is where the L7 contenders terminate TLS. Not 443: on hosts
	// whose bridges pass through iptables, a transparent egress proxy may
	// take port 443 connections that carry an SNI name.
	tlsPort = 8443
)

// The lbx contenders' HTTP virtuals (the L7 workloads) are on addresses of
// their own, beside their layer-4 virtuals.
var (
	lbxTapL7 = netip.MustParseAddr("198.18.1.110")
	lbxXDPL7 = netip.MustParseAddr("198.18.1.212")
)

// peerSpec is where a peer sits: a namespace with one leg on each segment.
// The addresses collide with nothing in testbed/topology.go (client .10,
// self IPs .2, VIP .100, servers 198.18.2.11-17).
type peerSpec struct {
	NS     string
	VIP    netip.Prefix // on eth0 (br-client); the address clients connect to
	Inside netip.Prefix // on eth1 (br-server); the source the servers see
	SwExt  string       // veth ends on the bridges
	SwInt  string
	XSK    bool // the links are an AF_XDP lbx's ports: no kernel address
}

var (
	nftPeer = peerSpec{
		NS:     "lbx-bench-nft",
		VIP:    netip.MustParsePrefix("198.18.1.200/24"),
		Inside: netip.MustParsePrefix("198.18.2.200/24"),
		SwExt:  "v-bnft-c", SwInt: "v-bnft-s",
	}
	haproxyPeer = peerSpec{
		NS:     "lbx-bench-haproxy",
		VIP:    netip.MustParsePrefix("198.18.1.201/24"),
		Inside: netip.MustParsePrefix("198.18.2.201/24"),
		SwExt:  "v-bhap-c", SwInt: "v-bhap-s",
	}
	// xdpPeer is a second lbx, its ports on AF_XDP; VIP is its virtual
	// address and the self IPs are xdpSelfExt and Inside.
	xdpPeer = peerSpec{
		NS:     "lbx-bench-xdp",
		VIP:    netip.MustParsePrefix("198.18.1.202/24"),
		Inside: netip.MustParsePrefix("198.18.2.3/24"),
		SwExt:  "v-bxdp-c", SwInt: "v-bxdp-s",
		XSK: true,
	}
	routePeer = peerSpec{
		NS:     "lbx-bench-route",
		VIP:    netip.MustParsePrefix("198.18.1.203/24"),
		Inside: netip.MustParsePrefix("198.18.2.203/24"),
		SwExt:  "v-brt-c", SwInt: "v-brt-s",
	}
	haproxyHTTPPeer = peerSpec{
		NS:     "lbx-bench-haphttp",
		VIP:    netip.MustParsePrefix("198.18.1.204/24"),
		Inside: netip.MustParsePrefix("198.18.2.204/24"),
		SwExt:  "v-bhh-c", SwInt: "v-bhh-s",
	}
	peerSpecs = []peerSpec{xdpPeer, nftPeer, haproxyPeer, haproxyHTTPPeer, routePeer}

	xdpSelfExt = netip.MustParsePrefix("198.18.1.3/24")
	// The AF_XDP lbx's port MACs (the testbed's lbx has ...:02).
	xdpMACs = [2]string{"02:00:5e:10:01:03", "02:00:5e:10:02:03"}
)

func (s peerSpec) links() []testbed.PeerLink {
	ext := s.VIP
	if s.XSK {
		ext = xdpSelfExt
	}
	return []testbed.PeerLink{
		{Bridge: "br-client", SwEnd: s.SwExt, Name: "eth0", Addr: ext, XSK: s.XSK},
		{Bridge: "br-server", SwEnd: s.SwInt, Name: "eth1", Addr: s.Inside, XSK: s.XSK},
	}
}

// nftRuleset is the kernel peer: DNAT of the HTTP and UDP ports to the
// servers in turn (numgen inc mod N, evaluated once per flow since only a
// flow's first packet traverses a nat chain), the bulk port to bulk (one
// server: iperf3's control and data connections must meet the same
// server), and SNAT of that traffic to the router's server-side address,
// as lbx's SNAT automap does.
func nftRuleset(vip netip.Addr, servers []netip.Addr, bulk, snat netip.Addr, outIf string) string {
	var m []string
	for i, s := range servers {
		m = append(m, fmt.Sprintf("%d : %s", i, s))
	}
	spread := fmt.Sprintf("numgen inc mod %d map { %s }", len(servers), strings.Join(m, ", "))
	return fmt.Sprintf(`table ip lbx_bench {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr %s tcp dport %d dnat to %s
		ip daddr %s udp dport %d dnat to %s
		ip daddr %s tcp dport %d dnat to %s
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname %q ct status dnat snat to %s
	}
}
`, vip, httpPort, spread, vip, udpPort, spread, vip, bulkPort, bulk, outIf, snat)
}

// haproxyConfig is the proxy peer in mode ("tcp" or "http"): round robin
// over the servers, connecting from its server-side address; in tcp mode
// also the bulk port to one server. Threads are HAProxy's default (one
// per CPU). No health checks, as lbx's pools have no monitor. HTTP mode
// keeps both sides' connections alive (http-keep-alive, HAProxy's
// default; server connections reused across clients, http-reuse safe,
// its default, as lbx's one-connect) and adds no header; with pem (the
// certificate and key in one file) it also terminates TLS on tlsPort
// for the same servers, pinned to TLS 1.3, TLS_AES_128_GCM_SHA256 and
// X25519: what lbx's Go TLS server chooses for OpenSSL's default client.
func haproxyConfig(mode string, vip netip.Addr, servers []netip.Addr, bulk, source netip.Addr, pem string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
	maxconn 4096

defaults
	mode %s
	timeout connect 2s
	timeout client 30s
	timeout server 30s

frontend bench
	bind %s:%d
	default_backend servers

backend servers
	balance roundrobin
	source %s
`, mode, vip, httpPort, source)
	for i, s := range servers {
		fmt.Fprintf(&b, "\tserver s%d %s:%d\n", i+1, s, httpPort)
	}
	if mode == "http" && pem != "" {
		fmt.Fprintf(&b, `
frontend bench_tls
	bind %s:%d ssl crt %s ssl-min-ver TLSv1.3 ciphersuites %s curves %s
	default_backend servers
`, vip, tlsPort, pem, tlsSuite, tlsGroup)
	}
	if mode == "tcp" {
		fmt.Fprintf(&b, `
frontend bulk
	bind %s:%d
	default_backend bulk

backend bulk
	source %s
	server b1 %s:%d
`, vip, bulkPort, source, bulk, bulkPort)
	}
	return b.String()
}

// The TLS parameters of the l7-tls workload, the same at every contender
// (checkTLS verifies what each negotiates).
const (
	tlsVersion = "TLSv1.3"
	tlsSuite   = "TLS_AES_128_GCM_SHA256"
	tlsGroup   = "X25519"
)

// lbxScript is the tmsh push that makes an lbx a contender at vip: the
// layer-4 HTTP virtual (unless the boot config has it already), a UDP
// virtual on the sink port over the servers, and the bulk virtual to one
// server, each with SNAT automap; and at l7 the HTTP virtuals of the L7
// workloads: a full proxy (http and oneconnect profiles) on httpPort and
// the same with client-ssl (cert and key: PEM files) on tlsPort.
func lbxScript(vip, l7 netip.Addr, servers []netip.Addr, bulk netip.Addr, withHTTP bool, cert, key string) string {
	members := func(port int) string {
		var m []string
		for _, s := range servers {
			m = append(m, fmt.Sprintf("%s:%d", s, port))
		}
		return strings.Join(m, " ")
	}
	var lines []string
	vs := func(name string, port int, proto, pool string) {
		lines = append(lines, fmt.Sprintf("create ltm virtual /Common/%s destination %s:%d ip-protocol %s pool /Common/%s profiles add { /Common/fastL4 } source-address-translation { type automap }",
			name, vip, port, proto, pool))
	}
	if withHTTP {
		lines = append(lines, "create ltm pool /Common/bench_web load-balancing-mode round-robin members add { "+members(httpPort)+" }")
		vs("bench_http", httpPort, "tcp", "bench_web")
	}
	lines = append(lines, "create ltm pool /Common/bench_udp load-balancing-mode round-robin members add { "+members(udpPort)+" }")
	vs("bench_udp", udpPort, "udp", "bench_udp")
	lines = append(lines, fmt.Sprintf("create ltm pool /Common/bench_bulk members add { %s:%d }", bulk, bulkPort))
	vs("bench_bulk", bulkPort, "tcp", "bench_bulk")
	lines = append(lines,
		"create ltm pool /Common/bench_l7 load-balancing-mode round-robin members add { "+members(httpPort)+" }",
		fmt.Sprintf("create ltm profile client-ssl /Common/bench_ssl cert %s key %s", cert, key),
		fmt.Sprintf("create ltm virtual /Common/bench_l7 destination %s:%d ip-protocol tcp pool /Common/bench_l7 profiles { /Common/tcp /Common/http /Common/oneconnect } source-address-translation { type automap }", l7, httpPort),
		fmt.Sprintf("create ltm virtual /Common/bench_l7s destination %s:%d ip-protocol tcp pool /Common/bench_l7 profiles { /Common/tcp /Common/http /Common/oneconnect /Common/bench_ssl } source-address-translation { type automap }", l7, tlsPort))
	return strings.Join(lines, "\n") + "\n"
}

// xdpBootArgs are the flags of `lbx run` for the AF_XDP contender: its
// two ports on the peer's veth ends, its self IPs, and its own control
// socket and saved config (it boots empty; the bench pushes lbxScript).
func xdpBootArgs(bin, socket, saved string) []string {
	ports := fmt.Sprintf(`[{"name":"ext","driver":"afxdp","device":"eth0","mac":%q},{"name":"int","driver":"afxdp","device":"eth1","mac":%q}]`,
		xdpMACs[0], xdpMACs[1])
	selfips := fmt.Sprintf(`[{"name":"/Common/self_ext","address":%q,"port":"ext"},{"name":"/Common/self_int","address":%q,"port":"int"}]`,
		xdpSelfExt, xdpPeer.Inside)
	return []string{bin, "run", "--ports", ports, "--selfips", selfips, "--control.socket", socket, "--config.saved", saved}
}

// peers holds what the bench started beside the testbed, so teardown can
// undo it on every path.
type peers struct {
	log   io.Writer
	dir   string
	procs []*proc // started by the bench, stopped by PID in down
	xdp   *ctlsock.Client
	// pin0 and pin1 prefix a command to start it on CPU 0 (the ends) or
	// CPU 1 (a contender), so that it sizes its threads (HAProxy's
	// nbthread, Go's GOMAXPROCS) for the one CPU it gets; nil: no pinning.
	pin0, pin1 []string
	cert       certFiles // the TLS contenders' certificate
}

// proc is a long-running process the bench started.
type proc struct {
	name   string
	cmd    *testbed.HostCmd
	exited chan struct{} // closed when it has been waited for
}

func (p *peers) start(name string, c *testbed.HostCmd) (*proc, error) {
	logf, err := os.Create(filepath.Join(p.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	c.Stdout, c.Stderr = logf, logf
	// Pdeathsig ends it should the bench die without tearing down.
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	pr := &proc{name: name, cmd: c, exited: make(chan struct{})}
	go func() { c.Wait(); close(pr.exited) }()
	p.procs = append(p.procs, pr)
	return pr, nil
}

func (p *peers) logOf(name string) string {
	b, _ := os.ReadFile(filepath.Join(p.dir, name+".log"))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// setUp attaches every peer and configures it. Whatever it built is
// recorded in p even on error; p.down undoes it.
func (p *peers) setUp(ctx context.Context, tb *testbed.Testbed, bin string, servers []netip.Addr) error {
	bulk := servers[0]
	for _, s := range peerSpecs {
		peer, err := tb.AddPeer(s.NS, s.links()...)
		if err != nil {
			return err
		}
		switch s.NS {
		case nftPeer.NS:
			err = p.setUpNft(peer, s, servers)
		case haproxyPeer.NS:
			err = p.setUpHAProxy(peer, "tcp", s, servers)
		case haproxyHTTPPeer.NS:
			err = p.setUpHAProxy(peer, "http", s, servers)
		case xdpPeer.NS:
			err = p.setUpXDP(peer, bin, servers)
		case routePeer.NS:
			err = p.setUpRoute(tb, peer, s, bulk)
		}
		if err != nil {
			return err
		}
	}
	// The server-side ports: an iperf3 server and a UDP sink come and go
	// per run; iperf3 stays for the whole bench.
	for _, h := range tb.Topo.Servers() {
		c, err := tb.Command(h.Name, append(slices.Clone(p.pin0), "iperf3", "-s", "-p", fmt.Sprint(bulkPort))...)
		if err != nil {
			return err
		}
		if _, err := p.start("iperf3-"+h.Name, c); err != nil {
			return err
		}
	}
	for _, h := range tb.Topo.Servers() {
		if err := waitListening(ctx, tb, h.Name, fmt.Sprintf("127.0.0.1:%d", bulkPort)); err != nil {
			return fmt.Errorf("iperf3 on %s: %w\n%s", h.Name, err, p.logOf("iperf3-"+h.Name))
		}
	}
	return nil
}

// waitListening waits until addr accepts connections inside host.
func waitListening(ctx context.Context, tb *testbed.Testbed, host, addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := tb.Command(host, "bash", "-c", "exec 3<>/dev/tcp/"+strings.Replace(addr, ":", "/", 1))
		if err != nil {
			return err
		}
		if _, err = runIn(ctx, c, 3*time.Second); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func peerRun(peer *testbed.Peer, argv ...string) error {
	c, err := peer.Command(argv...)
	if err != nil {
		return err
	}
	if _, err := c.Output(); err != nil {
		return fmt.Errorf("peer %s: %w", peer.NS, err)
	}
	return nil
}

func (p *peers) setUpNft(peer *testbed.Peer, s peerSpec, servers []netip.Addr) error {
	if err := peer.Sysctl("net/ipv4/ip_forward", "1"); err != nil {
		return err
	}
	rules := nftRuleset(s.VIP.Addr(), servers, servers[0], s.Inside.Addr(), "eth1")
	path := filepath.Join(p.dir, "nft.conf")
	if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
		return err
	}
	return peerRun(peer, "nft", "-f", path)
}

// setUpRoute makes the ceiling: a plain kernel router between the
// client and bulk (server1), no NAT and no balancing. The client reaches
// server1's own address through it and server1 answers the client through
// it (two host routes, in namespaces the testbed made for this run).
func (p *peers) setUpRoute(tb *testbed.Testbed, peer *testbed.Peer, s peerSpec, server netip.Addr) error {
	if err := peer.Sysctl("net/ipv4/ip_forward", "1"); err != nil {
		return err
	}
	client, _ := tb.Topo.Host("client")
	server1 := tb.Topo.Servers()[0]
	for _, r := range []struct{ host, dst, via string }{
		{client.Name, server.String() + "/32", s.VIP.Addr().String()},
		{server1.Name, client.Addr.Addr().String() + "/32", s.Inside.Addr().String()},
	} {
		c, err := tb.Command(r.host, "ip", "route", "replace", r.dst, "via", r.via)
		if err != nil {
			return err
		}
		if _, err := c.Output(); err != nil {
			return fmt.Errorf("route peer: %w", err)
		}
	}
	return nil
}

func (p *peers) setUpHAProxy(peer *testbed.Peer, mode string, s peerSpec, servers []netip.Addr) error {
	pem := ""
	if mode == "http" {
		pem = p.cert.PEM
	}
	cfg := haproxyConfig(mode, s.VIP.Addr(), servers, servers[0], s.Inside.Addr(), pem)
	path := filepath.Join(p.dir, "haproxy-"+mode+".cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return err
	}
	if err := peerRun(peer, "haproxy", "-c", "-q", "-f", path); err != nil {
		return fmt.Errorf("haproxy %s: config check: %w", mode, err)
	}
	// -db: stay in the foreground as our child, so its PID is the one we
	// stop.
	c, err := peer.Command(append(slices.Clone(p.pin1), "haproxy", "-db", "-f", path)...)
	if err != nil {
		return err
	}
	name := "haproxy-" + mode
	if _, err := p.start(name, c); err != nil {
		return err
	}
	if err := peer.WaitListening(fmt.Sprintf("%s:%d", s.VIP.Addr(), httpPort), 10*time.Second); err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, p.logOf(name))
	}
	return nil
}

// setUpXDP boots the second lbx on AF_XDP ports in its peer namespace
// and pushes it the contender's config.
func (p *peers) setUpXDP(peer *testbed.Peer, bin string, servers []netip.Addr) error {
	socket := filepath.Join(p.dir, "xdp.sock")
	c, err := peer.Command(append(slices.Clone(p.pin1), xdpBootArgs(bin, socket, filepath.Join(p.dir, "xdp-bigip.conf"))...)...)
	if err != nil {
		return err
	}
	pr, err := p.start("lbx-xdp", c)
	if err != nil {
		return err
	}
	p.xdp = &ctlsock.Client{Path: socket, Timeout: 2 * time.Second, PushTimeout: time.Minute}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := p.xdp.Exec("show sys version")
		if err == nil {
			break
		}
		select {
		case <-pr.exited:
			return fmt.Errorf("lbx-xdp exited during boot:\n%s", p.logOf("lbx-xdp"))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lbx-xdp: control socket: %w\n%s", err, p.logOf("lbx-xdp"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := p.xdp.Push(lbxScript(xdpPeer.VIP.Addr(), lbxXDPL7, servers, servers[0], true, p.cert.Cert, p.cert.Key)); err != nil {
		return fmt.Errorf("lbx-xdp: push: %w", err)
	}
	return nil
}

// pid is the PID of the named process the bench started, or 0.
func (p *peers) pid(name string) int {
	for _, pr := range p.procs {
		if pr.name == name {
			return pr.cmd.Process.Pid
		}
	}
	return 0
}

// down stops the processes the bench started by their PIDs and removes
// the peer namespaces (with their veths). It is safe to call more than
// once and after a partial setUp; leftovers of an earlier crashed run
// are removed by name.
func (p *peers) down() error {
	var errs []error
	for i := len(p.procs) - 1; i >= 0; i-- {
		pr := p.procs[i]
		pid := pr.cmd.Process.Pid
		select {
		case <-pr.exited:
			continue
		default:
		}
		fmt.Fprintf(p.log, "bench: stopping %s (pid %d)\n", pr.name, pid)
		pr.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-pr.exited:
		case <-time.After(5 * time.Second):
			pr.cmd.Process.Kill()
			select {
			case <-pr.exited:
			case <-time.After(2 * time.Second):
				errs = append(errs, fmt.Errorf("%s pid %d did not exit", pr.name, pid))
			}
		}
	}
	p.procs = nil
	for _, s := range peerSpecs {
		if err := testbed.RemovePeer(s.NS, p.log); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// runIn runs c, bounded by limit and by ctx, and returns its standard
// output. Only the process it started is ever signalled.
func runIn(ctx context.Context, c *testbed.HostCmd, limit time.Duration) ([]byte, error) {
	var out, errb strings.Builder
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		c.Process.Kill()
		<-done
		return nil, ctx.Err()
	case <-timer.C:
		c.Process.Kill()
		<-done
		return nil, fmt.Errorf("%s: still running after %s, killed", strings.Join(c.Args, " "), limit)
	}
	if err != nil {
		return []byte(out.String()), fmt.Errorf("%s: %w: %s", strings.Join(c.Args, " "), err, strings.TrimSpace(errb.String()))
	}
	return []byte(out.String()), nil
}
