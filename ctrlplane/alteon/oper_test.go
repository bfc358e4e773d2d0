package alteon

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lbx/ctrlplane/ctrltest"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh"
	"lbx/pools"
)

// newSavedStore is newTestStore with a saved configuration file, so that
// save, diff flash and revert apply have one.
func newSavedStore(t *testing.T) (*testStore, *ctrltest.Dataplane, string) {
	t.Helper()
	dp := &ctrltest.Dataplane{}
	path := filepath.Join(t.TempDir(), "bigip.conf")
	st := store.New(dp, ctrltest.Net, tmsh.Codec{}, path, nil)
	if err := st.Boot(); err != nil {
		t.Fatalf("Boot: %v", err)
	}
	src := status.FromDataplane(dp, nil)
	return &testStore{Dialect: New(st, src), st: st, tm: tmsh.New(st, src)}, dp, path
}

const operSetup = `/c/slb/real 1/ena/rip 198.18.2.11
/c/slb/real 2/ena/rip 198.18.2.12
/c/slb/group 1/metric roundrobin/add 1/add 2
/c/slb/virt 1/ena/vip 198.18.1.100/service 80/group 1
apply`

// picks returns which nodes n new connections to pool go to.
func picks(t *testing.T, dp *ctrltest.Dataplane, pool string, n int) map[string]int {
	t.Helper()
	p := dp.Pool(pool)
	if p == nil {
		t.Fatalf("pool %s is not installed", pool)
	}
	got := map[string]int{}
	var s pools.Scratch
	for range n {
		m, ok := p.Pick(&pools.Request{}, nil, &s)
		if !ok {
			got["none"]++
			continue
		}
		got[m.Node]++
	}
	return got
}

// /oper/slb/dis stops new connections to a real in the running pool
// without a configuration change: the running and saved configurations
// stay byte for byte, nothing is pending or installed; /oper/slb/ena
// brings it back.
func TestAlteonOperDisable(t *testing.T) {
	s, dp, path := newSavedStore(t)
	ss := s.NewSession()
	altExec(t, ss, operSetup+"\nsave")
	before := tmsh.Text(s.Running())
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	installs, version := dp.Count(), s.Version()
	if got := picks(t, dp, "/Common/1", 10); got["/Common/1"] != 5 || got["/Common/2"] != 5 {
		t.Fatalf("before /oper/slb/dis: picks %v, want 5 each", got)
	}

	out := altExec(t, ss, "/oper/slb/dis 1")
	if !strings.Contains(out, "Real server 1 operationally disabled") {
		t.Errorf("/oper/slb/dis 1 said %q", out)
	}
	if got := picks(t, dp, "/Common/1", 10); got["/Common/1"] != 0 || got["/Common/2"] != 10 {
		t.Errorf("after /oper/slb/dis 1: picks %v, want all on real 2", got)
	}
	if after := tmsh.Text(s.Running()); after != before {
		t.Errorf("the running config changed:\n%s\nwas\n%s", after, before)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, saved) {
		t.Error("the saved config changed")
	}
	if dp.Count() != installs || s.Version() != version {
		t.Errorf("installs %d→%d, version %d→%d: want no apply", installs, dp.Count(), version, s.Version())
	}
	if got := altExec(t, ss, "diff"); got != "No pending changes.\n" {
		t.Errorf("diff: %q", got)
	}
	if got := altExec(t, ss, "/info/slb/real 1"); !strings.HasPrefix(got, "1: 198.18.2.11, disabled (operational)\n") {
		t.Errorf("/info/slb/real 1:\n%s", got)
	}
	if got := altExec(t, ss, "/info/slb/group 1"); !strings.Contains(got, "real 1: 198.18.2.11, disabled, operational, not in the configuration") {
		t.Errorf("/info/slb/group 1:\n%s", got)
	}
	if got := altExec(t, ss, "/info/slb/dump"); !strings.Contains(got, "/c/slb/real 1\n\tena\n") {
		t.Errorf("/info/slb/dump shows a configuration change:\n%s", got)
	}
	// The disable lives in the runtime by identity: an apply keeps it.
	altExec(t, ss, "/c/slb/real 2/name two\napply")
	if got := picks(t, dp, "/Common/1", 4); got["/Common/1"] != 0 {
		t.Errorf("after an apply: picks %v, want none on real 1", got)
	}

	altExec(t, ss, "/oper/slb/ena 1")
	if got := picks(t, dp, "/Common/1", 10); got["/Common/1"] != 5 || got["/Common/2"] != 5 {
		t.Errorf("after /oper/slb/ena 1: picks %v, want 5 each", got)
	}
	if got := altExec(t, ss, "/info/slb/real 1"); !strings.HasPrefix(got, "1: 198.18.2.11, enabled\n") {
		t.Errorf("/info/slb/real 1 after ena:\n%s", got)
	}
}

