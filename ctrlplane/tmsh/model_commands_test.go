package tmsh

import (
	"fmt"
	"strings"
	"testing"

	"lbx/ctrlplane/compile"
	"lbx/ctrlplane/config"
	"lbx/ctrlplane/tmsh/conf"

	"github.com/google/go-cmp/cmp"
)

func TestCompileWarnings(t *testing.T) {
	var b strings.Builder
	b.WriteString("ltm pool p0 { members { 10.0.0.1:80 } }\n")
	var want []string
	// Every load-balancing mode compiles to its own method: no warning.
	for m := config.LBMode(1); m < config.LBModeCount; m++ {
		fmt.Fprintf(&b, "ltm pool p%02d { load-balancing-mode %s members { 10.0.0.1:80 } }\n", m, m)
	}
	b.WriteString("ltm node /Common/10.0.0.1 { address 10.0.0.1 monitor icmp }\n")
	b.WriteString(`ltm snatpool sp { members { 198.18.1.60 } }
ltm virtual v1 { destination 198.18.1.100:80 pool p01 source-address-translation { type snat pool sp } }
ltm virtual v2 { destination 198.18.1.101:80 pool p0 profiles { tcp http } }
`)
	want = append(want,
		"ltm virtual /Common/v2: source-address-translation type none: not implemented yet, server-side connections of an HTTP virtual leave from the self IP on the member's network, as with automap (the proxy cannot send from the client's address)",
	)
	c := mustParse(t, b.String())
	prog, warnings, err := compile.CompileWithWarnings(c, testNet)
	if err != nil {
		t.Fatalf("CompileWithWarnings: %v", err)
	}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	wantProg := []progVirtual{
		{Name: "/Common/v1", Dest: "198.18.1.100:80/6", Pool: "/Common/p01", Members: []string{"/Common/10.0.0.1:80=10.0.0.1:80"}, Enabled: true},
		{Name: "/Common/v2", Dest: "198.18.1.101:80/6", Pool: "/Common/p0", Members: []string{"/Common/10.0.0.1:80=10.0.0.1:80"}, Enabled: true},
	}
	if diff := cmp.Diff(wantProg, summarize(prog)); diff != "" {
		t.Errorf("program (-want +got):\n%s", diff)
	}
}

