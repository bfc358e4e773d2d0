package testbed

import (
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/ctlsock"
)

// altExec runs Alteon lines in the client's session and fails the test on
// an error.
func altExec(t *testing.T, app *ctlsock.Client, text string) string {
	t.Helper()
	out, _, err := app.ExecAlteon(text)
	if err != nil {
		t.Fatalf("%s: %v\n%s", text, err, out)
	}
	return out
}

// The seed's story told in the Alteon dialect on real packets: the IIS 7.0
// host behind a TCP health check. closechk lenient (today's firmware)
// keeps it up; closechk legacy (before 23.2.9) fails it on the RST after
// FIN; workaround B (IIS on 8001, the service on 80 with rport 8001)
// passes even the legacy check.
func TestIntegrationAlteonIISCloseCheck(t *testing.T) {
	tb := upTestbed(t)
	// The configuration comes as a pushed Alteon script, as from a dump.
	// The default config's node 198.18.2.11 is a real of that ID already.
	out, err := tb.Client().Push(`/c/slb/real 1
	ena
	rip 198.18.2.14
/c/slb/advhc/health IIS TCP
	inter 1
	timeout 1
	retry 2
	restr 2
/c/slb/group 1
	metric roundrobin
	health IIS
	add 1
	add 198.18.2.11
/c/slb/virt 1
	ena
	vip 198.18.1.101
/c/slb/virt 1/service 80 http
	group 1
/c/slb/virt 1/service 80 http/pip
	mode egress
apply
`)
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	app := tb.Client()
	app.Session = "alteon-iis"
	const iis = "/Common/1:0" // real 1 in group 1, on the service's port
	waitMember(t, app, "1", iis, "up", 10*time.Second)
	if got := altExec(t, app, "/i/slb/group 1"); !strings.Contains(got, "real 1: 198.18.2.14, up") {
		t.Errorf("/i/slb/group 1 with closechk lenient:\n%s", got)
	}
	if counts := countServers(t, tb, "http://198.18.1.101/", 10); counts["iis"] == 0 || counts["(failed)"] > 0 {
		t.Fatalf("with closechk lenient the IIS real should take traffic: %v", counts)
	}

	// The old firmware's check: pending until apply, then down with the
	// reason after retry (2) failed checks.
	altExec(t, app, "/c/slb/advhc/health IIS/closechk legacy")
	if d := altExec(t, app, "diff"); !strings.Contains(d, "/c/slb/advhc/health IIS TCP\n") || !strings.Contains(d, "\tclosechk legacy\n") {
		t.Errorf("diff before apply:\n%s", d)
	}
	if got := altExec(t, app, "/i/slb/group 1"); !strings.Contains(got, "real 1: 198.18.2.14, up") {
		t.Errorf("a pending closechk changed the running check:\n%s", got)
	}
	altExec(t, app, "apply")
	took := waitMember(t, app, "1", iis, "down", 10*time.Second)
	// The changed check starts over, and its first verdict decides.
	t.Logf("closechk legacy: real 1 down %s after apply (inter 1, retry 2; a changed check starts over)", took.Round(time.Millisecond))
	info := altExec(t, app, "/i/slb/group 1")
	if !strings.Contains(info, "real 1: 198.18.2.14, down") || !strings.Contains(info, "RST after FIN during close") {
		t.Errorf("/i/slb/group 1 does not give the reason:\n%s", info)
	}
	trace := altExec(t, app, "/i/slb/trace 1 1")
	if !strings.Contains(trace, "RST after FIN during close") || !strings.Contains(trace, "Flags [R.]") {
		t.Errorf("trace lacks the reason or the RST,ACK:\n%s", trace)
	}
	if counts := countServers(t, tb, "http://198.18.1.101/", 10); counts["server1"] != 10 {
		t.Errorf("with the IIS real down, all 10 requests should go to server1: %v", counts)
	}

	// Workaround B: rport 8001, where the IIS host has no quirk. server1
	// has nothing on 8001 and goes down; the IIS real comes up under the
	// legacy check and takes every request to port 80.
	altExec(t, app, "/c/slb/virt 1/service 80/rport 8001\napply")
	waitMember(t, app, "1", "/Common/1:8001", "up", 10*time.Second)
	waitMember(t, app, "1", "/Common/198.18.2.11:8001", "down", 10*time.Second)
	if counts := countServers(t, tb, "http://198.18.1.101/", 5); counts["iis"] != 5 {
		t.Errorf("service 80 with rport 8001 should reach the IIS host: %v", counts)
	}
	if cur := altExec(t, app, "/c/slb/virt 1/service 80/cur"); !strings.Contains(cur, "\tgroup 1\n\trport 8001\n") {
		t.Errorf("cur of the service:\n%s", cur)
	}
}
