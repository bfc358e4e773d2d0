package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"lbx/farm"
)

// defaultFarmSocket is the farm member's control socket.
const defaultFarmSocket = "/run/lbx/farm.sock"

// runFarm is `lbx farm run|status|stop|start`.
func runFarm(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("farm: run, status, stop or start wanted")
	}
	fs := pflag.NewFlagSet("farm "+args[0], pflag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", defaultFarmSocket, "the farm member's control socket")
	switch args[0] {
	case "run":
		file := fs.StringP("file", "f", "", "the module's userconfig.xml")
		macros := fs.StringArray("macro", nil, "NAME=VALUE, overrides the file's <macro>; repeatable")
		ifname := fs.String("interface", "", "LAN interface (default: <interface name>, or the one whose subnet holds the VIP)")
		bind := fs.String("bind", "", "membership address ADDR[:PORT] (default: the LAN address, port 7946)")
		peers := fs.StringArray("peer", nil, "a member to join, ADDR[:PORT]; repeatable (besides the file's <node>s)")
		module := fs.String("module", "", "module directory with bin/start_both and bin/stop_both")
		logDir := fs.String("log-dir", "", "where module.log and userlog.log go (default MODULE/log)")
		secretFile := fs.String("secret-file", "", "file holding the farm's membership key: 16, 24 or 32 bytes in base64 (every member the same)")
		if err := fs.Parse(args[1:]); err != nil {
			return &usageError{err}
		}
		if *file == "" || fs.NArg() > 0 {
			return usagef("farm run: -f userconfig.xml wanted, and no other argument")
		}
		m := map[string]string{}
		for _, s := range *macros {
			n, v, err := farm.ParseMacro(s)
			if err != nil {
				return usagef("farm run: %v", err)
			}
			m[n] = v
		}
		var bindAt netip.AddrPort
		if *bind != "" {
			ap, err := netip.ParseAddrPort(*bind)
			if err != nil {
				a, err2 := netip.ParseAddr(*bind)
				if err2 != nil {
					return usagef("farm run: --bind %q: ADDR or ADDR:PORT wanted", *bind)
				}
				ap = netip.AddrPortFrom(a, 0)
			}
			bindAt = ap
		}
		var secret []byte
		if *secretFile != "" {
			b, err := os.ReadFile(*secretFile)
			if err != nil {
				return fmt.Errorf("farm run: --secret-file: %w", err)
			}
			secret, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
			if err != nil || (len(secret) != 16 && len(secret) != 24 && len(secret) != 32) {
				return fmt.Errorf("farm run: --secret-file %s: 16, 24 or 32 bytes in base64 wanted", *secretFile)
			}
		}
		data, err := os.ReadFile(*file)
		if err != nil {
			return fmt.Errorf("farm run: %w", err)
		}
		cfg, err := farm.ParseConfig(*file, data, m)
		if err != nil {
			return err
		}
		opts := farm.Options{Config: cfg, Interface: *ifname, Peers: *peers, ModuleDir: *module, LogDir: *logDir, Socket: *socket, Bind: bindAt, SecretKey: secret}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		member, err := farm.Start(opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "farm member running, VIP %s; control socket %s\n", cfg.VIP, *socket)
		select {
		case <-ctx.Done():
			member.Shutdown()
		case <-member.Done():
		}
		return nil
	case "status", "stop", "start":
		output := fs.StringP("output", "o", "", "status: json")
		if err := fs.Parse(args[1:]); err != nil {
			return &usageError{err}
		}
		if fs.NArg() > 0 {
			return usagef("farm %s: unexpected arguments %q", args[0], fs.Args())
		}
		req := args[0]
		if *output == "json" && req == "status" {
			req = "status json"
		} else if *output != "" {
			return usagef("farm %s: -o %q: only status takes -o json", args[0], *output)
		}
		timeout := 5 * time.Second
		if req == "stop" {
			timeout = 30 * time.Minute // bounded by the member's nicestoptimeout and forcestoptimeout
		}
		out, err := farm.Ctl(*socket, req, timeout)
		if err != nil {
			return fmt.Errorf("farm %s: %w", args[0], err)
		}
		fmt.Fprint(stdout, out)
		return nil
	}
	return usagef("farm: unknown command %q (run, status, stop, start)", args[0])
}
