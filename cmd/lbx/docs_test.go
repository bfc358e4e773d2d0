package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"lbx/ctrlplane/appliance"
	"lbx/ctrlplane/ctlsock"
	"lbx/ctrlplane/ctrltest"
	"lbx/dataplane"
	"lbx/dataplane/porttest"
	"lbx/internal/clock"
)

// The examples of README.md and docs/*.md, found in their fenced blocks by
// language. ctrlplane's TestDocExamples applies the `tmsh`, `alteon` and
// `yaml` blocks; this test runs the rest: every `lbx …` line of the `sh`
// blocks as a command line of this binary against an in-process appliance
// booted with the testbed's default config (a fresh one per line), its
// pipes (`| jq …`) and redirections (`< FILE`) included, checking that it
// succeeds, or, in a transcript (`$ ` lines followed by their output),
// that it prints exactly the output shown and fails exactly when the
// transcript shows an `lbx: …` error; the `text` blocks through the
// producer named for them below; `tmsh file=NAME` blocks are the files
// the command lines name. A block in another language, an untagged block
// not listed in untaggedBlocks, or a command line matching no rule fails
// the test, so a new example is run or explicitly listed.

// docFence is a fenced block: its info string and its text.
var docFence = regexp.MustCompile("(?ms)^```([^\n`]*)\n(.*?)^```")

// skipRule skips the command lines whose words start with words (are
// words, when exact).
type skipRule struct {
	words   []string
	covered string
	exact   bool
}

