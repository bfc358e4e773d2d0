package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"sort"
	"syscall"

	"github.com/spf13/pflag"

	"lbx/testbed"
)

func runTestbed(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("usage: lbx testbed up|down|status|exec HOST -- CMD…")
	}
	switch args[0] {
	case "up":
		_, err := testbed.Up(testbed.Options{Detach: true, Log: stdout})
		return err
	case "down":
		return testbed.Down("", stdout)
	case "status":
		fs := pflag.NewFlagSet("status", pflag.ContinueOnError)
		out := fs.StringP("output", "o", "text", "text or json")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		st, err := testbed.ReadState("")
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
	}
	return usagef("testbed: unknown command %q", args[0])
}

func printStatus(w io.Writer, st *testbed.State, format string) error {
	switch format {
	case "json":
		out := struct {
			VIP    string            `json:"vip"`
			Hosts  map[string]string `json:"hosts"`
			Socket string            `json:"socket"`
		}{st.VIP, st.Hosts, st.Socket}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case "text":
		fmt.Fprintf(w, "VIP            %s\ncontrol socket %s\nhosts:\n", st.VIP, st.Socket)
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
	if len(args) > 0 {
		return usagef("demo takes no arguments")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return testbed.Demo(ctx, stdout)
}
