package alteon

import (
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/health"
	"lbx/ctrlplane/tmsh"

	"lbx/monitors"
)

func altExec(t *testing.T, ss *Session, text string) string {
	t.Helper()
	out, err := ss.Exec(text)
	if err != nil {
		t.Fatalf("ExecAlteon(%q): %v\n%s", text, err, out)
	}
	return out
}

// The seed's configuration, typed as on an Alteon: nothing runs until
// apply, and then the tmsh objects behind the menus carry it.
func TestAlteonSessionPendingUntilApply(t *testing.T) {
	s, dp := newTestStore(t, "")
	ss := s.NewSession()
	altExec(t, ss, `/c/slb/real 1/ena/rip 198.18.2.14
/c/slb/real 2
	ena
	rip 198.18.2.15
/c/slb/advhc/health IIS TCP
	inter 2
	timeout 2
	retry 3
	closechk legacy
/c/slb/group 1
	metric roundrobin
	health IIS
	add 1
	add 2
/c/slb/virt 1
	ena
	vip 198.18.1.100
/c/slb/virt 1/service 80 http
	group 1
	rport 8001
/c/slb/virt 1/service 80 http/pip
	mode egress`)
	if got := ss.Prompt(); got != ">> Virtual Server 1 80 Proxy IP# " {
		t.Errorf("prompt %q", got)
	}
	if len(s.Running().Nodes) != 0 || dp.Count() != 0 {
		t.Fatalf("pending changes reached the running config: %d nodes, %d installs", len(s.Running().Nodes), dp.Count())
	}
	diff := altExec(t, ss, "diff")
	for _, want := range []string{"/c/slb/real 1\n\tena\n\tipver v4\n\trip 198.18.2.14\n", "/c/slb/advhc/health IIS TCP\n\tinter 2\n\ttimeout 2\n\tretry 3\n\tclosechk legacy\n",
		"/c/slb/group 1\n\tipver v4\n\tmetric roundrobin\n\thealth IIS\n\tadd 1\n\tadd 2\n", "/c/slb/virt 1/service 80 http\n\tgroup 1\n\trport 8001\n", "/c/slb/virt 1/service 80 http/pip\n\tmode egress\n"} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	out := altExec(t, ss, "apply")
	if !strings.Contains(out, "Apply complete") {
		t.Errorf("apply said %q", out)
	}
	run := s.Running()
	v := run.Virtuals["/Common/1_80"]
	if v == nil || v.Destination != netip.MustParseAddrPort("198.18.1.100:80") || v.Pool != "/Common/1" || v.SNAT != config.SNATAutomap || v.Disabled {
		t.Fatalf("virtual 1_80 = %+v", v)
	}
	p := run.Pools["/Common/1"]
	if p.Mode != config.LBRoundRobin || p.Monitor.String() != "/Common/IIS" || len(p.Members) != 2 || p.Members[0].Name() != "/Common/1:8001" || p.Members[1].Address != netip.MustParseAddr("198.18.2.15") {
		t.Fatalf("pool 1 = %+v", p)
	}
	sp, err := health.MonitorSpec(run, run.Monitors["/Common/IIS"])
	if err != nil {
		t.Fatal(err)
	}
	if !sp.Alteon || sp.Retries != 3 || sp.Restore != 2 || sp.Interval != 2*time.Second || sp.Timeout != 2*time.Second || sp.CloseCheck != monitors.CloseLegacy {
		t.Errorf("health IIS compiles to %+v", sp)
	}
	if got := altExec(t, ss, "diff"); got != "No pending changes.\n" {
		t.Errorf("diff after apply: %q", got)
	}
	if cur := altExec(t, ss, "/c/slb/virt 1/service 80/pip/cur"); cur != "/c/slb/virt 1/service 80 http/pip\n\tmode egress\n" {
		t.Errorf("cur of the pip menu: %q", cur)
	}
	if cur := altExec(t, ss, "/c/slb/virt 1/cur"); !strings.Contains(cur, "\tvip 198.18.1.100\n") || !strings.Contains(cur, "/c/slb/virt 1/service 80 http\n\tgroup 1\n") {
		t.Errorf("cur of virt 1:\n%s", cur)
	}
	// The same objects seen from tmsh.
	list, err := s.Exec("list ltm monitor tcp IIS")
	if err != nil || !strings.Contains(list, "alteon-retry 3") || !strings.Contains(list, "close-check legacy") {
		t.Errorf("list ltm monitor tcp IIS: %v\n%s", err, list)
	}
}