func TestObjectCommands(t *testing.T) {
	steps := []struct {
		cmd     string
		wantOut string // exact output; "" with wantErr empty means none
		wantErr string
	}{
		{cmd: "list ltm monitor http http all-properties", wantOut: `ltm monitor http /Common/http {
    alteon-restr 0
    alteon-retry 0
    defaults-from none
    description none
    destination *:*
    interval 5
    manual-resume disabled
    recv none
    recv-disable none
    send "GET /\r\n"
    time-until-up 0
    timeout 16
    up-interval 0
}
`},
		{cmd: "list ltm persistence source-addr", wantOut: "ltm persistence source-addr /Common/source_addr {\n    defaults-from none\n    hash-algorithm default\n    mask none\n" +
			"    match-across-pools disabled\n    match-across-services disabled\n    match-across-virtuals disabled\n    override-connection-limit disabled\n    timeout 180\n}\n"},
		{cmd: "modify ltm monitor http /Common/http interval 10", wantErr: "01070712:3: The Monitor (/Common/http) is built in; it cannot be modified or deleted."},
		{cmd: "delete ltm monitor tcp tcp", wantErr: "01070712:3: The Monitor (/Common/tcp) is built in; it cannot be modified or deleted."},
		{cmd: "delete ltm persistence cookie cookie", wantErr: "01070712:3: The Persistence Profile (/Common/cookie) is built in; it cannot be modified or deleted."},
		{cmd: "create ltm monitor icmp m2 send x", wantErr: `ltm monitor icmp /Common/m2: unknown property "send"`},
		{cmd: "create ltm persistence source-addr s2 cookie-name x", wantErr: `ltm persistence source-addr /Common/s2: unknown property "cookie-name"`},
		{cmd: "create ltm monitor tcp http", wantErr: "01020066:3: The requested Monitor (/Common/http) already exists in partition Common."},
		{cmd: "create ltm monitor http web_mon send \"GET /health HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\" recv 200 adaptive enabled", wantErr: `ltm monitor http /Common/web_mon: unknown property "adaptive"`},
		{cmd: "create ltm monitor http web_mon send \"GET /health HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\" recv 200"},
		{cmd: "create ltm monitor tcp web_mon", wantErr: "01020066:3: The requested Monitor (/Common/web_mon) already exists in partition Common."},
		{cmd: "create ltm monitor http child defaults-from web_mon interval 7"},
		{cmd: "list ltm monitor http child all-properties", wantOut: `ltm monitor http /Common/child {
    alteon-restr 0
    alteon-retry 0
    defaults-from /Common/web_mon
    description none
    destination *:*
    interval 7
    manual-resume disabled
    recv 200
    recv-disable none
    send "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    time-until-up 0
    timeout 16
    up-interval 0
}
`},
		{cmd: "modify ltm pool web monitor min 1 of { web_mon tcp }"},
		{cmd: "modify ltm pool web monitor nope", wantErr: "ltm pool /Common/web: monitor /Common/nope: no such monitor"},
		{cmd: "delete ltm monitor http web_mon", wantErr: "01070083:3: Monitor /Common/web_mon is in use by ltm pool /Common/web."},
		{cmd: "modify ltm pool web monitor none load-balancing-mode least-connections-member slow-ramp-time 0 members modify { 10.0.0.1:80 { ratio 5 priority-group 2 state user-down } }",
			wantOut: ""},
		{cmd: "delete ltm monitor http web_mon", wantErr: "01070083:3: Monitor /Common/web_mon is in use by ltm monitor http /Common/child (defaults-from)."},
		{cmd: "delete ltm monitor http child"},
		{cmd: "delete ltm monitor http web_mon"},
		{cmd: "create ltm persistence source-addr sa timeout 600 mask 255.255.255.0"},
		{cmd: "create ltm snatpool sp members add { 198.18.1.60 198.18.1.61 }"},
		{cmd: "modify ltm virtual vs persist replace-all-with { sa { default yes } } source-address-translation { type snat pool sp } connection-limit 100",
			wantOut: ""},
		{cmd: "delete ltm persistence source-addr sa", wantErr: "01070293:3: The persistence profile (/Common/sa) cannot be deleted because it is in use by a Virtual Server (/Common/vs)."},
		{cmd: "delete ltm snatpool sp", wantErr: "01070265:3: The SNAT Pool (/Common/sp) cannot be deleted because it is in use by a Virtual Server (/Common/vs)."},
		{cmd: "create net self s_ext address 198.18.1.3/24 vlan client"},
		{cmd: "create net route r_default network default gw 198.18.1.1"},
		{cmd: "create auth user ops role operator password \"s3cret pass\""},
		{cmd: "list auth user ops all-properties", wantOut: "REDACTED"},
		{cmd: "delete auth user nobody", wantErr: "01020036:3: The requested User (nobody) was not found."},
		{cmd: "list ltm virtual vs", wantOut: `ltm virtual /Common/vs {
    connection-limit 100
    destination /Common/198.18.1.100:80
    ip-protocol tcp
    mask 255.255.255.255
    persist {
        /Common/sa {
            default yes
        }
    }
    pool /Common/web
    profiles {
        /Common/fastL4 { }
    }
    source-address-translation {
        pool /Common/sp
        type snat
    }
}
`},
		{cmd: "list ltm pool web", wantOut: `ltm pool /Common/web {
    load-balancing-mode least-connections-member
    members {
        /Common/10.0.0.1:80 {
            address 10.0.0.1
            priority-group 2
            ratio 5
            state user-down
        }
        /Common/10.0.0.2:80 {
            address 10.0.0.2
        }
    }
    slow-ramp-time 0
}
`},
		{cmd: "list net self", wantOut: "net self /Common/s_ext {\n    address 198.18.1.3/24\n    vlan /Common/client\n}\n" +
			"net self /Common/self_client {\n    address 198.18.1.2/24\n    description \"from the boot config (selfips)\"\n    vlan /Common/client\n}\n" +
			"net self /Common/self_server {\n    address 198.18.2.2/24\n    description \"from the boot config (selfips)\"\n    vlan /Common/server\n}\n"},
		{cmd: "list net route", wantOut: "net route /Common/r_default {\n    gw 198.18.1.1\n    network default\n}\n"},
	}
	s, _ := newTestStore(t, baseConf)
	for _, st := range steps {
		out, err := s.Exec(st.cmd)
		switch {
		case st.wantErr != "":
			if err == nil || err.Error() != st.wantErr {
				t.Fatalf("Exec(%q) = %v, want error %q", st.cmd, err, st.wantErr)
			}
			continue
		case err != nil:
			t.Fatalf("Exec(%q): %v", st.cmd, err)
		case st.wantOut == "REDACTED":
			if strings.Contains(out, "s3cret") || !strings.Contains(out, "encrypted-password \"$2a$") || !strings.Contains(out, "role operator") {
				t.Errorf("Exec(%q) = %q: want the role and a bcrypt hash, never the clear text", st.cmd, out)
			}
			continue
		}
		if diff := cmp.Diff(st.wantOut, out); diff != "" {
			t.Errorf("Exec(%q) output (-want +got):\n%s", st.cmd, diff)
		}
	}
	run := s.Running()
	u := run.Users["ops"]
	if u == nil || !u.CheckPassword("s3cret pass") || u.CheckPassword("wrong") {
		t.Errorf("user ops: password check failed: %+v", u)
	}
	if strings.Contains(conf.Text(run), "s3cret") {
		t.Errorf("saved config holds the clear password")
	}
	for _, b := range []string{"/Common/http", "/Common/source_addr", "/Common/tcp"} {
		if strings.Contains(conf.Text(run), " "+b+" {") {
			t.Errorf("saved config prints built-in %s", b)
		}
	}
	// The boot config's self IPs are listed, never saved.
	saved := run.Clone()
	for name, sf := range saved.Selfs {
		if sf.Boot {
			delete(saved.Selfs, name)
		}
	}
	// What the commands made prints and parses back to the same model, and
	// printing is a fixed point, saved and with all-properties (conf's
	// TestRoundTripProperty compares all-properties by model as well).
	for _, all := range []bool{false, true} {
		text1 := conf.Format(saved, all)
		c2, err := conf.ParseConfig(text1)
		if err != nil {
			t.Fatalf("all=%v: printed config does not parse: %v\n%s", all, err, text1)
		}
		if diff := cmp.Diff(saved, c2, cmpOpts...); !all && diff != "" {
			t.Fatalf("parse(print(c)) != c (-want +got):\n%s\nprinted:\n%s", diff, text1)
		}
		if text2 := conf.Format(c2, all); text2 != text1 {
			t.Fatalf("all=%v: print is not a fixed point:\nfirst:\n%s\nsecond:\n%s", all, text1, text2)
		}
	}
}

// Commands never keep what they do not know, while a loaded config keeps
// it (TestParseConfigNotices).
func TestCommandsKeepNoUnknown(t *testing.T) {
	s, _ := newTestStore(t, baseConf)
	for _, cmd := range []string{
		"create ltm node n9 address 10.0.0.9 dynamic-ratio 2",
		"ltm node n9 { address 10.0.0.9 dynamic-ratio 2 }",
		"modify ltm pool web members modify { 10.0.0.1:80 { monitor tcp } }",
	} {
		if _, err := s.Exec(cmd); err == nil || !strings.Contains(err.Error(), "unknown property") {
			t.Errorf("Exec(%q) = %v, want an unknown property error", cmd, err)
		}
	}
}
