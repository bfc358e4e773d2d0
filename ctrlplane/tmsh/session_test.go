package tmsh

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"lbx/ctrlplane/compile"
	"lbx/ctrlplane/tmsh/conf"
)

func mustExec(t *testing.T, ss *Session, text string) string {
	t.Helper()
	out, err := ss.Exec(text)
	if err != nil {
		t.Fatalf("Exec(%q): %v", text, err)
	}
	return out
}

func TestTransactionAppliesAsAWhole(t *testing.T) {
	s, dp := newTestStore(t, DefaultConfigText())
	ss := s.NewSession()
	installs, version := dp.Count(), s.Version()
	mustExec(t, ss, "create cli transaction")
	if !ss.InTransaction() {
		t.Fatal("no transaction open after create cli transaction")
	}
	// The virtual refers to a pool that exists only in the transaction.
	mustExec(t, ss, "create ltm pool /Common/tx_pool members add { 198.18.2.11:8080 }")
	mustExec(t, ss, "create ltm virtual /Common/vs_tx destination 198.18.1.110:80 pool /Common/tx_pool")
	if dp.Count() != installs || s.Version() != version {
		t.Fatal("a command inside a transaction was applied before submit")
	}
	if _, ok := s.Running().Pools["/Common/tx_pool"]; ok {
		t.Fatal("running config shows an unsubmitted pool")
	}
	mustExec(t, ss, "submit cli transaction")
	if dp.Count() != installs+1 || s.Version() != version+1 {
		t.Fatalf("submit: %d installs, version %d; want one install, version %d", dp.Count()-installs, s.Version(), version+1)
	}
	run := s.Running()
	if run.Pools["/Common/tx_pool"] == nil || run.Virtuals["/Common/vs_tx"] == nil {
		t.Fatal("submitted objects missing from running config")
	}
	if ss.InTransaction() {
		t.Error("transaction still open after submit")
	}
}

func TestTransactionFailuresChangeNothing(t *testing.T) {
	s, dp := newTestStore(t, DefaultConfigText())
	before, installs := conf.Text(s.Running()), dp.Count()
	ss := s.NewSession()

	// A virtual whose pool is deleted later in the same transaction fails
	// validation at submit; nothing is applied and the transaction ends.
	mustExec(t, ss, "create cli transaction")
	mustExec(t, ss, "create ltm pool /Common/p2 members add { 198.18.2.12:80 }")
	mustExec(t, ss, "create ltm virtual /Common/vs2 destination 198.18.1.120:80 pool /Common/p2")
	mustExec(t, ss, "modify ltm virtual /Common/vs2 pool /Common/missing")
	_, err := ss.Exec("submit cli transaction")
	if err == nil || !strings.Contains(err.Error(), "transaction not submitted") || !strings.Contains(err.Error(), "/Common/missing") {
		t.Fatalf("submit of an invalid transaction: %v", err)
	}
	if ss.InTransaction() {
		t.Error("failed submit left the transaction open")
	}

	// Dropped transaction.
	mustExec(t, ss, "create cli transaction; delete ltm virtual /Common/vs_udp; delete cli transaction")

	// Control commands out of place.
	for _, tc := range []struct{ cmd, want string }{
		{"submit cli transaction", "no transaction is open"},
		{"delete cli transaction", "no transaction is open"},
		{"create cli transaction\ncreate cli transaction", "already open"},
		{"save sys config", "not inside a transaction"},
	} {
		if _, err := ss.Exec(tc.cmd); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Exec(%q) = %v, want %q", tc.cmd, err, tc.want)
		}
	}
	mustExec(t, ss, "delete cli transaction")
	if got := conf.Text(s.Running()); got != before || dp.Count() != installs {
		t.Errorf("failed transactions changed the running config (%d installs)", dp.Count()-installs)
	}
	if _, err := s.Push("create cli transaction\n"); err == nil || !strings.Contains(err.Error(), "line 1: a pushed script is applied as one transaction") {
		t.Errorf("push with a transaction command: %v", err)
	}
}

// A commit based on a stale running version is refused instead of
// overwriting another session's change.
func TestTransactionStaleVersionRefused(t *testing.T) {
	s, _ := newTestStore(t, DefaultConfigText())
	a, b := s.NewSession(), s.NewSession()
	mustExec(t, a, "create cli transaction")
	mustExec(t, a, "modify ltm pool /Common/web_pool members delete { 198.18.2.11:80 }")
	mustExec(t, b, "modify ltm pool /Common/web_pool members delete { 198.18.2.13:80 }")
	_, err := a.Exec("submit cli transaction")
	if err == nil || !strings.Contains(err.Error(), "another session") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("stale submit: %v", err)
	}
	members := s.Running().Pools["/Common/web_pool"].Members
	if len(members) != 2 || members[0].Address.String() != "198.18.2.11" {
		t.Errorf("running members after refused stale submit: %+v; want b's change only", members)
	}
}