// A dump printed by the dialect reads back into the same configuration.
func TestAlteonDumpRoundTrip(t *testing.T) {
	s, _ := newTestStore(t, "")
	ss := s.NewSession()
	altExec(t, ss, `/c/slb/real 1/ena/rip 198.18.2.11/name "web one"/maxcon 100
/c/slb/real 2/dis/rip 198.18.2.12
/c/slb/advhc/health h1 HTTP/dport 8080/inter 3
/c/slb/group 10/add 1/add 2/health h1/slowstr 5/dis 1
/c/slb/group 2/add 2/health icmp/metric hash
/c/slb/virt 1/ena/vip 198.18.1.100/service 80 http/group 10
/c/slb/virt 1/service 53 dns/group 2/protocol udp
/c/slb/virt 2/dis/vip 198.18.1.101/service 8080/group 2
apply`)
	dump := altExec(t, ss, "/c/dump")
	s2, _ := newTestStore(t, "")
	if out, err := s2.Push(dump); err != nil {
		t.Fatalf("push of the dump: %v\n%s\n%s", err, out, dump)
	}
	if a, b := tmsh.Text(s.Running()), tmsh.Text(s2.Running()); a != b {
		t.Errorf("configs differ after a dump round trip:\n%s\n---\n%s\ndump:\n%s", a, b, dump)
	}
	for _, want := range []string{"/c/slb/group 10\n\tipver v4\n\thealth h1\n\tslowstr 5\n\tadd 1\n\tadd 2\n\tdis 1\n", "/c/slb/virt 2\n\tdis\n", "/c/slb/virt 1/service 53 dns\n\tgroup 2\n\tprotocol udp\n"} {
		if !strings.Contains(dump, want) {
			t.Errorf("dump lacks %q:\n%s", want, dump)
		}
	}
}

// Errors name the Alteon object and leave the pending and running
// configurations as they were.
func TestAlteonErrors(t *testing.T) {
	s, _ := newTestStore(t, "")
	ss := s.NewSession()
	for _, c := range []struct{ line, want string }{
		{"/c/slb/real 1/rip 300.1.1.1", `real 1: rip: "300.1.1.1": want an IPv4 address`},
		{"/c/slb/real 1/inter 2", "lbx keeps health timing on the health check"},
		{"/c/slb/group 1/add 9", "group 1: add: real 9 does not exist"},
		{"/c/slb/group 1/metric fastest", `group 1: metric: "fastest": want roundrobin`},
		{"/c/slb/advhc/health tcp TCP", "health tcp is predefined"},
		{"/c/slb/advhc/health x", "health x does not exist; give its type"},
		{"/c/slb/advhc/health h ICMP/closechk legacy", "health h: closechk: only TCP health checks close with a FIN"},
		{"/c/slb/group 1/health nope", "health check nope does not exist"},
		{"/c/slb/virt 1/service 0", "want a port from 1 to 65535"},
		{"/c/slb/reel 1", `"reel": unknown command`},
		{"/c/slb/o", `"o" is ambiguous: on, off`},
		{"/c/slb/real 1/rip", "usage: rip <IP address>"},
	} {
		_, err := ss.Exec(c.line)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.line, err, c.want)
		}
	}
	// A prompt survives a failing line.
	altExec(t, ss, "/c/slb/real 5")
	if _, err := ss.Exec("/c/slb/group 1/metric nope"); err == nil {
		t.Fatal("no error")
	}
	if got := ss.Prompt(); got != ">> Real Server 5# " {
		t.Errorf("prompt after a failed line: %q", got)
	}
	// apply refuses a real without rip, names it, and keeps the pending change.
	altExec(t, ss, "ena")
	_, err := ss.Exec("apply")
	if err == nil || !strings.Contains(err.Error(), "real 5: address: missing") {
		t.Errorf("apply of a real without rip: %v", err)
	}
	if len(s.Running().Nodes) != 0 {
		t.Errorf("refused apply changed the running config")
	}
	if d := altExec(t, ss, "diff"); !strings.Contains(d, "/c/slb/real 5\n\tena\n") {
		t.Errorf("pending change lost after a refused apply:\n%s", d)
	}
	if _, err := ss.Exec("save"); err == nil || !strings.Contains(err.Error(), "pending changes") {
		t.Errorf("save with pending changes: %v", err)
	}
	if got := altExec(t, ss, "revert"); got != "Pending changes reverted.\n" {
		t.Errorf("revert: %q", got)
	}
	if got := altExec(t, ss, "diff"); got != "No pending changes.\n" {
		t.Errorf("diff after revert: %q", got)
	}
	// CRLF line ends, as a dump saved on Windows has them.
	if _, err := s.Push("/c/slb/real 7\r\n\tena\r\n\trip 198.18.2.17\r\n"); err != nil || s.Running().Nodes["/Common/7"] == nil {
		t.Errorf("push with CRLF line ends: %v", err)
	}
	// A pushed script may show its own diff before it applies.
	if out, err := s.Push("/c/slb/real 8/ena/rip 198.18.2.18\ndiff\napply\n"); err != nil || !strings.Contains(out, "/c/slb/real 8\n") {
		t.Errorf("push with diff: %v\n%s", err, out)
	}
	// A pushed script with an error changes nothing and names its line.
	_, err = s.Push("/c/slb/real 1/ena/rip 198.18.2.11\n/c/slb/group 1/add 1\n/c/slb/group 1/add 2\n")
	var le *config.LineError
	if !errors.As(err, &le) || le.Line != 3 || len(s.Running().Nodes) != 2 {
		t.Errorf("push with an error on line 3: %v, nodes %d", err, len(s.Running().Nodes))
	}
	// Another session's apply makes pending changes stale.
	altExec(t, ss, "/c/slb/real 1/ena/rip 198.18.2.11")
	if _, err := s.Exec("create ltm node n2 address 198.18.2.12"); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Exec("apply"); err == nil || !strings.Contains(err.Error(), "another session has since applied") {
		t.Errorf("stale apply: %v", err)
	}
}

