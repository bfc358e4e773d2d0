package tmsh

import (
	"strings"
	"testing"

	"lbx/ctrlplane/tmsh/conf"

	"github.com/google/go-cmp/cmp"
)

// firstHourConf is baseConf with a monitor of a type and a second pool.
const firstHourConf = baseConf + `
ltm monitor http hm { send "GET /" }
ltm pool api { members { 10.0.0.3:80 } }
`

func TestFirstHourCommands(t *testing.T) {
	const webPool = "ltm pool /Common/web {\n    load-balancing-mode round-robin\n    members {\n        /Common/10.0.0.1:80 {\n            address 10.0.0.1\n        }\n        /Common/10.0.0.2:80 {\n            address 10.0.0.2\n        }\n    }\n}\n"
	const apiPool = "ltm pool /Common/api {\n    load-balancing-mode round-robin\n    members {\n        /Common/10.0.0.3:80 {\n            address 10.0.0.3\n        }\n    }\n}\n"
	tests := []struct {
		name    string
		cmd     string
		want    string // exact output, when set
		has     []string
		hasNot  []string
		wantErr string
	}{
		{name: "list ltm monitor NAME without type", cmd: "list ltm monitor hm", want: "ltm monitor http /Common/hm {\n    defaults-from /Common/http\n    send \"GET /\"\n}\n"},
		{name: "list ltm monitor: every type, built-ins too", cmd: "list ltm monitor", has: []string{"ltm monitor http /Common/hm {", "ltm monitor tcp /Common/tcp {", "ltm monitor icmp /Common/icmp {"}},
		{name: "list ltm monitor glob", cmd: "list ltm monitor h* one-line", want: "ltm monitor http /Common/hm { defaults-from /Common/http send \"GET /\" }\n" +
			"ltm monitor http /Common/http { alteon-restr 0 alteon-retry 0 defaults-from none destination *:* interval 5 manual-resume disabled recv none recv-disable none send \"GET /\\r\\n\" time-until-up 0 timeout 16 up-interval 0 }\n" +
			"ltm monitor https /Common/https { alteon-restr 0 alteon-retry 0 defaults-from none destination *:* interval 5 manual-resume disabled recv none recv-disable none send \"GET /\\r\\n\" time-until-up 0 timeout 16 up-interval 0 }\n"},
		{name: "list ltm monitor missing", cmd: "list ltm monitor nope", wantErr: "01020036:3: The requested Monitor (/Common/nope) was not found."},
		{name: "list ltm monitor TYPE still works", cmd: "list ltm monitor http hm", want: "ltm monitor http /Common/hm {\n    defaults-from /Common/http\n    send \"GET /\"\n}\n"},
		{name: "show ltm monitor NAME without type", cmd: "show ltm monitor hm", has: []string{"Ltm::Monitor http: /Common/hm", "Parent           : /Common/http"}, hasNot: []string{"/Common/tcp"}},
		{name: "show ltm monitor missing", cmd: "show ltm monitor nope", wantErr: "was not found"},
		{name: "list property filter", cmd: "list ltm virtual vs destination pool", want: "ltm virtual /Common/vs {\n    destination /Common/198.18.1.100:80\n    pool /Common/web\n}\n"},
		{name: "list property filter prints a default", cmd: "list ltm pool web description", want: "ltm pool /Common/web {\n    description none\n}\n"},
		{name: "list property filter keeps blocks", cmd: "list ltm virtual vs profiles", want: "ltm virtual /Common/vs {\n    profiles {\n        /Common/fastL4 { }\n    }\n}\n"},
		{name: "list property filter: a block as list prints it", cmd: "list ltm pool web members", want: "ltm pool /Common/web {\n    members {\n        /Common/10.0.0.1:80 {\n            address 10.0.0.1\n        }\n        /Common/10.0.0.2:80 {\n            address 10.0.0.2\n        }\n    }\n}\n"},
		{name: "list property filter with all-properties", cmd: "list ltm node 10.0.0.1 ratio state all-properties", want: "ltm node /Common/10.0.0.1 {\n    ratio 1\n    state user-up\n}\n"},
		{name: "list sys with a word", cmd: "list sys bogus", wantErr: `list sys: want file, got "bogus"`},
		{name: "list sys kind none kept", cmd: "list sys ntp", wantErr: "list sys ntp: not implemented in lbx (stanzas of this kind in a loaded configuration are kept and listed; there are none)"},
		{name: "list glob without partition", cmd: "list ltm pool *we*", want: webPool},
		{name: "list glob with partition", cmd: "list ltm pool /Common/*", want: apiPool + webPool},
		{name: "list glob matching none", cmd: "list ltm pool *nothing*", want: ""},
		{name: "list name and glob", cmd: "list ltm pool web a*", want: webPool + apiPool},
		{name: "list recursive", cmd: "list ltm pool recursive", want: apiPool + webPool},
		{name: "list one-line", cmd: "list ltm pool web one-line", want: "ltm pool /Common/web { load-balancing-mode round-robin members { /Common/10.0.0.1:80 { address 10.0.0.1 } /Common/10.0.0.2:80 { address 10.0.0.2 } } }\n"},
		{name: "list one-line with a filter", cmd: "list ltm virtual vs pool one-line", want: "ltm virtual /Common/vs { pool /Common/web }\n"},
		{name: "list ltm one-line", cmd: "list ltm one-line", has: []string{"ltm node /Common/10.0.0.1 { address 10.0.0.1 }\n", "ltm pool /Common/api { load-balancing-mode round-robin members { /Common/10.0.0.3:80 { address 10.0.0.3 } } }\n"}},
		{name: "list ltm recursive", cmd: "list ltm recursive", has: []string{apiPool, webPool}},
		{name: "show running-config", cmd: "show running-config", has: []string{apiPool, webPool, "ltm monitor http /Common/hm {"}},
		{name: "list sys without sys stanzas", cmd: "list sys", want: ""},
		{name: "list net", cmd: "list net", hasNot: []string{"ltm "}},
		{name: "show sys version", cmd: "show sys version", has: []string{"Sys::Version", "  Product   lbx\n", "  Version   "}},
		{name: "cd /Common", cmd: "cd /Common", want: ""},
		{name: "cd bare", cmd: "cd", want: ""},
		{name: "quit", cmd: "quit", want: ""},
		{name: "exit", cmd: "exit", want: ""},
		{name: "quit with words", cmd: "quit now", wantErr: "unknown command"},
		{name: "cd other partition", cmd: "cd /Tenant", wantErr: "cd /Tenant: partitions other than /Common are not implemented in lbx"},
		{name: "cli preference is the shell's", cmd: "modify cli preference pager disabled", wantErr: "cli preference: a setting of the interactive shell, kept per user: type it in lbx cli or an SSH session"},
		{name: "list cli preference is the shell's", cmd: "list cli pref", wantErr: "cli preference: a setting of the interactive shell"},
		{name: "not implemented: cli alias", cmd: "list cli alias", wantErr: "list cli alias: not implemented in lbx"},
		{name: "not implemented: run", cmd: "run util bash", wantErr: "run (run a utility or script): not implemented in lbx"},
		{name: "not implemented: gtm", cmd: "list gtm wideip a", wantErr: "list gtm wideip: global traffic manager (gtm): not implemented in lbx"},
		{name: "not implemented: modify sys", cmd: "modify sys global-settings hostname x", wantErr: "modify sys global-settings: not implemented in lbx (modify sys: want file, got \"global-settings\")"},
		{name: "not implemented: cm", cmd: "show cm device", wantErr: "show cm device: device management and config sync (cm): not implemented in lbx"},
		{name: "sync status without config sync", cmd: "show cm sync-status", has: []string{"Status           Standalone", "config sync is off"}},
		{name: "cm objects without config sync", cmd: "list cm device-group", wantErr: "list cm device-group: config sync is off (no ha.configsync in the boot config)"},
		{name: "cm device is the boot config's", cmd: "modify cm device lbx1 configsync-ip 192.0.2.9", wantErr: "modify cm device: this device's name and config-sync address are the boot config's ha.unit and ha.configsync"},
		{name: "not implemented: entering a module", cmd: "sys", wantErr: "sys: entering a module is not implemented in lbx"},
		{name: "not implemented: ltm rule", cmd: "create ltm rule r", wantErr: "create ltm rule: not implemented in lbx (create ltm: want"},
		{name: "not implemented: sys ntp", cmd: "modify sys ntp servers add { 1.1.1.1 }", wantErr: "modify sys ntp: not implemented in lbx"},
		{name: "unknown kind of an lbx module stays unknown", cmd: "list ltm bogus", wantErr: "list ltm: want"},
		{name: "unknown stays unknown", cmd: "frobnicate ltm pool", wantErr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t, firstHourConf)
			before := conf.Text(s.Running())
			out, err := s.Exec(tt.cmd)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Exec(%q) error = %v, want it to contain %q", tt.cmd, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Exec(%q): %v", tt.cmd, err)
			}
			if tt.want != "" || (tt.has == nil && tt.hasNot == nil) {
				if diff := cmp.Diff(tt.want, out); diff != "" {
					t.Errorf("Exec(%q) output (-want +got):\n%s", tt.cmd, diff)
				}
			}
			for _, h := range tt.has {
				if !strings.Contains(out, h) {
					t.Errorf("Exec(%q) output lacks %q:\n%s", tt.cmd, h, out)
				}
			}
			for _, h := range tt.hasNot {
				if strings.Contains(out, h) {
					t.Errorf("Exec(%q) output has %q:\n%s", tt.cmd, h, out)
				}
			}
			if after := conf.Text(s.Running()); after != before {
				t.Errorf("Exec(%q) changed the running config", tt.cmd)
			}
		})
	}
}

