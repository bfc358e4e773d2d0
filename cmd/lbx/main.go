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

	"github.com/spf13/pflag"

	"lbx/cli"
	"lbx/ctrlplane/ctlsock"
	"lbx/ctrlplane/store"
)

const usage = `lbx — a software load-balancer appliance

usage:
  lbx run [-f boot.yaml] [--key value …]   boot the appliance in the foreground
  lbx cli [--alteon]                      interactive shell: tmsh, or Alteon /cfg menus
                                          (in tmsh, a line starting with / is Alteon)
  lbx -c 'COMMAND'                        run one command on the running appliance
  lbx push FILE|-                         apply a script as a whole: tmsh commands and
                                          bigip.conf stanzas, or an Alteon /cfg dump
  lbx testbed up|down|status [-o json]    the network-namespace testbed
  lbx testbed exec HOST -- CMD …          run a command on a testbed host
  lbx demo                                testbed up, traffic, a failure, testbed down

client options (cli, -c, push): --socket PATH (env LBX_CONTROL_SOCKET,
default /run/lbx/lbx.sock)
push options: --push-timeout DURATION (give up waiting for the apply after
it; by default a push waits until applied, as a push given up on may still
apply)
`

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lbx:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "run":
		return runAppliance(args[1:], stdout, stderr)
	case "cli", "push", "-c", "--socket":
		return runClient(args, stdin, stdout, stderr)
	case "testbed":
		return runTestbed(args[1:], stdout, stderr)
	case "demo":
		return runDemo(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// runClient handles the operator commands that talk to a running appliance.
func runClient(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("lbx", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "control socket (default $LBX_CONTROL_SOCKET or /run/lbx/lbx.sock)")
	command := fs.StringP("command", "c", "", "run one command")
	alteon := fs.Bool("alteon", false, "cli: start in the Alteon dialect")
	pushTimeout := fs.Duration("push-timeout", 0, "push: give up waiting for the apply after this long (0: wait until applied)")
	fs.SetInterspersed(true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := *socket
	if path == "" {
		path = os.Getenv("LBX_CONTROL_SOCKET")
	}
	if path == "" {
		path = "/run/lbx/lbx.sock"
	}
	client := &ctlsock.Client{Path: path, PushTimeout: *pushTimeout}
	sh := &cli.Shell{App: client, Out: stdout, Err: stderr, Alteon: *alteon}
	rest := fs.Args()
	if fs.Changed("command") {
		if len(rest) > 0 {
			return fmt.Errorf("-c takes one quoted command; unexpected %q", strings.Join(rest, " "))
		}
		return sh.One(*command)
	}
	if len(rest) == 0 {
		return errors.New("want cli, push FILE or -c COMMAND")
	}
	switch rest[0] {
	case "cli":
		// One server-side session for the whole shell, so a cli
		// transaction spans the commands typed into it.
		var id [8]byte
		if _, err := rand.Read(id[:]); err != nil {
			return err
		}
		client.Session = fmt.Sprintf("cli-%d-%x", os.Getpid(), id)
		home, _ := os.UserHomeDir()
		hist := ""
		if home != "" {
			hist = home + "/.lbx_history"
		}
		return sh.Interactive(hist)
	case "push":
		if len(rest) != 2 {
			return errors.New("usage: lbx push FILE (or - for standard input)")
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
		return waitReporting(stderr, pushProgressEvery, func() error { return sh.Push(string(text)) })
	}
	return fmt.Errorf("unknown command %q", rest[0])
}