// skipCommands are the command lines a unit test cannot run, each with the
// test that runs it instead. A line is skipped when its words start with
// the rule's words.
var skipCommands = []skipRule{
	// make demo boots the testbed (root, namespaces); its steps are the
	// namespace tests TestIntegrationRoundRobinHTTP,
	// TestIntegrationMonitorKillAndRestart and TestIntegrationIISCloseCheck
	// (testbed/).
	{[]string{"make", "demo"}, "testbed integration tests", false},
	// make test is the test suite itself (.ci/run runs it).
	{[]string{"make", "test"}, ".ci/run", false},
	// make bench needs root and minutes; bench's TestReport, TestWrkArgs
	// and TestPeerConfigs test its parts.
	{[]string{"make", "bench"}, "bench tests", false},
	{[]string{"make", "bench-quick"}, "bench tests", false},
	// wrk, iperf3 and the bench's UDP sender are what make bench runs
	// (docs/BENCHMARKS.md, written by it): bench's TestWrkArgs and
	// TestCommandLines.
	{[]string{"wrk"}, "bench TestWrkArgs", false},
	{[]string{"iperf3"}, "bench TestCommandLines", false},
	{[]string{"bench", "udp-send"}, "bench TestCommandLines", false},
	// lbx testbed up, exec and down are testbed.Up, Testbed.Command and
	// Testbed.Down, which every namespace test (testbed/integration_test.go,
	// upTestbed, curl) runs; status -o json is TestStatusJSONKeys here.
	{[]string{"lbx", "testbed"}, "testbed integration tests, TestStatusJSONKeys", false},
	// --appliance reads a testbed's state file: TestApplianceFlag here,
	// and the arr topology's tests (testbed TestIntegrationARR*).
	{[]string{"lbx", "--appliance"}, "TestApplianceFlag, testbed TestIntegrationARRRouting", false},
	// lbx farm runs a farm member (root, a LAN, namespaces): the farm
	// testbed's TestFarm, TestFarmOnPort, TestFarmChecker and
	// TestFarmDemo (testbed/) run it, its status, stop and start.
	{[]string{"lbx", "farm"}, "testbed TestFarm, TestFarmChecker", false},
	{[]string{"lbx", "demo", "farm"}, "testbed TestFarmDemo", true},
	// lbx demo arr (make demo-arr) brings the arr topology up (root): TestARRDemo.
	{[]string{"lbx", "demo", "arr"}, "TestARRDemo", true},
	{[]string{"make", "demo-arr"}, "TestARRDemo", false},
	// lbx demo ha (make demo-ha) brings the ha topology up (root): TestHADemo.
	{[]string{"lbx", "demo", "ha"}, "TestHADemo", true},
	{[]string{"make", "demo-ha"}, "TestHADemo", false},
	// lbx run with TAP ports needs root: the testbed starts it for every
	// namespace test; its boot config handling is TestRunBootFromPrintedDefault
	// and TestRunBootOverrideEachKey, SSH and the admin password
	// TestRunAdminPasswordAndHostKey. (--print-default runs here.)
	{[]string{"lbx", "run"}, "testbed integration tests", true},
	{[]string{"lbx", "run", "-f"}, "testbed integration tests, TestRunBootFromPrintedDefault", false},
	{[]string{"lbx", "run", "--ssh.listen"}, "TestRunAdminPasswordAndHostKey", false},
	// lbx run --rest.listen on a management address this machine lacks:
	// ctrlplane/appliance's TestApplianceServesREST serves REST on a
	// loopback rest.listen; the testbed (TestIntegrationAnsibleLifecycle)
	// passes --rest.listen to a real lbx run.
	{[]string{"lbx", "run", "--rest.listen"}, "ctrlplane/appliance TestApplianceServesREST", false},
	// lbx import arr reads a file of the repository (the sample
	// applicationHost.config): TestImportARR runs it and pushes its output.
	{[]string{"lbx", "import", "arr"}, "TestImportARR", false},
	{[]string{"lbx", "push", "arr.tmsh"}, "TestImportARR", true},
	{[]string{"lbx", "-c", "modify ltm virtual vs_http policies add { arr_rules } persist replace-all-with { appFarm_affinity }"}, "TestImportARR", true},
	// make image, make vm and lbx vm build and boot the appliance VM
	// (minutes, qemu, root for the testbed): testbed's
	// TestIntegrationVMAppliance builds the image (make test runs make
	// image first) and boots it in the testbed; vm's and vm/guest's unit
	// tests cover the parts.
	{[]string{"make", "image"}, "testbed TestIntegrationVMAppliance", false},
	{[]string{"make", "vm"}, "testbed TestIntegrationVMAppliance", false},
	{[]string{"lbx", "vm"}, "testbed TestIntegrationVMAppliance", false},
	// curl against the REST API: ctrlplane/rest's TestREADMECurlExamples
	// runs every curl line of README against a served API.
	{[]string{"curl"}, "ctrlplane/rest TestREADMECurlExamples", false},
	// ssh to the appliance: ctrlplane/sshd's TestOpenSSHClientInTmux drives
	// OpenSSH's client against it.
	{[]string{"ssh"}, "ctrlplane/sshd TestOpenSSHClientInTmux", false},
}

// untaggedBlocks are the fenced blocks with no language, by their first
// line: pictures and sample output no test can produce verbatim (addresses
// and timestamps vary), each with the test that checks what it shows.
var untaggedBlocks = map[string]string{
	// The arr topology's picture: testbed/topo's TestBuiltins loads it
	// and TestIntegrationARRRouting (testbed) routes through it.
	"client 198.18.1.10 ─br-client─ bigip [198.18.1.2 | VIP 198.18.1.100 | 198.18.3.2] ─br-arr─┐": "TestIntegrationARRRouting",
	// The ha topology's picture: TestBuiltins loads it, TestHADemo runs it.
	"client 198.18.1.10 ─br-client─┬ lbx1 [198.18.1.2 | float .1, VIP .100 | 198.18.2.2] ┬─br-server─ server1 198.18.2.11": "TestHADemo",
	// The monitor trace of the IIS emulator: TestIntegrationIISCloseCheck
	// (testbed/monitor_integration_test.go) checks the trace's reason and
	// its [R.] packet.
	"15:31:58.180460 /Common/iis_tcp 198.18.2.14:80: failure (RST after FIN during close) in 681µs": "TestIntegrationIISCloseCheck",
	// Topology pictures: TestDefaultTopologyServers (testbed) checks the
	// hosts and addresses.
	"client 198.18.1.10 ── br-client ── lbx-ext [lbx  self 198.18.1.2, VIP 198.18.1.100:80 tcp, :7 udp]": "TestDefaultTopologyServers",
	"client 198.18.1.10 ── switch ── lbx-ext [self 198.18.1.2, VIP 198.18.1.100]":                        "TestDefaultTopologyServers",
	// lbx farm status: farm's TestStatusText prints it (testbed's
	// TestFarm logs a live one).
	"farm VIP 198.18.70.100 (virtual MAC 02:fa:c6:12:46:64) on eth0, rules tcp/80 on_addr": "farm TestStatusText",
	// The peers' configs in docs/BENCHMARKS.md, written by make bench:
	// bench's TestPeerConfigs.
	"table ip lbx_bench {": "bench TestPeerConfigs",
	"global":               "bench TestPeerConfigs",
	"# tmsh push to both lbx (lbx-xdp also gets bench_web and bench_http on its address)": "bench TestPeerConfigs",
}