func TestModifyAllMembers(t *testing.T) {
	tests := []struct {
		name    string
		cmd     string
		want    string // running config after, in baseConf terms
		wantErr string
	}{
		{
			name: "session user-disabled on all",
			cmd:  "modify ltm pool web members modify { all { session user-disabled } }",
			want: "ltm pool web { members { 10.0.0.1:80 { session user-disabled } 10.0.0.2:80 { session user-disabled } } }",
		},
		{
			name: "all then one",
			cmd:  "modify ltm pool web members modify { all { session user-disabled } 10.0.0.2:80 { session user-enabled } }",
			want: "ltm pool web { members { 10.0.0.1:80 { session user-disabled } 10.0.0.2:80 } }",
		},
		{
			name:    "bad value names a member",
			cmd:     "modify ltm pool web members modify { all { session sideways } }",
			wantErr: "members /Common/10.0.0.1:80",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t, baseConf)
			before := conf.Text(s.Running())
			_, err := s.Exec(tt.cmd)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				if conf.Text(s.Running()) != before {
					t.Fatal("a failed modify changed the running config")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(withConf(t, tt.want), conf.Text(s.Running())); diff != "" {
				t.Errorf("running config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestShowPoolMembers(t *testing.T) {
	tests := []struct {
		name    string
		cmd     string
		has     []string
		hasNot  []string
		wantErr string
	}{
		{name: "all members", cmd: "show ltm pool web members", has: []string{"/Common/10.0.0.1:80  10.0.0.1:80", "/Common/10.0.0.2:80  10.0.0.2:80", "Total Members    : 2"}},
		{name: "one member", cmd: "show ltm pool web members { 10.0.0.2:80 }", has: []string{"/Common/10.0.0.2:80  10.0.0.2:80", "Total Members    : 2"}, hasNot: []string{"10.0.0.1:80"}},
		{name: "member with partition", cmd: "show ltm pool web members { /Common/10.0.0.1:80 }", has: []string{"/Common/10.0.0.1:80"}, hasNot: []string{"10.0.0.2:80"}},
		{name: "detail", cmd: "show ltm pool web members { 10.0.0.1:80 } detail", has: []string{"Ltm::Pool Member: /Common/10.0.0.1:80 (pool /Common/web)", "| Node             : /Common/10.0.0.1", "| Total Conns      : 0"}, hasNot: []string{"10.0.0.2", "Cur Conns"}},
		{name: "detail of every member", cmd: "show ltm pool web detail", has: []string{"Ltm::Pool Member: /Common/10.0.0.1:80", "Ltm::Pool Member: /Common/10.0.0.2:80"}},
		{name: "every pool's members", cmd: "show ltm pool members { 10.0.0.1:80 }", has: []string{"Ltm::Pool: /Common/web", "/Common/10.0.0.1:80  10.0.0.1:80"}, hasNot: []string{"10.0.0.2:80"}},
		{name: "missing member", cmd: "show ltm pool web members { 10.0.0.9:80 }", wantErr: "01020036:3: The requested Pool Member (/Common/web /Common/10.0.0.9 80) was not found."},
		{name: "missing pool", cmd: "show ltm pool nope members", wantErr: "The requested Pool (/Common/nope) was not found."},
		{name: "bad member", cmd: "show ltm pool web members { x }", wantErr: "members:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t, baseConf)
			out, err := s.Exec(tt.cmd)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Exec(%q) error = %v, want it to contain %q", tt.cmd, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Exec(%q): %v", tt.cmd, err)
			}
			for _, h := range tt.has {
				if !strings.Contains(out, h) {
					t.Errorf("output lacks %q:\n%s", h, out)
				}
			}
			for _, h := range tt.hasNot {
				if strings.Contains(out, h) {
					t.Errorf("output has %q:\n%s", h, out)
				}
			}
		})
	}
}

// A tmsh script often ends with quit; pushed, it applies as a whole.
func TestPushEndsWithQuit(t *testing.T) {
	s, _ := newTestStore(t, baseConf)
	if _, err := s.Push("create ltm node n9 address 10.0.0.9\nquit\n"); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if s.Running().Nodes["/Common/n9"] == nil {
		t.Fatal("the node created before quit is not in the running config")
	}
}