func TestExecSeveralCommands(t *testing.T) {
	s, _ := newTestStore(t, DefaultConfigText())
	ss := s.NewSession()
	mustExec(t, ss, "create ltm pool /Common/a; create ltm pool /Common/b")
	if s.Running().Pools["/Common/b"] == nil {
		t.Fatal("second command of a ;-list not applied")
	}
	// tmsh -c semantics: the commands before a failing one stay applied.
	_, err := ss.Exec("create ltm pool /Common/c\ncreate ltm pool /Common/c")
	if err == nil || !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Fatalf("error %v, want it at line 2", err)
	}
	if s.Running().Pools["/Common/c"] == nil {
		t.Error("the command before the failing one was not applied")
	}
}

func TestLoadSysConfig(t *testing.T) {
	s, dp := newTestStore(t, DefaultConfigText())
	dir := t.TempDir()
	extra := filepath.Join(dir, "extra.conf")
	os.WriteFile(extra, []byte("ltm pool /Common/extra_pool {\n    members {\n        /Common/198.18.2.11:81 {\n            address 198.18.2.11\n        }\n    }\n}\n"), 0o600)
	mustExec(t, s.NewSession(), "load sys config merge file "+extra)
	run := s.Running()
	if run.Pools["/Common/extra_pool"] == nil || run.Virtuals["/Common/vs_http"] == nil {
		t.Fatal("merge did not keep the running objects and add the file's")
	}
	// A bad file changes nothing.
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("ltm pool /Common/p {\n    members {\n        /Common/198.18.2.11:99999 { }\n    }\n}\n"), 0o600)
	before, installs := conf.Text(s.Running()), dp.Count()
	if _, err := s.Exec("load sys config file " + bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("loading a bad file: %v (want the file named)", err)
	}
	cmdFile := filepath.Join(dir, "cmds.conf")
	os.WriteFile(cmdFile, []byte("delete ltm virtual /Common/vs_http\n"), 0o600)
	if _, err := s.Exec("load sys config file " + cmdFile); err == nil || !strings.Contains(err.Error(), "not a configuration") {
		t.Fatalf("loading a command file: %v", err)
	}
	if conf.Text(s.Running()) != before || dp.Count() != installs {
		t.Fatal("a failed load changed the running config")
	}
	// Replace: only the file's objects remain.
	mustExec(t, s.NewSession(), "load sys config file "+extra)
	run = s.Running()
	if len(run.Virtuals) != 0 || len(run.Pools) != 1 {
		t.Errorf("replace load left %d virtuals, %d pools; want 0, 1", len(run.Virtuals), len(run.Pools))
	}
}