// The commands that read the running appliance or the saved file, one
// table: each case runs its lines after operSetup (applied and saved) and
// a pending change (real 3).
func TestAlteonRunningCommands(t *testing.T) {
	tests := []struct {
		name    string
		lines   string
		want    []string // substrings of the last line's output
		notWant []string
		wantErr string
	}{
		{name: "info dump is the running config", lines: "/info/slb/dump",
			want:    []string{"(running configuration)", "/c/slb/real 1\n\tena\n\tipver v4\n\trip 198.18.2.11\n", "/c/slb/virt 1/service 80 http\n\tgroup 1\n"},
			notWant: []string{"/c/slb/real 3"}},
		{name: "cfg dump has the pending change", lines: "/cfg/dump", want: []string{"(pending changes included)", "/c/slb/real 3\n"}},
		{name: "info virt", lines: "/info/slb/virt", want: []string{"1: 198.18.1.100, enabled\n", "    service 80 tcp, group 1: unknown ("}},
		{name: "info virt one", lines: "/i/slb/virt 1", want: []string{"1: 198.18.1.100, enabled\n"}},
		{name: "info virt missing", lines: "/info/slb/virt 9", wantErr: "virt 9 has no service"},
		{name: "info real", lines: "/info/slb/real 2", want: []string{"2: 198.18.2.12, enabled\n", "group 1, port service port: unknown"}},
		{name: "info group", lines: "/info/slb/group 1", want: []string{"real 1: 198.18.2.11, unknown", "real 2: 198.18.2.12, unknown"}},
		{name: "stats real", lines: "/stats/slb/real 1", want: []string{"Real server 1 stats:"}},
		{name: "stats group", lines: "/stats/slb/group 1", want: []string{"Real server group 1 stats:", "total"}},
		{name: "stats virt", lines: "/stats/slb/virt 1", want: []string{"Virtual server 1 stats:", "80 tcp (unknown)"}},
		{name: "oper dis of a pending real", lines: "/oper/slb/dis 3", wantErr: "real 3 is not in the running configuration"},
		{name: "oper usage", lines: "/oper/slb/dis", wantErr: "usage: dis <real server ID>"},
		{name: "diff is the pending change only", lines: "diff", want: []string{"/c/slb/real 3\n"}, notWant: []string{"/c/slb/real 2\n"}},
		{name: "diff flash: applied and pending against saved", lines: "/c/slb/real 2/name two\napply\n/c/slb/real 4/rip 198.18.2.14\ndiff flash",
			want: []string{"/c/slb/real 2\n\tena\n\tipver v4\n\trip 198.18.2.12\n\tname \"two\"\n", "/c/slb/real 3\n", "/c/slb/real 4\n"}, notWant: []string{"/c/slb/real 1\n"}},
		{name: "diff flash after save", lines: "revert\nsave\ndiff flash", want: []string{"No pending changes.\n"}},
		{name: "diff usage", lines: "diff foo", wantErr: "diff foo: usage: diff [flash]"},
		{name: "revert usage", lines: "revert everything", wantErr: "usage: revert [apply]"},
		{name: "revert apply", lines: "/c/slb/real 2/name two\napply\nrevert apply\n/info/slb/dump",
			want: []string{"/c/slb/real 2\n\tena\n\tipver v4\n\trip 198.18.2.12\n/c/slb/group"}, notWant: []string{"two", "/c/slb/real 3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := newSavedStore(t)
			ss := s.NewSession()
			altExec(t, ss, operSetup+"\nsave\n/c/slb/real 3/rip 198.18.2.13")
			lines := strings.Split(tc.lines, "\n")
			for _, l := range lines[:len(lines)-1] {
				altExec(t, ss, l)
			}
			out, err := ss.Exec(lines[len(lines)-1])
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

// revert apply drops the applied changes not saved: the running config is
// the saved file again, the pending changes are gone, and nothing is left
// pending.
func TestAlteonRevertApply(t *testing.T) {
	s, _, path := newSavedStore(t)
	ss := s.NewSession()
	altExec(t, ss, operSetup+"\nsave")
	saved := tmsh.Text(s.Running())
	altExec(t, ss, "/c/slb/real 9/rip 198.18.2.19\napply\n/c/slb/real 8/rip 198.18.2.18")
	if !ss.Pending() {
		t.Fatal("Pending() is false with real 8 pending")
	}
	out := altExec(t, ss, "revert apply")
	if !strings.Contains(out, "Reverted to the saved configuration") {
		t.Errorf("revert apply said %q", out)
	}
	if got := tmsh.Text(s.Running()); got != saved {
		t.Errorf("running after revert apply:\n%s\nwant the saved\n%s", got, saved)
	}
	if ss.Pending() {
		t.Error("Pending() after revert apply")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// The control socket reports a session's pending changes through this
// optional method.
var _ interface{ Pending() bool } = (*Session)(nil)

// Before the first save there is no saved file: diff flash shows all of
// the running configuration as new, and revert apply empties it, as a
// boot would.
func TestAlteonDiffFlashNoSavedFile(t *testing.T) {
	s, _, _ := newSavedStore(t)
	ss := s.NewSession()
	altExec(t, ss, operSetup)
	if got := altExec(t, ss, "diff flash"); !strings.Contains(got, "/c/slb/real 1\n") || !strings.Contains(got, "/c/slb/virt 1/service 80 http\n") {
		t.Errorf("diff flash with no saved file:\n%s", got)
	}
	altExec(t, ss, "revert apply")
	if n := len(s.Running().Nodes) + len(s.Running().Virtuals); n != 0 {
		t.Errorf("revert apply with no saved file left %d objects running", n)
	}
}
