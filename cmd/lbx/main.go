// Command lbx is the load-balancer appliance: the dataplane and control
// plane (`lbx run`), the operator's CLI (`lbx cli`, `lbx -c`, `lbx push`),
// and the namespace testbed (`lbx testbed …`, `lbx demo`).
package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/chzyer/readline"
	"github.com/spf13/pflag"

	"lbx/cli"
	"lbx/ctrlplane/ctlsock"
	"lbx/ctrlplane/store"
	"lbx/testbed"
)

const usage = `lbx — a software load-balancer appliance

usage:
  lbx run [-f boot.yaml] [--key value …]   boot the appliance in the foreground
  lbx cli [--dialect tmsh|alteon]         interactive shell: tmsh, or Alteon /cfg menus
                                          (in tmsh, a line starting with / is Alteon;
                                          default: modify cli preference default-dialect)
  lbx [--dialect D] -c 'COMMAND' [-o json]
                                          run one command on the running appliance;
                                          -o json: list and show as JSON (README lists
                                          the kinds and their keys)
  lbx push [--dialect D] [--check] FILE|-
                                          apply a script as a whole: tmsh commands and
                                          bigip.conf stanzas, or an Alteon /cfg dump;
                                          --check: validate, print the diff, apply nothing
  lbx import arr [--policy NAME] FILE     translate an IIS applicationHost.config (Application
                                          Request Routing: web farms, URL Rewrite rules) into
                                          tmsh to push; what is not translated is listed first
  lbx testbed up|down|status [-o json]    the network-namespace testbed
  lbx testbed up --topology NAME|FILE     another layout: arr (BIG-IP, two ARR nodes, content
                                          servers), ha (an active/standby lbx pair) or a topology
                                          YAML file (docs/TESTBED.md)
  lbx testbed up --port-driver afxdp      the appliance on veth pairs with AF_XDP ports (default: tap)
  lbx testbed up --vm [--image FILE]      the appliance VM (make image) in the testbed
  lbx testbed exec HOST -- CMD …          run a command on a testbed host
  lbx demo                                testbed up, traffic, a failure, testbed down
  lbx demo arr                            the arr topology: the seed paper's scenarios (routing,
                                          active/passive failover, active/active with a slow node)
  lbx demo ha                             the ha topology: an active/standby pair, a mirrored transfer
                                          across run sys failover standby and kill -9
  lbx farm run -f userconfig.xml [--macro NAME=VALUE …] [--peer ADDR …] [--module DIR]
                                          a member of a SafeKit-style farm (README "Farm mode")
  lbx farm status [-o json] | stop | start
                                          a farm member's view, graceful stop, start again
  lbx demo farm                           three servers sharing a VIP: spread, stop one, start it
  lbx vm image                            build the appliance disk (make image)
  lbx vm console                          attach to the testbed VM's serial console (Ctrl-] leaves)
  lbx vm run [--serial stdio|unix:PATH] [--tap DEV]…
                                          boot it under qemu (README: Boot it as a VM)

client options (cli, -c, push): --socket PATH (env LBX_CONTROL_SOCKET,
default /run/lbx/lbx.sock); --appliance NAME (a testbed appliance, its
socket from lbx testbed status); --dialect tmsh|alteon (default: a text starting
with / is Alteon, anything else tmsh; --alteon is --dialect alteon)
push options: --push-timeout DURATION (give up waiting for the apply after
it; by default a push waits until applied, as a push given up on may still
apply)

exit status: 0 done; 1 the command or the apply failed (nothing of a
refused push is applied); 2 usage error (unknown command, bad flag)
`

// The exit statuses, as the usage text and README document them.
const (
	exitFailed = 1 // the command, or the apply, failed
	exitUsage  = 2 // the command line itself is wrong
)

func main() {
	if isVMInit() {
		runVMInit()
	}
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lbx:", err)
		os.Exit(exitCode(err))
	}
}

// usageError is a command line lbx cannot run as written.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef is a usageError.
func usagef(format string, a ...any) error {
	return &usageError{fmt.Errorf(format, a...)}
}

// exitCode is the exit status for run's error.
func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailed
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command")
	}
	switch args[0] {
	case "run":
		return runAppliance(args[1:], stdout, stderr)
	case "cli", "push", "-c", "--socket", "--appliance", "--dialect", "--alteon", "-o", "--output":
		return runClient(args, stdin, stdout, stderr)
	case "import":
		return runImport(args[1:], stdout, stderr)
	case "testbed":
		return runTestbed(args[1:], stdout, stderr)
	case "demo":
		return runDemo(args[1:], stdout)
	case "farm":
		return runFarm(args[1:], stdout, stderr)
	case "vm":
		return runVM(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usagef("unknown command %q", args[0])
	}
}