func FuzzAlteonLine(f *testing.F) {
	for _, s := range []string{"/c/slb/real 1/ena/rip 1.2.3.4", `/c/slb/virt 1/vname "a/b"/service 80 http/group 1`, "script start", "..", "/c/slb/advhc/health h TCP/closechk legacy", "apply", `"`} {
		f.Add(s)
	}
	s, _ := newTestStore(f, "")
	f.Fuzz(func(t *testing.T, line string) {
		ss := s.NewSession()
		before := s.Version()
		ss.Exec(line) // must not panic
		for _, w := range strings.FieldsFunc(line, func(r rune) bool { return r == '/' || r == ' ' || r == '\t' }) {
			if strings.HasPrefix("apply", w) {
				return // an apply, perhaps abbreviated
			}
		}
		if s.Version() != before {
			t.Fatalf("%q changed the running config without apply", line)
		}
	})
}

// A virt without a service stays pending; its first service takes its vip
// and state, and the draft is gone.
func TestAlteonVirtDraft(t *testing.T) {
	s, _ := newTestStore(t, "")
	ss := s.NewSession()
	altExec(t, ss, "/c/slb/virt 9/ena/vip 198.18.1.109")
	if d := altExec(t, ss, "diff"); d != "/c/slb/virt 9\n\tena\n\tipver v4\n\tvip 198.18.1.109\n" {
		t.Errorf("diff of a draft virt: %q", d)
	}
	if out := altExec(t, ss, "apply"); !strings.Contains(out, "warning: virt 9 has no service yet; it stays pending") {
		t.Errorf("apply of a draft virt: %q", out)
	}
	if _, err := ss.Exec("save"); err == nil {
		t.Error("save allowed with a draft virt pending")
	}
	altExec(t, ss, "/c/slb/virt 9/service 8080/protocol tcp\napply") // a menu alone creates nothing
	v := s.Running().Virtuals["/Common/9_8080"]
	if v == nil || v.Destination != netip.MustParseAddrPort("198.18.1.109:8080") || v.Disabled {
		t.Fatalf("service 8080 of virt 9 = %+v", v)
	}
	if d := altExec(t, ss, "diff"); d != "No pending changes.\n" {
		t.Errorf("diff after the service took the draft: %q", d)
	}
	// vip now moves the services.
	altExec(t, ss, "/c/slb/virt 9/vip 198.18.1.110\napply")
	if v := s.Running().Virtuals["/Common/9_8080"]; v.Destination.Addr() != netip.MustParseAddr("198.18.1.110") {
		t.Errorf("vip did not move the service: %v", v.Destination)
	}
}

// The /stats menus print the status layer's counters: a virt's services,
// a group's reals, a real over every group.
func TestAlteonStats(t *testing.T) {
	s, dp := newTestStore(t, "")
	ss := s.NewSession()
	altExec(t, ss, `/c/slb/real 1/ena/rip 198.18.2.11
/c/slb/real 2/ena/rip 198.18.2.12
/c/slb/group 1/add 1/add 2
/c/slb/virt 1/ena/vip 198.18.1.100/service 80/group 1
apply`)
	vst := dp.VirtualStats("/Common/1_80")
	vst.TotalConns.Add(7)
	vst.CurConns.Add(2)
	vst.BytesIn.Add(1500)
	m := dp.Member("/Common/1", "/Common/1:0")
	if vst == nil || m == nil {
		t.Fatal("virt 1 service 80 or real 1 of group 1 not installed")
	}
	m.Stats.TotalConns.Add(4)
	m.Stats.BytesOut.Add(900)
	virt := altExec(t, ss, "/stats/slb/virt 1")
	if !strings.Contains(virt, "Virtual server 1 stats:") || !regexp.MustCompile(`80 tcp \(unknown\)\s+2\s+7\s+1500\s+0\n`).MatchString(virt) {
		t.Errorf("/stats/slb/virt 1:\n%s", virt)
	}
	group := altExec(t, ss, "/stats/slb/group 1")
	if !regexp.MustCompile(`1 198\.18\.2\.11 \(unknown\)\s+0\s+4\s+0\s+900\n`).MatchString(group) ||
		!regexp.MustCompile(`total\s+0\s+4\s+0\s+900\n`).MatchString(group) {
		t.Errorf("/stats/slb/group 1:\n%s", group)
	}
	real := altExec(t, ss, "/stats/slb/real 1")
	if !regexp.MustCompile(`1 198\.18\.2\.11 \(unknown\)\s+0\s+4\s+0\s+900\n`).MatchString(real) {
		t.Errorf("/stats/slb/real 1:\n%s", real)
	}
	if _, err := ss.Exec("/stats/slb/group 9"); err == nil {
		t.Error("/stats/slb/group of a missing group succeeded")
	}
}