// textProducers make the output a `text` block shows, keyed by the start
// of the block's first line.
var textProducers = map[string]func(t *testing.T) string{
	// A guest refused a modify (README, Users and roles).
	"01070822:1: Access Denied": func(t *testing.T) string {
		sock := newDocAppliance(t)
		mustRun(t, "", "--socket", sock, "-c", "create auth user bob role guest password bob-secret; create ltm pool web")
		_, err := (&ctlsock.Client{Path: sock, User: "bob"}).Exec("modify ltm pool web description x")
		if err == nil {
			t.Fatal("a guest's modify was accepted")
		}
		return err.Error() + "\n"
	},
	// A shell's preferences (README, The interactive shell): each line of
	// the transcript runs in `lbx cli` as admin, a new shell each time
	// with the same HOME, so the preferences outlive the shell too.
	"admin@(lbx)(cfg-sync Standalone)(Active)(/Common)(tmos)# list cli preference": func(t *testing.T) string {
		sock := newDocAppliance(t)
		t.Setenv("HOME", t.TempDir())
		const prompt = "admin@(lbx)(cfg-sync Standalone)(Active)(/Common)(tmos)# "
		var b strings.Builder
		for _, line := range []string{"list cli preference", "modify cli preference pager disabled", "modify cli preference default-dialect alteon"} {
			b.WriteString(prompt + line + "\n")
			b.WriteString(mustRun(t, line+"\n", "--socket", sock, "cli", "--dialect", "tmsh"))
		}
		return b.String()
	},
}

func TestDocShellExamples(t *testing.T) {
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../../README.md")
	ran := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		blocks := docFence.FindAllStringSubmatch(string(b), -1)
		// The files the examples name: tmsh file=NAME blocks.
		dir := t.TempDir()
		for _, m := range blocks {
			if name, ok := strings.CutPrefix(m[1], "tmsh file="); ok {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(m[2]), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i, m := range blocks {
			info, text := m[1], m[2]
			name := fmt.Sprintf("%s#%d-%s", filepath.Base(f), i, strings.Fields(info + " untagged")[0])
			first, _, _ := strings.Cut(text, "\n")
			switch {
			case info == "tmsh" || info == "alteon" || info == "yaml" || strings.HasPrefix(info, "tmsh file="):
				// ctrlplane's TestDocExamples; files are run by the lines naming them.
			case info == "yaml topology":
				// testbed/topo's TestDocExamples parses them.
			case info == "sh":
				t.Run(name, func(t *testing.T) { ran += runShellBlock(t, dir, text) })
			case info == "text":
				t.Run(name, func(t *testing.T) {
					var produce func(*testing.T) string
					for k, p := range textProducers {
						if strings.HasPrefix(first, k) {
							produce = p
						}
					}
					if produce == nil {
						t.Fatalf("%s: no producer for the text block starting %q: add one to textProducers", f, first)
					}
					if got := produce(t); got != text {
						t.Errorf("%s: the example shows\n%s\nthe appliance prints\n%s", f, text, got)
					}
					ran++
				})
			case info == "":
				if _, ok := untaggedBlocks[first]; !ok {
					t.Errorf("%s: untagged block starting %q: give it a language whose examples run, or list it in untaggedBlocks with the test that covers it", f, first)
				}
			default:
				t.Errorf("%s: block in %q: no test runs it (sh, text, tmsh, alteon, yaml, yaml topology run)", f, info)
			}
		}
	}
	if ran < 20 {
		t.Errorf("ran %d examples; README alone has more", ran)
	}
}

// docCommand is one command line of a sh block and the output a
// transcript shows for it (nil when the block shows none).
type docCommand struct {
	line string
	want *string
}

// shellCommands splits a sh block into its command lines. A transcript
// block's commands start with "$ " and are followed by their output;
// otherwise every line is a command, and a line that is only a comment
// continues the previous line's comment.
func shellCommands(text string) []docCommand {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	transcript := slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "$ ") })
	var out []docCommand
	for _, l := range lines {
		switch {
		case transcript && strings.HasPrefix(l, "$ "):
			out = append(out, docCommand{line: l[2:], want: new(string)})
		case transcript:
			*out[len(out)-1].want += l + "\n"
		case strings.TrimSpace(l) != "" && !strings.HasPrefix(strings.TrimSpace(l), "#"):
			out = append(out, docCommand{line: l})
		}
	}
	return out
}