// runClient handles the operator commands that talk to a running appliance.
func runClient(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("lbx", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "control socket (default $LBX_CONTROL_SOCKET or /run/lbx/lbx.sock)")
	appliance := fs.String("appliance", "", "the testbed appliance NAME (its socket from the testbed's state; lbx testbed status)")
	stateDir := fs.String("testbed-state", testbed.DefaultStateDir, "--appliance: the testbed's state directory")
	command := fs.StringP("command", "c", "", "run one command")
	dialect := fs.String("dialect", "", "tmsh or alteon (default: a text starting with / is Alteon)")
	alteon := fs.Bool("alteon", false, "the same as --dialect alteon")
	check := fs.Bool("check", false, "push: validate and print the diff, apply nothing")
	output := fs.StringP("output", "o", "", "-c: json prints list and show as JSON")
	pushTimeout := fs.Duration("push-timeout", 0, "push: give up waiting for the apply after this long (0: wait until applied)")
	fs.SetInterspersed(true)
	if err := fs.Parse(args); err != nil {
		return &usageError{err}
	}
	switch {
	case *alteon && *dialect != "" && *dialect != "alteon":
		return usagef("--alteon and --dialect %s disagree", *dialect)
	case *alteon:
		*dialect = "alteon"
	case *dialect != "" && *dialect != "tmsh" && *dialect != "alteon":
		return usagef("--dialect %q: want tmsh or alteon", *dialect)
	}
	if *output != "" && *output != "json" {
		return usagef("-o %q: want json", *output)
	}
	path := *socket
	if *appliance != "" {
		if path != "" {
			return usagef("--socket and --appliance: give one")
		}
		st, err := testbed.ReadState(*stateDir)
		if err != nil {
			return fmt.Errorf("--appliance %s: %w", *appliance, err)
		}
		a, err := st.Appliance(*appliance)
		if err != nil {
			return fmt.Errorf("--appliance %s: %w", *appliance, err)
		}
		path = a.Socket
	}
	if path == "" {
		path = os.Getenv("LBX_CONTROL_SOCKET")
	}
	if path == "" {
		path = "/run/lbx/lbx.sock"
	}
	client := &ctlsock.Client{Path: path, PushTimeout: *pushTimeout, Dialect: *dialect}
	sh := &cli.Shell{App: client, Out: stdout, Err: stderr, Alteon: *dialect == "alteon"}
	rest := fs.Args()
	verb := ""
	if len(rest) > 0 {
		verb = rest[0]
	}
	if fs.Changed("command") {
		verb = "-c"
	}
	if *check && verb != "push" {
		return usagef("--check is for push")
	}
	if *output != "" && verb != "-c" {
		return usagef("-o json is for -c")
	}
	switch verb {
	case "-c":
		if len(rest) > 0 {
			return usagef("-c takes one quoted command; unexpected %q", strings.Join(rest, " "))
		}
		if *output == "json" {
			out, err := client.ShowJSON(*command)
			io.WriteString(stdout, out)
			return err
		}
		return sh.One(*command)
	case "":
		return usagef("want cli, push FILE or -c COMMAND")
	case "cli":
		if len(rest) != 1 {
			return usagef("cli takes no arguments; unexpected %q", strings.Join(rest[1:], " "))
		}
		// One server-side session for the whole shell, so a cli
		// transaction spans the commands typed into it.
		var id [8]byte
		if _, err := rand.Read(id[:]); err != nil {
			return err
		}
		client.Session = fmt.Sprintf("cli-%d-%x", os.Getpid(), id)
		// The shell picks the dialect line by line (and ExecAlteon names
		// it): --dialect only chooses where it starts.
		client.Dialect = ""
		home, _ := os.UserHomeDir()
		hist := ""
		if home != "" {
			hist = home + "/.lbx_history"
			sh.PrefsFile = home + "/.lbx_prefs"
		}
		// The user's default dialect (modify cli preference
		// default-dialect) unless --dialect names one.
		if *dialect == "" {
			prefs, err := cli.LoadPrefs(sh.PrefsFile)
			if err != nil {
				fmt.Fprintf(stderr, "cli: %v; the defaults apply\n", err)
			}
			sh.Alteon = prefs.DefaultDialect == "alteon"
		}
		sh.Height = stdoutHeight
		if f, ok := stdin.(*os.File); !ok || f != os.Stdin {
			sh.In = io.NopCloser(stdin) // run's caller gave its own input
		}
		return sh.Interactive(hist)
	case "push":
		if len(rest) != 2 {
			return usagef("usage: lbx push [--dialect tmsh|alteon] [--check] FILE (or - for standard input)")
		}
		var text []byte
		var err error
		if rest[1] == "-" {
			text, err = readAllMax(stdin, ctlsock.MaxMessage)
		} else {
			text, err = store.ReadConfigFile(rest[1])
		}
		if err != nil {
			return fmt.Errorf("push: %w", err)
		}
		if *check {
			out, err := client.Check(string(text))
			io.WriteString(stdout, out)
			return err
		}
		return waitReporting(stderr, pushProgressEvery, func() error { return sh.Push(string(text)) })
	}
	return usagef("unknown command %q", verb)
}

// stdoutHeight is the height of the terminal standard output is, for the
// pager; 0 when it is not a terminal: output is then never paged.
func stdoutHeight() int {
	fd := int(os.Stdout.Fd())
	if !readline.IsTerminal(fd) {
		return 0
	}
	_, h, err := readline.GetSize(fd)
	if err != nil {
		return 0
	}
	return h
}
