package tmsh

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/tmsh/conf"

	"github.com/google/go-cmp/cmp"
)

func TestPush(t *testing.T) {
	tests := []struct {
		name        string
		script      string
		wantOut     string
		wantRunning string
		wantInstall bool
	}{
		{
			name: "commands, stanzas, comments and reads",
			script: `# build the web tier
create ltm node web1 address 10.0.0.11

create ltm pool web2 members add {
    web1:http
    10.0.0.12:80 { description "second" }
}
ltm virtual vs2 {
    destination 198.18.1.101:80
    pool web2
}
modify ltm virtual vs2 source-address-translation { type automap }
list ltm pool web2
delete ltm virtual vs
`,
			wantOut: poolText(mustParse(t, "ltm node web1 { address 10.0.0.11 }\nltm pool web2 { members { web1:80 10.0.0.12:80 { description second } } }").PoolList()[0]),
			wantRunning: conf.Text(mustParse(t, `
ltm pool web { members { 10.0.0.1:80 10.0.0.2:80 } }
ltm node web1 { address 10.0.0.11 }
ltm pool web2 { members { web1:80 10.0.0.12:80 { description second } } }
ltm virtual vs2 { destination 198.18.1.101:80 pool web2 source-address-translation { type automap } }`)),
			wantInstall: true,
		},
		{
			name:        "stanza referring to a pool created later in the push",
			script:      "ltm virtual vs { destination 198.18.1.100:80 pool later }\nltm pool later { members { 10.0.0.7:80 } }",
			wantRunning: withConf(t, "ltm virtual vs { destination 198.18.1.100:80 pool later }\nltm pool later { members { 10.0.0.7:80 } }"),
			wantInstall: true,
		},
		{
			name:        "only reads",
			script:      "list ltm node 10.0.0.1\nlist ltm node 10.0.0.2\n",
			wantOut:     "ltm node /Common/10.0.0.1 {\n    address 10.0.0.1\n}\nltm node /Common/10.0.0.2 {\n    address 10.0.0.2\n}\n",
			wantRunning: conf.Text(mustParse(t, baseConf)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dp := newTestStore(t, baseConf)
			n := dp.Count()
			out, err := s.Push(tt.script)
			if err != nil {
				t.Fatalf("Push: %v", err)
			}
			if diff := cmp.Diff(tt.wantOut, out); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRunning, conf.Text(s.Running())); diff != "" {
				t.Errorf("running mismatch (-want +got):\n%s", diff)
			}
			wantInstalls := n // a read-only push installs nothing
			if tt.wantInstall {
				wantInstalls++ // one install for the whole push
			}
			if got := dp.Count(); got != wantInstalls {
				t.Errorf("installs = %d, want %d", got, wantInstalls)
			}
		})
	}
}

// text prints one pool as list does.
func poolText(p *config.Pool) string {
	var b strings.Builder
	conf.PoolKind.Print(&b, &config.Config{Pools: map[string]*config.Pool{p.Name: p}}, p.Name, false)
	return b.String()
}

