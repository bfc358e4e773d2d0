package complete

import (
	"slices"
	"testing"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctrltest"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh"

	"github.com/google/go-cmp/cmp"
)

const completeConf = `
ltm pool web { members { 10.0.0.1:80 10.0.0.2:80 } }
ltm pool www2 { }
ltm pool api { }
ltm virtual vs { destination 198.18.1.100:80 pool web source-address-translation { type automap } profiles { fastL4 } }
`

// testDialect is tmsh over a store on a fake dataplane loaded with conf.
func testDialect(t testing.TB, conf string) *tmsh.Dialect {
	t.Helper()
	dp := &ctrltest.Dataplane{}
	st := store.New(dp, ctrltest.Net, tmsh.Codec{}, "", nil)
	if err := st.LoadText(conf); err != nil {
		t.Fatal(err)
	}
	return tmsh.New(st, status.FromDataplane(dp, nil))
}

func words(cs []Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Word)
	}
	return out
}

// Complete offers what the command table, the property tables and the
// running configuration say may come next.
func TestComplete(t *testing.T) {
	dl := testDialect(t, completeConf)
	for _, tt := range []struct {
		line string
		want []string // exactly these, in order; nil: see has
		has  []string // at least these
	}{
		{line: "list ltm pool w", want: []string{"web", "www2"}},
		{line: "list ltm pool ", has: []string{"api", "web", "www2", "all-properties"}},
		{line: "sh ltm po", want: []string{"pool"}},
		{line: "show ltm pool web ", has: []string{"members"}},
		{line: "create ltm ", has: []string{"node", "monitor", "persistence", "pool", "snatpool", "virtual"}},
		{line: "create ltm monitor h", want: []string{"http", "https"}},
		{line: "modify ltm pool ", want: []string{"api", "web", "www2"}},
		{line: "modify ltm pool web ", has: []string{"load-balancing-mode", "members", "monitor", "service-down-action"}},
		{line: "modify ltm pool web lo", want: []string{"load-balancing-mode"}},
		{line: "modify ltm pool web load-balancing-mode ", want: config.LBModeNames()},
		{line: "modify cli ", has: []string{"preference"}},
		{line: "modify cli preference ", want: []string{"pager", "default-dialect"}},
		{line: "modify cli preference pager ", want: []string{"enabled", "disabled"}},
		{line: "modify cli preference pager disabled default-dialect ", want: []string{"tmsh", "alteon"}},
		{line: "list cli preference ", want: nil},
		{line: "modify ltm pool web load-balancing-mode least-connections-m", want: []string{"least-connections-member"}},
		{line: "modify ltm pool web service-down-action ", want: config.ServiceDownNames()},
		{line: "modify ltm node n session ", want: []string{"user-enabled", "user-disabled"}},
		{line: "modify ltm node n state ", want: []string{"user-up", "user-down"}},
		{line: "modify ltm virtual vs pool ", want: []string{"api", "web", "www2"}},
		{line: "modify ltm pool web monitor ", has: []string{"http", "tcp", "gateway_icmp"}},
		{line: "modify ltm pool web members ", has: []string{"add", "delete", "modify", "replace-all-with"}},
		{line: "modify ltm pool web members modify { ", has: []string{"all", "10.0.0.1:80", "10.0.0.2:80", "}"}},
		{line: "", has: []string{"list", "show", "create", "modify", "delete", "save", "help", "quit"}},
		{line: "l", want: []string{"list", "load"}},
		{line: "create ltm pool ", want: nil},
		{line: "frobnicate ", want: nil},
	} {
		got := Dialect(dl, tt.line)
		if tt.has == nil {
			if d := cmp.Diff(tt.want, words(got)); d != "" {
				t.Errorf("Complete(%q) (-want +got):\n%s", tt.line, d)
			}
			continue
		}
		for _, w := range tt.has {
			if !slices.Contains(words(got), w) {
				t.Errorf("Complete(%q) = %v, want %q among them", tt.line, words(got), w)
			}
		}
	}
	// Every candidate has a help line, as `?` shows.
	for _, line := range []string{"", "list ", "create ltm ", "modify ltm pool web ", "modify ltm pool web load-balancing-mode "} {
		for _, c := range Dialect(dl, line) {
			if c.Help == "" {
				t.Errorf("Complete(%q): %q has no help", line, c.Word)
			}
		}
	}
}

// A session in a transaction completes the names of its candidate.
func TestCompleteInTransaction(t *testing.T) {
	dl := testDialect(t, completeConf)
	ss := dl.NewSession()
	if _, err := ss.Exec("create cli transaction"); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Exec("create ltm pool wide"); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"web", "wide", "www2"}, words(Session(dl, ss, "list ltm pool w"))); d != "" {
		t.Errorf("in the transaction (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"web", "www2"}, words(Dialect(dl, "list ltm pool w"))); d != "" {
		t.Errorf("outside it (-want +got):\n%s", d)
	}
}

// Complete never panics, whatever was typed.
func FuzzComplete(f *testing.F) {
	for _, s := range []string{"", "list ltm pool w", "modify ltm pool web members modify { ", "modify ltm pool web load-balancing-mode ", "create ltm monitor http m ", "sh", "\t", "  ", "delete ltm persistence persist-records ", "modify ltm pool nope members add { "} {
		f.Add(s)
	}
	dl := testDialect(f, completeConf)
	f.Fuzz(func(t *testing.T, line string) {
		for _, c := range Dialect(dl, line) {
			if c.Word == "" {
				t.Fatalf("Complete(%q): an empty candidate", line)
			}
		}
	})
}
