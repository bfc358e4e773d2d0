package appliance_test

import (
	"io"
	"lbx/internal/pemfile"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lbx/cli"
	"lbx/ctrlplane/appliance"
	"lbx/ctrlplane/ctlsock"
	"lbx/dataplane"
	"lbx/dataplane/porttest"
	"lbx/ha/cfgsync"
)

// syncUnit is one unit of a config-sync pair: state (bigip.conf, the
// device certificate, cm.json) in dir, config sync on 127.0.0.1 (listen
// "127.0.0.1:0": any port), and a boot self IP 198.18.1.N on port ext;
// with extra, a second port int (198.18.2.N) the other unit lacks.
func (l *lab) syncUnit(sw *porttest.Switch, name, dir, listen string, n byte, extra bool) *appliance.Appliance {
	l.t.Helper()
	ports := []dataplane.Port{renamed{l.port(sw, name+"-ext"), "ext"}}
	selfs := []dataplane.SelfIP{{Name: "self_ext", Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 1, n}), 24), Port: "ext"}}
	if extra {
		ports = append(ports, renamed{l.port(porttest.NewSwitch(), name+"-int"), "int"})
		selfs = append(selfs, dataplane.SelfIP{Name: "self_int", Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 2, n}), 24), Port: "int"})
	}
	app, err := appliance.New(appliance.Config{
		Ports: ports, SelfIPs: selfs, FlowCapacity: 4096, MonitorClock: l.clock,
		SavedPath: filepath.Join(dir, "bigip.conf"), AdminPassword: "secret-" + name,
		// Polls an hour apart: what happens here comes from the start's
		// poll and the ones commits and group changes start (Nudge).
		Sync: &cfgsync.Config{Device: name, Listen: listen, StateDir: filepath.Join(dir, "cm"), Poll: time.Hour},
	})
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { app.Close() })
	return app
}

// within polls cond every 20ms for at most 20s (the machine is shared).
func within(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not within 20s", what)
}

func execErr(t *testing.T, a *appliance.Appliance, cmd, want string) {
	t.Helper()
	if _, err := a.Exec(cmd); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: %v, want an error with %q", cmd, err, want)
	}
}

func syncStatus(t *testing.T, a *appliance.Appliance) string {
	t.Helper()
	return exec(t, a, "show cm sync-status")
}

func hasAll(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("%s: no %q in:\n%s", what, w, out)
		}
	}
}

