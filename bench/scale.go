package main

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// scaleSpec is the size of the scale workload.
type scaleSpec struct {
	Virtuals       int // virtual servers pushed in one script
	MembersPerPool int // each virtual has its own pool of this many
	Monitored      int // members under a tcp monitor at 1 s
}

var (
	scaleFull = scaleSpec{Virtuals: 10000, MembersPerPool: 10, Monitored: 10000}
	// scaleVIP is where the scale virtuals listen, ports from
	// scaleFirstPort on: one virtual address, so the appliance does not
	// answer ARP for ten thousand.
	scaleVIP       = netip.MustParseAddr("198.18.1.100")
	scaleFirstPort = 20000
	// monitorFirstPort is the first port of the monitored members: on
	// the servers nothing listens there, so every probe is answered by
	// the server kernel's RST and the member is marked down; each probe
	// still costs the monitor engine a connect attempt and its answer.
	monitorFirstPort = 30000
)

// scaleNode is the address of the k-th config-only node of the scale
// push, from 198.19.0.0/16 (RFC 2544's range, on no segment of the
// testbed: nothing is ever sent to them).
func scaleNode(k int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 19, byte(k / 250), byte(k%250 + 1)})
}

// scaleScript is one tmsh push of s.Virtuals virtual servers, each with
// its own pool of s.MembersPerPool members: members are nodes × ports 80
// and 8080, so the push also creates Virtuals×MembersPerPool/2 nodes.
func scaleScript(s scaleSpec) (string, error) {
	if s.MembersPerPool%2 != 0 {
		return "", fmt.Errorf("scale: members per pool %d: want an even number (two ports per node)", s.MembersPerPool)
	}
	nodes := s.Virtuals * s.MembersPerPool / 2
	if nodes > 250*256 {
		return "", fmt.Errorf("scale: %d nodes: 198.19.0.0/16 holds %d", nodes, 250*256)
	}
	if scaleFirstPort+s.Virtuals > 65536 {
		return "", fmt.Errorf("scale: %d virtuals from port %d: past 65535", s.Virtuals, scaleFirstPort)
	}
	var b strings.Builder
	k := 0
	for i := range s.Virtuals {
		fmt.Fprintf(&b, "create ltm pool /Common/scale_%d members add {", i)
		for range s.MembersPerPool / 2 {
			n := scaleNode(k)
			k++
			fmt.Fprintf(&b, " %s:80 %s:8080", n, n)
		}
		b.WriteString(" }\n")
		fmt.Fprintf(&b, "create ltm virtual /Common/scale_vs_%d destination %s:%d ip-protocol tcp pool /Common/scale_%d\n",
			i, scaleVIP, scaleFirstPort+i, i)
	}
	return b.String(), nil
}

// monitorScript puts n members, spread over servers and ports from
// monitorFirstPort, under one tcp monitor at a 1 s interval, in pools of
// ten.
func monitorScript(n int, servers []netip.Addr) (string, error) {
	if len(servers) == 0 || monitorFirstPort+n/len(servers)+1 > 65536 {
		return "", fmt.Errorf("monitors: %d members over %d servers do not fit in the ports from %d", n, len(servers), monitorFirstPort)
	}
	var b strings.Builder
	b.WriteString("create ltm monitor tcp /Common/bench_tcp defaults-from tcp interval 1 timeout 3\n")
	for i := 0; i < n; i += 10 {
		fmt.Fprintf(&b, "create ltm pool /Common/mon_%d monitor /Common/bench_tcp members add {", i/10)
		for j := i; j < min(i+10, n); j++ {
			fmt.Fprintf(&b, " %s:%d", servers[j%len(servers)], monitorFirstPort+j/len(servers))
		}
		b.WriteString(" }\n")
	}
	return b.String(), nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on
// every Linux architecture lbx builds for.
const clockTicks = 100

// parseStatCPU returns utime+stime, in ticks, from the text of
// /proc/PID/stat. The command name (field 2) is in parentheses and may
// hold spaces, so fields are counted from its closing parenthesis.
func parseStatCPU(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no command field in %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// After ")": state(3) ppid(4) … utime(14) stime(15): indexes 11, 12.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the command, want at least 13", len(f))
	}
	u, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat: utime %q: %w", f[11], err)
	}
	s, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat: stime %q: %w", f[12], err)
	}
	return u + s, nil
}

// cpuTicks reads a process's CPU time so far.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}
