package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"lbx/testbed"
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
	peerSpecs = []peerSpec{nftPeer, haproxyPeer}
)

func (s peerSpec) links() []testbed.PeerLink {
	return []testbed.PeerLink{
		{Bridge: "br-client", SwEnd: s.SwExt, Name: "eth0", Addr: s.VIP},
		{Bridge: "br-server", SwEnd: s.SwInt, Name: "eth1", Addr: s.Inside},
	}
}

// nftRuleset is the kernel peer: DNAT of vip:port to the servers in turn
// (numgen inc mod N, evaluated once per connection since only a flow's
// first packet traverses a nat chain) and SNAT of that traffic to the
// router's server-side address, as lbx's SNAT automap does.
func nftRuleset(vip netip.Addr, port uint16, servers []netip.Addr, snat netip.Addr, outIf string) string {
	var m []string
	for i, s := range servers {
		m = append(m, fmt.Sprintf("%d : %s", i, s))
	}
	return fmt.Sprintf(`table ip lbx_bench {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr %s tcp dport %d dnat to numgen inc mod %d map { %s }
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname %q ct status dnat snat to %s
	}
}
`, vip, port, len(servers), strings.Join(m, ", "), outIf, snat)
}

// haproxyConfig is the proxy peer: mode tcp, round robin over the servers,
// connecting from its server-side address. Threads are HAProxy's default
// (one per CPU). No health checks, as lbx's default pool has no monitor.
func haproxyConfig(vip netip.Addr, port uint16, servers []netip.Addr, source netip.Addr) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
	maxconn 4096

defaults
	mode tcp
	timeout connect 2s
	timeout client 30s
	timeout server 30s

frontend bench
	bind %s:%d
	default_backend servers

backend servers
	balance roundrobin
	source %s
`, vip, port, source)
	for i, s := range servers {
		fmt.Fprintf(&b, "\tserver s%d %s:%d\n", i+1, s, port)
	}
	return b.String()
}

// peers holds what the bench started beside the testbed, so teardown can
// undo it on every path.
type peers struct {
	log     io.Writer
	dir     string
	haproxy *testbed.HostCmd
	exited  chan struct{} // closed when haproxy has been waited for
}

// setUp attaches both peers and configures them. Whatever it built is
// recorded in p even on error; p.down undoes it.
func (p *peers) setUp(tb *testbed.Testbed, servers []netip.Addr) error {
	for _, s := range peerSpecs {
		peer, err := tb.AddPeer(s.NS, s.links()...)
		if err != nil {
			return err
		}
		switch s.NS {
		case nftPeer.NS:
			if err := p.setUpNft(peer, s, servers); err != nil {
				return err
			}
		case haproxyPeer.NS:
			if err := p.setUpHAProxy(peer, s, servers); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *peers) setUpNft(peer *testbed.Peer, s peerSpec, servers []netip.Addr) error {
	if err := peer.Sysctl("net/ipv4/ip_forward", "1"); err != nil {
		return err
	}
	rules := nftRuleset(s.VIP.Addr(), 80, servers, s.Inside.Addr(), "eth1")
	path := filepath.Join(p.dir, "nft.conf")
	if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
		return err
	}
	c, err := peer.Command("nft", "-f", path)
	if err != nil {
		return err
	}
	if _, err := c.Output(); err != nil {
		return fmt.Errorf("nft peer: %w", err)
	}
	return nil
}

func (p *peers) setUpHAProxy(peer *testbed.Peer, s peerSpec, servers []netip.Addr) error {
	cfg := haproxyConfig(s.VIP.Addr(), 80, servers, s.Inside.Addr())
	path := filepath.Join(p.dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return err
	}
	check, err := peer.Command("haproxy", "-c", "-q", "-f", path)
	if err != nil {
		return err
	}
	if _, err := check.Output(); err != nil {
		return fmt.Errorf("haproxy peer: config check: %w", err)
	}
	logf, err := os.Create(filepath.Join(p.dir, "haproxy.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	// -db: stay in the foreground as our child, so its PID is the one we
	// stop; Pdeathsig ends it should the bench die without tearing down.
	c, err := peer.Command("haproxy", "-db", "-f", path)
	if err != nil {
		return err
	}
	c.Stdout, c.Stderr = logf, logf
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		return fmt.Errorf("haproxy peer: %w", err)
	}
	p.haproxy = c
	p.exited = make(chan struct{})
	go func() { c.Wait(); close(p.exited) }()
	addr := fmt.Sprintf("%s:80", s.VIP.Addr())
	if err := peer.WaitListening(addr, 10*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "haproxy.log"))
		return fmt.Errorf("haproxy peer: %w\n%s", err, log)
	}
	return nil
}

// down stops HAProxy by its PID and removes the peer namespaces (with
// their veths). It is safe to call more than once and after a partial
// setUp; leftovers of an earlier crashed run are removed by name.
func (p *peers) down() error {
	var errs []error
	if p.haproxy != nil {
		pid := p.haproxy.Process.Pid
		select {
		case <-p.exited:
		default:
			fmt.Fprintf(p.log, "bench: stopping haproxy (pid %d)\n", pid)
			p.haproxy.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(5 * time.Second):
				p.haproxy.Process.Kill()
				select {
				case <-p.exited:
				case <-time.After(2 * time.Second):
					errs = append(errs, fmt.Errorf("haproxy pid %d did not exit", pid))
				}
			}
		}
		p.haproxy = nil
	}
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