// TestConfigSyncPair runs two appliances syncing their configuration over
// TLS on loopback: trust, the device group and its round trip, manual
// sync that keeps device-local objects, a refused sync, a conflict, auto
// sync and catch-up after a unit was down.
func TestConfigSyncPair(t *testing.T) {
	l := newLab(t)
	sw := porttest.NewSwitch()
	dir1, dir2 := t.TempDir(), t.TempDir()
	lbx1 := l.syncUnit(sw, "lbx1", dir1, "127.0.0.1:0", 2, true)
	lbx2 := l.syncUnit(sw, "lbx2", dir2, "127.0.0.1:0", 3, false)
	addr2 := lbx2.Sync().Addr()

	// Without a group: Standalone; cm commands refuse a pushed script.
	hasAll(t, "standalone", syncStatus(t, lbx1), "Status           Standalone")
	if _, err := lbx1.Push("list cm device-group\n"); err == nil || !strings.Contains(err.Error(), "not inside a transaction or a pushed script") {
		t.Fatalf("cm command in a push: %v", err)
	}

	// Trust: a wrong password is refused; the right one stores both
	// certificates.
	execErr(t, lbx1, "modify cm trust-domain Root ca-devices add { "+addr2+" } name lbx2 username admin password nope", `authentication of "admin" on lbx2 failed`)
	out := exec(t, lbx1, "modify cm trust-domain Root ca-devices add { "+addr2+" } name lbx2 username admin password secret-lbx2")
	hasAll(t, "trust", out, "/Common/lbx2 added to the trust domain", lbx2.Sync().Fingerprint())
	hasAll(t, "lbx2's trust domain", exec(t, lbx2, "list cm trust-domain"), "ca-devices { /Common/lbx1 /Common/lbx2 }", "status initialized")
	hasAll(t, "list cm device", exec(t, lbx2, "list cm device lbx1"), "cm device /Common/lbx1 {", "configsync-ip 127.0.0.1", "self-device false", lbx1.Sync().Fingerprint())

	// The device group: list prints what create reads back.
	execErr(t, lbx1, "create cm device-group dg1 devices { lbx1 lbx3 } type sync-failover", "lbx3 is not in the trust domain")
	exec(t, lbx1, "create cm device-group dg1 devices { lbx1 lbx2 } type sync-failover network-failover enabled")
	listed := exec(t, lbx1, "list cm device-group")
	want := `cm device-group /Common/dg1 {
    auto-sync disabled
    devices {
        /Common/lbx1 { }
        /Common/lbx2 { }
    }
    network-failover enabled
    type sync-failover
}
`
	if listed != want {
		t.Fatalf("list cm device-group:\n%s\nwant\n%s", listed, want)
	}
	exec(t, lbx1, "delete cm device-group dg1")
	exec(t, lbx1, "create "+strings.TrimSpace(listed))
	if again := exec(t, lbx1, "list cm device-group dg1"); again != want {
		t.Fatalf("round trip:\n%s", again)
	}
	within(t, "lbx2 takes the group", func() bool { return strings.Contains(exec(t, lbx2, "list cm device-group"), "/Common/dg1") })
	hasAll(t, "before the first sync", syncStatus(t, lbx1), "Status           Awaiting Initial Sync")

	// Manual sync: shared objects go, device-local ones stay.
	exec(t, lbx1, "create net route /Common/r1 network 10.1.0.0/16 gw 198.18.1.254")
	exec(t, lbx2, "create net route /Common/r2 network 10.2.0.0/16 gw 198.18.1.254")
	exec(t, lbx1, "create ltm pool /Common/web members add { 198.18.1.11:80 }")
	exec(t, lbx1, "create ltm virtual /Common/vs destination 198.18.1.100:80 ip-protocol tcp pool /Common/web")
	exec(t, lbx1, "create net self /Common/float_ext address 198.18.1.1/24 vlan /Common/ext traffic-group /Common/traffic-group-1")
	// A key given inline reaches the peer (sys files are shared), which
	// saves it hidden with the key in its own filestore.
	certPEM, keyPEM, err := pemfile.SelfSigned("sync.example")
	if err != nil {
		t.Fatal(err)
	}
	encKey, err := pemfile.Encrypt(keyPEM, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	exec(t, lbx1, `create sys file ssl-cert /Common/sync.crt content "`+string(certPEM)+`"`)
	exec(t, lbx1, `create sys file ssl-key /Common/sync.key content "`+string(encKey)+`" passphrase s3cret`)
	exec(t, lbx1, "create ltm profile client-ssl /Common/ssl_sync cert /Common/sync.crt key /Common/sync.key")
	exec(t, lbx1, "run cm config-sync to-group dg1")
	running := lbx2.Store().Running()
	if k := running.Files["/Common/sync.key"]; k == nil || k.Content != string(encKey) || k.Passphrase != "s3cret" || running.Profiles["/Common/ssl_sync"] == nil {
		t.Fatalf("lbx2's key after to-group: %+v; files %v; lbx1 status %s", k, running.Files, syncStatus(t, lbx1))
	}
	if running.Pools["/Common/web"] == nil || running.Virtuals["/Common/vs"] == nil || running.Selfs["/Common/float_ext"] == nil {
		t.Fatalf("lbx2 after to-group: pools %v virtuals %v selfs %v", len(running.Pools), len(running.Virtuals), len(running.Selfs))
	}
	if running.Routes["/Common/r1"] != nil || running.Routes["/Common/r2"] == nil {
		t.Fatalf("lbx2's routes after to-group: %v", running.Routes)
	}
	saved, err := os.ReadFile(filepath.Join(dir2, "bigip.conf"))
	if err != nil || !strings.Contains(string(saved), "ltm pool /Common/web") {
		t.Fatalf("lbx2 did not save the synced configuration: %v\n%s", err, saved)
	}
	if strings.Contains(string(saved), "ENCRYPTED") || strings.Contains(string(saved), "s3cret") || !strings.Contains(string(saved), pemfile.Hidden(encKey)) {
		t.Fatalf("lbx2's saved key:\n%s", saved)
	}
	if _, err := os.Stat(filepath.Join(dir2, "filestore", strings.TrimPrefix(pemfile.Fingerprint(encKey), "sha256:")+".pem")); err != nil {
		t.Fatalf("lbx2's filestore: %v", err)
	}
	for _, a := range []*appliance.Appliance{lbx1, lbx2} {
		hasAll(t, "after to-group", syncStatus(t, a), "Status           In Sync", "Device Group     /Common/dg1 (sync-failover, auto-sync disabled)")
	}
	// The shell's prompt shows the device and its sync status.
	user, err := ctlsock.NewUserApp(lbx2.Dialects(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	sh := &cli.Shell{App: user, User: "admin", Out: io.Discard, Err: io.Discard}
	sh.Line("list ltm pool")
	if got, want := sh.Prompt(), "admin@(lbx2)(cfg-sync In Sync)(Active)(/Common)(tmos)# "; got != want {
		t.Errorf("prompt %q, want %q", got, want)
	}

	// Refusal: a floating self IP on a VLAN lbx2 does not have. lbx2
	// says why and stays as it was.
	exec(t, lbx1, "create net self /Common/float_int address 198.18.2.1/24 vlan /Common/int traffic-group /Common/traffic-group-1")
	hasAll(t, "a change on lbx1", syncStatus(t, lbx1), "Status           Changes Pending", "lbx1 has changes pending sync to the group")
	before := lbx2.Store().Version()
	_, err = lbx1.Exec("run cm config-sync to-group dg1")
	if err == nil || !strings.Contains(err.Error(), "lbx2 refused: lbx2 kept its configuration:") || !strings.Contains(err.Error(), "float_int") {
		t.Fatalf("to-group of a configuration lbx2 cannot apply: %v", err)
	}
	t.Logf("refusal: %v", err)
	if lbx2.Store().Version() != before || lbx2.Store().Running().Selfs["/Common/float_int"] != nil {
		t.Fatal("lbx2 changed after refusing")
	}
	exec(t, lbx1, "delete net self /Common/float_int")

	// Both change: a possible change conflict on both units, nothing
	// merged; the operator takes lbx2's.
	exec(t, lbx1, "create ltm pool /Common/only1")
	exec(t, lbx2, "create ltm pool /Common/only2")
	for _, a := range []*appliance.Appliance{lbx1, lbx2} {
		hasAll(t, "conflict", syncStatus(t, a), "Status           Changes Pending", "There is a possible change conflict between", "both changed: possible change conflict")
	}
	if lbx1.Store().Running().Pools["/Common/only2"] != nil || lbx2.Store().Running().Pools["/Common/only1"] != nil {
		t.Fatal("a conflict was merged")
	}
	sh.Line("list ltm pool")
	if got, want := sh.Prompt(), "admin@(lbx2)(cfg-sync Changes Pending)(Active)(/Common)(tmos)# "; got != want {
		t.Errorf("prompt %q, want %q", got, want)
	}
	exec(t, lbx1, "run cm config-sync from-group dg1")
	if r := lbx1.Store().Running(); r.Pools["/Common/only1"] != nil || r.Pools["/Common/only2"] == nil || r.Routes["/Common/r1"] == nil {
		t.Fatalf("lbx1 after from-group: pools %v routes %v", len(r.Pools), r.Routes)
	}
	hasAll(t, "after from-group", syncStatus(t, lbx2), "Status           In Sync")

	// The Alteon dialect's /oper/slb/sync pushes to the group.
	exec(t, lbx1, "create ltm pool /Common/from_alteon")
	admin1, err := ctlsock.NewUserApp(lbx1.Dialects(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if out, _, err := admin1.ExecAlteon("/oper/slb/sync"); err != nil || !strings.Contains(out, "synchronized to the peers of device group dg1") {
		t.Fatalf("/oper/slb/sync: %q %v", out, err)
	}
	if lbx2.Store().Running().Pools["/Common/from_alteon"] == nil {
		t.Fatal("/oper/slb/sync did not reach lbx2")
	}

	// Auto-sync: a commit reaches the peer by itself.
	exec(t, lbx1, "modify cm device-group dg1 auto-sync enabled")
	within(t, "lbx2 takes auto-sync", func() bool { return strings.Contains(exec(t, lbx2, "list cm device-group"), "auto-sync enabled") })
	exec(t, lbx2, "create ltm pool /Common/auto2")
	within(t, "auto-sync to lbx1", func() bool { return lbx1.Store().Running().Pools["/Common/auto2"] != nil })

	// lbx2 goes down; lbx1 changes; lbx2 comes back and catches up. (Its
	// own changes saved first: a unit that comes back without changes it
	// had not saved has changed, as far as the group can tell.)
	exec(t, lbx2, "save sys config")
	if err := lbx2.Close(); err != nil {
		t.Fatal(err)
	}
	exec(t, lbx1, "create ltm pool /Common/while_down")
	within(t, "lbx1 sees lbx2 disconnected", func() bool { return lbx1.Sync().PromptStatus() == cfgsync.Disconnected })
	hasAll(t, "lbx2 down", syncStatus(t, lbx1), "Status           Disconnected")
	lbx2 = l.syncUnit(porttest.NewSwitch(), "lbx2", dir2, addr2, 3, false)
	within(t, "lbx2 catches up", func() bool { return lbx2.Store().Running().Pools["/Common/while_down"] != nil })
	if lbx2.Store().Running().Routes["/Common/r2"] == nil {
		t.Fatal("lbx2 lost its route")
	}
	hasAll(t, "after the catch-up", syncStatus(t, lbx1), "Status           In Sync")
}

// TestHAPrompt: with HA, the prompt's state is the unit's failover state
// (config sync off: Standalone).
func TestHAPrompt(t *testing.T) {
	l := newLab(t)
	csw, ssw := porttest.NewSwitch(), porttest.NewSwitch()
	lbx1 := l.haUnit(csw, ssw, "lbx1", 2, 200)
	lbx2 := l.haUnit(csw, ssw, "lbx2", 3, 100)
	within(t, "lbx1 active, lbx2 standby", func() bool { return haState(lbx1) == "active" && haState(lbx2) == "standby" })
	for _, c := range []struct {
		a    *appliance.Appliance
		want string
	}{{lbx1, "(lbx1)(cfg-sync Standalone)(Active)"}, {lbx2, "(lbx2)(cfg-sync Standalone)(Standby)"}} {
		if state := c.a.Dialects()[0].NewSession().Prompt(); state != c.want {
			t.Errorf("state %q, want %q", state, c.want)
		}
	}
	exec(t, lbx2, "run sys failover offline")
	if state := lbx2.Dialects()[0].NewSession().Prompt(); state != "(lbx2)(cfg-sync Standalone)(ForcedOffline)" {
		t.Errorf("offline: state %q", state)
	}
}