func TestBootFallbackToBackup(t *testing.T) {
	dir := t.TempDir()
	saved := filepath.Join(dir, "bigip.conf")
	s1 := NewStore(&fakeDataplane{}, compile.NetConfig{}, saved, nil)
	mustExec(t, s1.NewSession(), "create ltm pool /Common/first; save sys config")
	mustExec(t, s1.NewSession(), "create ltm pool /Common/second; save sys config")
	// The saved file gets corrupted (say, by a disk fault); the backup
	// holds the previous save.
	if err := os.WriteFile(saved, []byte("ltm pool /Common/second {\n    members {\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := NewStore(&fakeDataplane{}, compile.NetConfig{}, saved, nil)
	err := s2.Boot()
	if err == nil || !strings.Contains(err.Error(), saved) || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "config.fallback") {
		t.Fatalf("boot from a corrupt file: %v (want file, line and the fallback hint)", err)
	}
	s3 := NewStore(&fakeDataplane{}, compile.NetConfig{}, saved, nil)
	if err := s3.BootWithFallback(true); err != nil {
		t.Fatalf("fallback boot: %v", err)
	}
	run := s3.Running()
	if run.Pools["/Common/first"] == nil || run.Pools["/Common/second"] != nil {
		t.Errorf("fallback booted %v; want the backup (first only)", run.PoolList())
	}
}

// A real bigip.conf with objects lbx does not implement loads whole: what is
// unknown is kept and reported, not refused.
func TestLoadSysConfigKeepsUnknown(t *testing.T) {
	s, _ := newTestStore(t, "")
	path, _ := filepath.Abs("conf/testdata/web_http.conf")
	out, err := s.Exec("load sys config file " + path)
	if err != nil {
		t.Fatalf("load of a corpus file: %v", err)
	}
	if !strings.Contains(out, "kept as is") {
		t.Errorf("no notice about kept content in %q", out)
	}
	if len(s.Running().Unknown) == 0 {
		t.Error("unknown stanzas were dropped")
	}
}

// What the config asks for but the dataplane does not do yet is said in
// the command's output, not hidden.
func TestApplyWarnings(t *testing.T) {
	s, _ := newTestStore(t, DefaultConfigText())
	out := mustExec(t, s.NewSession(), "modify ltm virtual /Common/vs_http translate-address disabled")
	if !strings.Contains(out, "warning: ltm virtual /Common/vs_http: translate-address disabled: source-address-translation automap is not applied") {
		t.Errorf("no warning in output %q", out)
	}
	if out := mustExec(t, s.NewSession(), "list ltm pool /Common/web_pool"); strings.Contains(out, "warning") {
		t.Errorf("a read-only command repeated the warnings: %q", out)
	}
}

// Issue 12 item 2: `load sys config [merge] file` of a device, a FIFO or a
// directory is refused at once, naming the file, and changes nothing.
func TestLoadSysConfigRegularFilesOnly(t *testing.T) {
	s, dp := newTestStore(t, DefaultConfigText())
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	before, installs := conf.Text(s.Running()), dp.Count()
	for _, path := range []string{"/dev/zero", fifo, dir} {
		for _, verb := range []string{"load sys config file ", "load sys config merge file "} {
			done := make(chan error, 1)
			go func() {
				_, err := s.Exec(verb + path)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), path+": not a regular file") {
					t.Errorf("%s%s: %v", verb, path, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s%s still running after 10 s", verb, path)
			}
		}
	}
	if conf.Text(s.Running()) != before || dp.Count() != installs {
		t.Fatal("a refused load changed the running config")
	}
}

// Issue 12 item 10: `load sys config file /etc/shadow` echoed the file's
// first line in its error, and an error about a 1 MB name echoed all of
// it. A file that is no config is refused without quoting it; parse errors
// quote at most a short, printable excerpt; every line of an error is
// bounded.
func TestLoadSysConfigQuotesLittle(t *testing.T) {
	s, dp := newTestStore(t, DefaultConfigText())
	dir := t.TempDir()
	long := strings.Repeat("y", 1<<20)
	tests := []struct {
		name, content string
		want          string
		secret        string // must not appear in the error
	}{
		{"shadow", "root:$6$saltsalt$HASHHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
			"not a configuration file (no MODULE KIND NAME { … } stanza in it); nothing loaded", "HASHHASH"},
		{"binary", "\x7fELF\x02\x01\x01\x00\x00\x00SECRETBYTES", "not a configuration file (binary content)", "SECRETBYTES"},
		{"not UTF-8", "ltm pool /Common/p { }\n\xff\xfeSECRET\n", "not a configuration file (binary content)", "SECRET"},
		{"bad value quoted short", "ltm pool /Common/p {\n    members {\n        /Common/" + strings.Repeat("x", 500) + "TAIL:80 { }\n    }\n}\n",
			"…(", "TAIL"},
		{"control characters", "ltm pool /Common/p {\n    members {\n        \"a\x1b[2Jb\":80 { }\n    }\n}\n", `\x1b[2J`, "\x1b"},
	}
	before, installs := conf.Text(s.Running()), dp.Count()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".conf")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := s.Exec("load sys config file " + path)
			if err == nil {
				t.Fatal("load accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error %q quotes %q", err, tc.secret)
			}
		})
	}
	if conf.Text(s.Running()) != before || dp.Count() != installs {
		t.Fatal("a refused load changed the running config")
	}
	// Names of 1 MB, through each path an error can take.
	for _, cmd := range []string{
		"create ltm pool /Common/" + long,
		"list ltm pool /Common/" + long,
		"create ltm pool /Common/a members add { " + long + ":80 }",
		"create ltm pool /Common/a members add { /Common/" + long + ":80 }",
		"load sys config file /tmp/" + long,
		"create ltm node " + long + " address 10.0.0.1",
	} {
		_, err := s.Exec(cmd)
		if err == nil {
			t.Errorf("%.40s…: accepted", cmd)
			continue
		}
		if n := len(err.Error()); n > 2*maxErrorLine {
			t.Errorf("%.40s…: error of %d bytes: %.120s…", cmd, n, err)
		}
		if !strings.Contains(err.Error(), "…(") {
			t.Errorf("%.40s…: error %q does not say it was cut", cmd, err)
		}
	}
	// The net keeps the typed error underneath.
	_, err := s.Push("ltm pool /Common/p {\n    members {\n        /Common/" + long + ":80 { }\n    }\n}\n")
	var le *conf.LineError
	if err == nil || !errors.As(err, &le) || le.Line != 3 || len(err.Error()) > 2*maxErrorLine {
		t.Errorf("push of a 1 MB member name: %.200v (line error %v)", err, le)
	}
}