func TestPushErrors(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		wantErr string
	}{
		{
			name:    "failing command names its line",
			script:  "create ltm node n1 address 10.0.0.11\n\n# a comment\ncreate ltm pool web\n",
			wantErr: "line 4: 01020066:3: The requested Pool (/Common/web) already exists in partition Common.",
		},
		{
			name:    "error inside a multi-line command names the token's line",
			script:  "create ltm pool p2 members add {\n    10.0.0.5:80\n    10.0.0.6:http { ratio 300 }\n}",
			wantErr: `line 3: ltm pool /Common/p2: members /Common/10.0.0.6:80: ratio "300": want a number from 1 to 100`,
		},
		{
			name:    "validation error points at the command that changed the object",
			script:  "create ltm node n1 address 10.0.0.11\nmodify ltm virtual vs pool nope\nlist ltm",
			wantErr: "line 2: ltm virtual /Common/vs: pool /Common/nope: no such pool",
		},
		{
			name:    "every validation error, with lines where known",
			script:  "create ltm virtual z destination 198.18.1.100:80\n\nltm pool p { members { web9:80 } }\nmodify ltm virtual vs description x",
			wantErr: "line 3: ltm pool /Common/p: members /Common/web9:80: node /Common/web9: no such node\nline 1: ltm virtual /Common/z: destination /Common/198.18.1.100:80: ip-protocol tcp: overlaps virtual /Common/vs",
		},
		{
			name:    "delete refused mid-script",
			script:  "delete ltm virtual vs\ndelete ltm node 10.0.0.1",
			wantErr: "line 2: 01070110:3: Node address '/Common/10.0.0.1' is referenced by a member of pool '/Common/web'.",
		},
		{
			name:    "unclosed brace",
			script:  "create ltm node n1 address 10.0.0.11\ncreate ltm pool p2 members add {\n 10.0.0.5:80\n",
			wantErr: `line 2: "{" is never closed`,
		},
		{
			name:    "bad stanza",
			script:  "list ltm\nltm pool p {\n    load-balancing-mode ratio-members\n}",
			wantErr: `line 3: ltm pool /Common/p: load-balancing-mode "ratio-members": unknown mode`,
		},
		{
			name:    "unknown command",
			script:  "list ltm\nsys global-settings { }",
			wantErr: `line 2: "sys": unknown command (want one of list, show, create, modify, delete, submit, load, save, run, cd, reset-stats)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dp := newTestStore(t, baseConf)
			before, beforeProg, beforeCount := conf.Text(s.Running()), dp.Program(), dp.Count()
			out, err := s.Push(tt.script)
			if err == nil {
				t.Fatalf("Push succeeded (output %q), want error %q", out, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			if out != "" {
				t.Errorf("failed push returned output %q", out)
			}
			if diff := cmp.Diff(before, conf.Text(s.Running())); diff != "" {
				t.Errorf("failed push changed the running config (-before +after):\n%s", diff)
			}
			if dp.Program() != beforeProg || dp.Count() != beforeCount {
				t.Errorf("failed push installed a program")
			}
		})
	}
}

func TestInstallFailureKeepsRunning(t *testing.T) {
	s, dp := newTestStore(t, baseConf)
	before, beforeProg, beforeVersion := conf.Text(s.Running()), dp.Program(), s.Version()
	dp.SetFail(errors.New("port server: no such device"))
	for _, run := range []func() error{
		func() error { _, err := s.Exec("delete ltm virtual vs"); return err },
		func() error { _, err := s.Push("delete ltm virtual vs"); return err },
		func() error { return s.LoadText("") },
	} {
		err := run()
		if want := "install: port server: no such device"; err == nil || err.Error() != want {
			t.Errorf("error = %v, want %q", err, want)
		}
		if conf.Text(s.Running()) != before || dp.Program() != beforeProg || s.Version() != beforeVersion {
			t.Errorf("failed install changed the store")
		}
	}
}

func TestSaveAndBoot(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config", "bigip.conf") // directory made on save
	dp := &fakeDataplane{}
	s := newTestStoreAt(t, dp, path, nil)
	if err := s.Boot(); err != nil {
		t.Fatalf("Boot without a saved file: %v", err)
	}
	if p := dp.Program(); p == nil || len(p.Virtuals) != 0 {
		t.Fatalf("Boot without a saved file installed %v, want an empty program", p)
	}
	if err := s.LoadText(DefaultConfigText()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec("save sys config"); err != nil {
		t.Fatalf("first save: %v", err)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(conf.Text(s.Running()), string(first)); diff != "" {
		t.Errorf("saved file mismatch (-running +file):\n%s", diff)
	}
	if _, err := os.Stat(path + ".bak"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("first save made a .bak: %v", err)
	}

	// A push that changes and saves: the old file becomes .bak.
	if _, err := s.Push("delete ltm virtual vs_udp\nsave sys config\n"); err != nil {
		t.Fatalf("push with save: %v", err)
	}
	second, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bak, err := os.ReadFile(path + ".bak")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(first), string(bak)); diff != "" {
		t.Errorf(".bak is not the previous file (-want +got):\n%s", diff)
	}
	if strings.Contains(string(second), "vs_udp") || string(second) != conf.Text(s.Running()) {
		t.Errorf("second save does not hold the running config:\n%s", second)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if e.Name() != "bigip.conf" && e.Name() != "bigip.conf.bak" {
			t.Errorf("stray file %s left in the config directory", e.Name())
		}
	}

	// A fresh store boots from the file to the same configuration.
	dp2 := &fakeDataplane{}
	s2 := newTestStoreAt(t, dp2, path, nil)
	if err := s2.Boot(); err != nil {
		t.Fatalf("Boot: %v", err)
	}
	if diff := cmp.Diff(s.Running(), s2.Running(), cmpOpts...); diff != "" {
		t.Errorf("booted config mismatch (-saved +booted):\n%s", diff)
	}
	if diff := cmp.Diff(summarize(dp.Program()), summarize(dp2.Program())); diff != "" {
		t.Errorf("booted program mismatch (-saved +booted):\n%s", diff)
	}
}

func TestBootErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantErr string // %s is the file's path
	}{
		{
			name:    "syntax error",
			file:    "ltm node n { address 10.0.0.1 }\nltm pool p {\n    members { 10.0.0.1:80 }\n    load-balancing-mode fastest\n}\n",
			wantErr: `saved config %s: line 4: ltm pool /Common/p: load-balancing-mode "fastest": unknown mode`,
		},
		{
			name:    "validation error points at the stanza",
			file:    "ltm node n { address 10.0.0.1 }\n\nltm virtual vs {\n    destination 198.18.1.100:80\n    pool nope\n}\n",
			wantErr: `saved config %s: line 3: ltm virtual /Common/vs: pool /Common/nope: no such pool`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bigip.conf")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			dp := &fakeDataplane{}
			s := newTestStoreAt(t, dp, path, nil)
			err := s.Boot()
			if err == nil {
				t.Fatal("Boot succeeded on a bad file")
			}
			if diff := cmp.Diff(fmt.Sprintf(tt.wantErr, path), err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			if dp.Count() != 0 || s.Version() != 0 {
				t.Errorf("failed Boot installed a program")
			}
		})
	}
}

func TestConcurrentExec(t *testing.T) {
	s, dp := newTestStore(t, "")
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Exec(fmt.Sprintf("create ltm pool p%d members add { 10.1.0.%d:80 }", i, i+1)); err != nil {
				t.Errorf("create p%d: %v", i, err)
			}
			if _, err := s.Exec("list ltm"); err != nil {
				t.Errorf("list: %v", err)
			}
		}()
	}
	wg.Wait()
	if got := len(s.Running().Pools); got != n {
		t.Errorf("pools = %d, want %d", got, n)
	}
	if s.Version() != n || dp.Count() != n || dp.Program().Generation != n {
		t.Errorf("version %d, installs %d, generation %d; want %d each", s.Version(), dp.Count(), dp.Program().Generation, n)
	}
}