// shellLine is a command line split as sh would: the commands of a
// pipeline, each as its words, the file its standard input comes from,
// and variable assignments before the first command.
type shellLine struct {
	env   []string
	pipe  [][]string
	stdin string
}

// parseShell splits a command line: words, '…' and "…" quoting, a
// comment from an unquoted # starting a word, |, and < FILE.
func parseShell(line string) (shellLine, error) {
	var sl shellLine
	var words []string
	var w strings.Builder
	inWord, redirect := false, false
	end := func() {
		if !inWord {
			return
		}
		switch {
		case redirect:
			sl.stdin, redirect = w.String(), false
		case len(words) == 0 && len(sl.pipe) == 0 && strings.Contains(w.String(), "=") && !strings.HasPrefix(w.String(), "-"):
			sl.env = append(sl.env, w.String())
		default:
			words = append(words, w.String())
		}
		w.Reset()
		inWord = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				return sl, fmt.Errorf("unclosed %c in %q", c, line)
			}
			w.WriteString(line[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == ' ' || c == '\t':
			end()
		case c == '#' && !inWord:
			i = len(line)
		case c == '|':
			end()
			sl.pipe = append(sl.pipe, words)
			words = nil
		case c == '<':
			end()
			redirect = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	end()
	sl.pipe = append(sl.pipe, words)
	return sl, nil
}

// runShellBlock runs a sh block's command lines and returns how many ran.
func runShellBlock(t *testing.T, dir, text string) int {
	ran := 0
	for _, c := range shellCommands(text) {
		sl, err := parseShell(c.line)
		if err != nil {
			t.Fatal(err)
		}
		args := sl.pipe[0]
		if i := slices.IndexFunc(skipCommands, func(s skipRule) bool {
			if s.exact {
				return slices.Equal(args, s.words)
			}
			return len(args) >= len(s.words) && slices.Equal(args[:len(s.words)], s.words)
		}); i >= 0 {
			t.Logf("%s: not run here; covered by %s", c.line, skipCommands[i].covered)
			continue
		}
		if len(args) == 0 || args[0] != "lbx" {
			t.Errorf("%s: no rule runs this command line: run it here or add it to skipCommands with the test that covers it", c.line)
			continue
		}
		ran++
		t.Run(strings.Join(args[1:], " "), func(t *testing.T) { runDocCommand(t, dir, c, sl) })
	}
	return ran
}

// runDocCommand runs one lbx command line of the docs in-process against a
// fresh appliance with the default config, then its pipeline's other
// commands as processes, and checks the result.
func runDocCommand(t *testing.T, dir string, c docCommand, sl shellLine) {
	args := sl.pipe[0][1:]
	if len(args) > 0 && args[0] == "cli" {
		// The interactive shell runs in a terminal: its prompt must come.
		prompt := "(tmos)#"
		if slices.Contains(args, "alteon") || slices.Contains(args, "--alteon") {
			prompt = ">> Main#"
		}
		ts := startTmuxShellPrompt(t, ctrltest.DefaultConfigText(), prompt, args[1:]...)
		ts.keys("quit", "Enter")
		return
	}
	if !(len(args) > 0 && args[0] == "run") {
		args = append([]string{"--socket", newDocAppliance(t)}, args...)
	}
	for i, a := range args {
		if _, err := os.Stat(filepath.Join(dir, a)); err == nil && a != "-" {
			args[i] = filepath.Join(dir, a)
		}
	}
	var stdin []byte
	if sl.stdin != "" {
		var err error
		if stdin, err = os.ReadFile(filepath.Join(dir, sl.stdin)); err != nil {
			t.Fatalf("%s: %v (define it in a tmsh file=%s block)", c.line, err, sl.stdin)
		}
	}
	var out, errb bytes.Buffer
	err := run(args, bytes.NewReader(stdin), &out, &errb)
	got := out.String()
	if err != nil {
		got += "lbx: " + err.Error() + "\n"
	}
	if c.want != nil {
		if got != *c.want {
			t.Errorf("%s: the example shows\n%s\nlbx prints\n%s", c.line, *c.want, got)
		}
		if failed := strings.Contains(*c.want, "lbx: "); failed != (err != nil) {
			t.Errorf("%s: error %v; the example shows it %s", c.line, err, map[bool]string{true: "failing", false: "succeeding"}[failed])
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", c.line, err, got)
	}
	for _, p := range sl.pipe[1:] {
		if _, err := exec.LookPath(p[0]); err != nil {
			t.Fatalf("%s: %s is not installed (.ci/run installs it)", c.line, p[0])
		}
		cmd := exec.Command(p[0], p[1:]...)
		cmd.Stdin = strings.NewReader(got)
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %s: %v\ninput:\n%s", c.line, p[0], err, got)
		}
		got = string(b)
		// A key the example reads that the output lacks is null to jq.
		if strings.TrimSpace(got) == "" || strings.Contains(got, "null") {
			t.Errorf("%s: %s printed %q", c.line, p[0], got)
		}
	}
}

// newDocAppliance starts an in-process appliance as the testbed's: ports
// lbx-ext and lbx-int with the testbed's self IPs, the default config,
// monitors on a clock that does not move. It returns its socket.
func newDocAppliance(t *testing.T) string {
	t.Helper()
	return newDocApplianceWith(t, "")
}

// newDocApplianceWith is newDocAppliance with extra stanzas after the
// default config.
func newDocApplianceWith(t *testing.T, extra string) string {
	t.Helper()
	var ports []dataplane.Port
	for i, name := range []string{"lbx-ext", "lbx-int"} {
		p, err := porttest.NewSwitch().Port(porttest.Config{Name: name, MAC: porttest.MustMAC([]string{"02:00:5e:10:01:02", "02:00:5e:10:02:02"}[i])})
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, p)
	}
	dir := t.TempDir()
	saved := filepath.Join(dir, "bigip.conf")
	if err := os.WriteFile(saved, []byte(ctrltest.DefaultConfigText()+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "lbx.sock")
	app, err := appliance.New(appliance.Config{
		Ports: ports,
		SelfIPs: []dataplane.SelfIP{
			{Name: "/Common/self_ext", Prefix: netip.MustParsePrefix("198.18.1.2/24"), Port: "lbx-ext"},
			{Name: "/Common/self_int", Prefix: netip.MustParsePrefix("198.18.2.2/24"), Port: "lbx-int"},
		},
		Socket:       sock,
		SavedPath:    saved,
		FlowCapacity: 1024,
		MonitorClock: clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.Close(); err != nil {
			t.Errorf("appliance close: %v", err)
		}
	})
	return sock
}

// inlineCommand is a tmsh command quoted inline in the docs' prose.
var inlineCommand = regexp.MustCompile("`((?:list|show|create|modify|delete|reset-stats|save|load|cd|run) [^`\n]*)`")

// inlineAlteon is an Alteon command line quoted inline: a path from one
// of the root menu's entries (other inline paths are files).
var inlineAlteon = regexp.MustCompile("`(/(?:c|cfg|i|info|stats|oper|apply|diff|revert|save)(?:[/ ][^`\n]*)?)`")

// inlineMentions are inline tmsh words that name a command (in prose such
// as "`create ltm pool` is …") rather than show one to run; a placeholder
// (NAME, …, [ ], |, <TAB>) marks the others.
var inlineMentions = []string{"create ltm pool", "delete net self", "load sys config", "show ltm monitor-trace",
	"cd /Other", "list cli preference", "modify cli preference", "/oper/slb/dis"}

// inlineRefused are the inline commands README gives as what lbx answers
// is not implemented, with the answer.
var inlineRefused = map[string]string{
	"list gtm wideip": "list gtm wideip: global traffic manager (gtm): not implemented in lbx",
	"create ltm rule": "create ltm rule: not implemented in lbx",
	// The doc appliance has no ha section.
	"run sys failover standby": "run sys failover: this unit is standalone",
	"run sys failover offline": "run sys failover: this unit is standalone",
	"run sys failover online":  "run sys failover: this unit is standalone",
	// Nor config sync: ctrlplane/appliance's TestConfigSyncPair runs these.
	"list cm trust-domain":   "list cm trust-domain: config sync is off",
	"list cm device":         "list cm device: config sync is off",
	"list cm device-group":   "list cm device-group: config sync is off",
	"create cm device-group": "create cm device-group: config sync is off",
	"/oper/slb/sync":         "/oper/slb/sync: config sync is off",
	// TestHADemo runs it on the ha topology.
	"run cm config-sync to-group pair":                       "run cm config-sync: config sync is off",
	"run sys failover standby traffic-group traffic-group-1": "run sys failover: this unit is standalone",
	// ctrlplane/appliance's TestHAVRRPSettingsAtRunTime runs these on HA units.
	"modify cm traffic-group traffic-group-1 ha-priority 250": "modify cm traffic-group: HA is off",
	"/c/l3/vrrp/vr 1/prio 250":                                "/c/l3/vrrp/vr 1/prio: VRRP is off",
}

// inlineKept are stanzas lbx keeps but does not run, loaded for the
// inline commands that list them (list ltm rule, list sys global-settings).
const inlineKept = `ltm rule /Common/docs_rule {
    when HTTP_REQUEST { }
}
sys global-settings {
    hostname lbx.example
}
`

// placeholder matches what is no literal command: an ellipsis, optional
// or alternative parts, a key, a word in capitals (NAME, ADDR:PORT).
var placeholder = regexp.MustCompile(`…|\[|\||<TAB>|\b[A-Z][A-Z:]*\b`)

// Every tmsh command and Alteon line the docs quote inline runs on the
// testbed's default configuration, as `lbx -c` sends it.
func TestDocInlineCommands(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	ran := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Fenced blocks are the other tests'.
		text := docFence.ReplaceAllString(string(b), "")
		var cmds []string
		for _, m := range inlineCommand.FindAllStringSubmatch(text, -1) {
			if c := m[1]; !placeholder.MatchString(c) && !slices.Contains(inlineMentions, c) && !slices.Contains(cmds, c) {
				cmds = append(cmds, c)
			}
		}
		for _, m := range inlineAlteon.FindAllStringSubmatch(text, -1) {
			if c := m[1]; !placeholder.MatchString(c) && !slices.Contains(inlineMentions, c) && !slices.Contains(cmds, c) {
				cmds = append(cmds, c)
			}
		}
		for _, c := range cmds {
			ran++
			t.Run(filepath.Base(f)+"/"+c, func(t *testing.T) {
				sock := newDocApplianceWith(t, inlineKept)
				args := []string{"--socket", sock, "-c", c}
				if strings.HasPrefix(c, "/") {
					args = append([]string{"--dialect", "alteon"}, args...)
				}
				out, err := lbx("", args...)
				if want, ok := inlineRefused[c]; ok {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("%s: `%s` = %v, want %q", f, c, err, want)
					}
					return
				}
				if err != nil {
					t.Errorf("%s: `%s`: %v\n%s", f, c, err, out)
				}
			})
		}
	}
	if ran < 15 {
		t.Errorf("ran %d inline commands; README alone quotes more", ran)
	}
}

