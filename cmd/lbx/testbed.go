package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"lbx/testbed"
	"lbx/testbed/delaylink"
	"lbx/testbed/publish"
	"lbx/testbed/topo"
)

func runTestbed(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: lbx testbed up|down|status|exec HOST -- CMD…|fault NAME delay D|clear")
	}
	switch args[0] {
	case "up":
		fs := pflag.NewFlagSet("up", pflag.ContinueOnError)
		fs.SetOutput(stderr)
		driver := fs.String("port-driver", "tap", "the appliance's port driver: tap or afxdp (veth pairs)")
		useVM := fs.Bool("vm", false, "boot the appliance VM (make image) instead of the appliance process")
		image := fs.String("image", "bin/lbx-appliance.qcow2", "--vm: the appliance disk")
		topology := fs.String("topology", "default", "the layout: default, a built-in ("+strings.Join(topo.Builtins(), ", ")+") or a topology YAML file")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
			return usagef("usage: lbx testbed up [--topology NAME|FILE] [--port-driver tap|afxdp] [--vm [--image FILE]]")
		}
		t, err := testbed.LoadTopology(*topology)
		if err != nil {
			return err
		}
		o := testbed.Options{Detach: true, Log: stdout, PortDriver: *driver, Topology: &t}
		if *useVM {
			abs, err := filepath.Abs(*image)
			if err != nil {
				return err
			}
			// Detached: the console login and SSH take the testbed's
			// admin password (lbx testbed status -o json).
			o.VM = &testbed.VMOptions{Image: abs, SetAdminPassword: true}
		}
		_, err = testbed.Up(o)
		return err
	case "down":
		return testbed.Down("", stdout)
	case "status":
		fs := pflag.NewFlagSet("status", pflag.ContinueOnError)
		out := fs.StringP("output", "o", "text", "text or json")
		dir := fs.String("state-dir", testbed.DefaultStateDir, "the testbed's state directory")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		st, err := testbed.ReadState(*dir)
		if err != nil {
			return err
		}
		return printStatus(stdout, st, *out)
	case "exec":
		// lbx testbed exec HOST -- CMD…
		rest := args[1:]
		if len(rest) < 1 {
			return usagef("usage: lbx testbed exec HOST -- CMD…")
		}
		host, rest := rest[0], rest[1:]
		if len(rest) > 0 && rest[0] == "--" {
			rest = rest[1:]
		}
		return testbed.Exec(host, rest)
	case "serve":
		// Internal: the emulated server process inside a server namespace,
		// e.g. serve --name iis --listen 80:iis --listen 8001:http.
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		var o testbed.ServerOptions
		fs.StringVar(&o.Name, "name", "server", "identity in responses")
		fs.StringVar(&o.HTTP, "http", ":80", "HTTP listen address (default off when --listen is given)")
		fs.StringVar(&o.UDP, "udp", ":7", "UDP echo listen address")
		listens := fs.StringArray("listen", nil, "PORT:MODE, repeatable; MODE is http, iis, slow=DUR, flap=UP/DOWN, status=CODE, blackhole or dead")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return usagef("testbed serve: unexpected arguments %q", fs.Args())
		}
		for _, s := range *listens {
			l, err := testbed.ParseListen(s)
			if err != nil {
				return fmt.Errorf("testbed serve: %w", err)
			}
			o.Listen = append(o.Listen, l)
		}
		if len(o.Listen) > 0 && !fs.Changed("http") {
			o.HTTP = ""
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return testbed.Serve(ctx, o, slog.New(slog.NewTextHandler(stderr, nil)))
	case "fault":
		// lbx testbed fault NAME delay DUR | lbx testbed fault NAME clear
		rest := args[1:]
		usage := "usage: lbx testbed fault APPLIANCE|HOST delay DURATION | lbx testbed fault APPLIANCE|HOST clear"
		if len(rest) < 2 {
			return usagef("%s", usage)
		}
		tb, err := testbed.Attach("", os.Stdout)
		if err != nil {
			return err
		}
		switch {
		case len(rest) == 3 && rest[1] == "delay":
			d, err := time.ParseDuration(rest[2])
			if err != nil {
				return usagef("testbed fault %s delay %q: want a duration such as 50ms", rest[0], rest[2])
			}
			return tb.Delay(rest[0], d)
		case len(rest) == 2 && rest[1] == "clear":
			return tb.ClearFault(rest[0])
		}
		return usagef("%s", usage)
	case "delay-link":
		// Internal: the relay of a delay link (testbed/delaylink), in
		// the switch namespace.
		fs := pflag.NewFlagSet("delay-link", pflag.ContinueOnError)
		var o delaylink.Options
		fs.StringVar(&o.A, "a", "", "one interface")
		fs.StringVar(&o.B, "b", "", "the other")
		fs.DurationVar(&o.Delay, "delay", 0, "how long each frame is held, each way")
		fs.IntVar(&o.Queue, "queue", 512, "frames held at most, each way")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		r, run, err := delaylink.Open(o)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		fmt.Fprintf(stderr, "delay link: relaying %s <-> %s, %s each way, %d frames queued at most\n", o.A, o.B, o.Delay, o.Queue)
		err = run(ctx)
		for _, d := range []struct {
			name string
			st   *delaylink.Stats
		}{{o.A + "->" + o.B, &r.AB}, {o.B + "->" + o.A, &r.BA}} {
			fmt.Fprintf(stderr, "delay link: %s forwarded %d dropped %d truncated %d errors %d\n", d.name,
				d.st.Forwarded.Load(), d.st.Dropped.Load(), d.st.Truncated.Load(), d.st.Errors.Load())
		}
		return err
	case "publish":
		// Internal: the relay publishing the appliance's management
		// listeners on the host; fd 3, 4, … are the host's bound sockets,
		// one per --to, in order (testbed/publish.go).
		fs := pflag.NewFlagSet("publish", pflag.ContinueOnError)
		to := fs.StringArray("to", nil, "ADDR:PORT to relay the next inherited listener to, repeatable")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() > 0 || len(*to) == 0 {
			return usagef("usage: lbx testbed publish --to ADDR:PORT…")
		}
		var ls []net.Listener
		for i := range *to {
			f := os.NewFile(uintptr(3+i), fmt.Sprintf("listener %d", i))
			l, err := net.FileListener(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("testbed publish: fd %d: %w", 3+i, err)
			}
			ls = append(ls, l)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return publish.Publish(ctx, ls, *to, slog.New(slog.NewTextHandler(stderr, nil)))
	}
	return usagef("testbed: unknown command %q", args[0])
}