// jsonRow is a row of README's -o json table: | `COMMAND` | type | keys |.
var jsonRow = regexp.MustCompile("(?m)^\\| (`(?:show|list)[^|]*(?:\\\\\\|[^|]*)*) \\| ([^|]*) \\| (.*) \\|$")

// Every command of README's -o json table prints JSON whose keys the row
// lists, on a configuration with an object of every kind.
func TestDocJSONTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	sock := newDocAppliance(t)
	mustRun(t, "", "--socket", sock, "push", writeFile(t, `create ltm monitor http web_http defaults-from http interval 7
modify ltm pool web_pool monitor web_http
create ltm persistence source-addr sticky defaults-from source_addr
modify ltm virtual vs_http persist replace-all-with { sticky { default yes } }
create ltm snatpool snat1 members add { 198.18.1.50 }
create net route r_lab network 10.20.0.0/16 gw 198.18.2.1
create auth user olga role operator password op-secret
create ltm policy docs_policy rules { r { conditions { 0 { http-uri path starts-with values { /a } } } actions { 0 { forward select pool web_pool } } } }
`))
	backticked := regexp.MustCompile("`([^`]+)`")
	rows := jsonRow.FindAllStringSubmatch(string(b), -1)
	if len(rows) < 10 {
		t.Fatalf("found %d rows of the -o json table", len(rows))
	}
	for _, row := range rows {
		documented := map[string]bool{}
		for _, m := range backticked.FindAllStringSubmatch(row[3], -1) {
			documented[m[1]] = true
		}
		for _, cmd := range expandJSONCommand(strings.Trim(row[1], "`")) {
			t.Run(cmd, func(t *testing.T) {
				out := mustRun(t, "", "--socket", sock, "-c", cmd, "-o", "json")
				var elems []map[string]any
				if strings.HasPrefix(out, "{") {
					var one map[string]any
					if err := json.Unmarshal([]byte(out), &one); err != nil {
						t.Fatalf("%s -o json: %v\n%s", cmd, err, out)
					}
					elems = append(elems, one)
				} else if err := json.Unmarshal([]byte(out), &elems); err != nil {
					t.Fatalf("%s -o json: %v\n%s", cmd, err, out)
				}
				if len(elems) == 0 && cmd != "show sys connection" { // no traffic here: no flows
					t.Fatalf("%s -o json printed no element", cmd)
				}
				for _, e := range elems {
					for k := range e {
						if !documented[k] && !(row[2] != "" && strings.Contains(row[3], "snake case")) {
							t.Errorf("%s -o json has key %q, which README's table does not list", cmd, k)
						}
					}
				}
			})
		}
	}
}

// expandJSONCommand turns a table cell (`list\|show ltm monitor [TYPE]`,
// `list ltm virtual\|pool\|node`) into the commands it stands for.
func expandJSONCommand(cell string) []string {
	cell = strings.TrimSpace(regexp.MustCompile(`\s*\[[^]]*\]`).ReplaceAllString(cell, ""))
	words := strings.Fields(cell)
	out := []string{""}
	for _, w := range words {
		var next []string
		for _, prefix := range out {
			for _, alt := range strings.Split(w, `\|`) {
				next = append(next, strings.TrimSpace(prefix+" "+alt))
			}
		}
		out = next
	}
	return out
}