// statusAppliance is one appliance in `lbx testbed status -o json`.
type statusAppliance struct {
	Name   string `json:"name"`
	Socket string `json:"socket"`
	SSH    string `json:"ssh,omitempty"`
	Mgmt   string `json:"mgmt,omitempty"`
	State  string `json:"state"` // running or stopped
	PID    int    `json:"pid,omitempty"`
}

func statusAppliances(st *testbed.State) []statusAppliance {
	var out []statusAppliance
	apps := st.Appliances
	if len(apps) == 0 { // a state file from before topologies
		a, _ := st.Appliance("")
		apps = []testbed.ApplianceState{a}
	}
	for _, a := range apps {
		s := statusAppliance{Name: a.Name, Socket: a.Socket, SSH: a.SSH, Mgmt: a.Mgmt, State: "stopped"}
		if p, ok := st.Running(a.Proc); ok {
			s.State, s.PID = "running", p.PID
		}
		out = append(out, s)
	}
	return out
}

func printStatus(w io.Writer, st *testbed.State, format string) error {
	topology := st.Topology
	if topology == "" {
		topology = "default"
	}
	switch format {
	case "json":
		out := struct {
			Topology   string            `json:"topology"`
			VIP        string            `json:"vip"`
			Hosts      map[string]string `json:"hosts"`
			Appliances []statusAppliance `json:"appliances"`
			Socket     string            `json:"socket"`
			SSH        string            `json:"ssh"`
			Mgmt       string            `json:"mgmt"`
			User       string            `json:"user"`
			Password   string            `json:"password"`
		}{topology, st.VIP, st.Hosts, statusAppliances(st), st.Socket, st.SSH, st.Mgmt, st.User, st.Password}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case "text":
		fmt.Fprintf(w, "topology       %s\nVIP            %s\ncontrol socket %s\n", topology, st.VIP, st.Socket)
		if st.SSH != "" {
			// The password stays off the screen: -o json has it.
			fmt.Fprintf(w, "ssh            %s (user %s; password: lbx testbed status -o json)\nmgmt           %s\n", st.SSH, st.User, st.Mgmt)
		}
		fmt.Fprintln(w, "appliances:")
		for _, a := range statusAppliances(st) {
			fmt.Fprintf(w, "  %-8s %-7s %s", a.Name, a.State, a.Socket)
			if a.Mgmt != "" {
				fmt.Fprintf(w, "  ssh %s  mgmt %s", a.SSH, a.Mgmt)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, "hosts:")
		names := make([]string, 0, len(st.Hosts))
		for n := range st.Hosts {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  %-8s %s\n", n, st.Hosts[n])
		}
		fmt.Fprintln(w, "processes:")
		for _, p := range st.Procs {
			fmt.Fprintf(w, "  %-9s pid %d\n", p.Name, p.PID)
		}
		return nil
	}
	return fmt.Errorf("status: -o %q: want text or json", format)
}

func runDemo(args []string, stdout io.Writer) error {
	if len(args) == 1 && args[0] == "farm" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		bin, err := os.Executable()
		if err != nil {
			return err
		}
		dir, err := os.MkdirTemp("", "lbx-farm-demo")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		return testbed.FarmDemo(ctx, stdout, bin, dir)
	}
	if len(args) == 1 && args[0] == "arr" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return arrDemo(ctx, stdout, testbed.Options{})
	}
	if len(args) == 1 && args[0] == "ha" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return haDemo(ctx, stdout, testbed.Options{})
	}
	if len(args) > 0 {
		return usagef("demo takes no arguments but farm, arr or ha")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return testbed.Demo(ctx, stdout)
}
