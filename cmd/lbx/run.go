package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"lbx/ctrlplane"
	"lbx/ctrlplane/appliance"
	"lbx/dataplane"
)

// runAppliance is `lbx run`: boot config → ports → dataplane → saved config
// → control socket, then serve until SIGINT or SIGTERM, and undo it all.
func runAppliance(args []string, stdout, stderr io.Writer) error {
	boot, printDefault, err := runBoot(args, stderr)
	if err != nil {
		return err
	}
	if printDefault {
		_, err := stdout.Write(ctrlplane.DefaultBootYAML())
		return err
	}
	level, _ := boot.LogLevel()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	var ports []dataplane.Port
	for _, pb := range boot.Ports {
		mac, _ := net.ParseMAC(pb.MAC) // validated by LoadBoot
		p, err := dataplane.OpenTAP(pb.Name, pb.Device, mac)
		if err != nil {
			for _, p := range ports {
				p.Close()
			}
			return err
		}
		ports = append(ports, p)
	}
	// The appliance owns the ports from here on; closing them removes the
	// TAP devices.
	app, err := appliance.New(appliance.Config{
		Ports:        ports,
		SelfIPs:      boot.NetConfig().SelfIPs,
		FlowCapacity: boot.Flows.Capacity,
		SavedPath:    boot.Config.Saved,
		Fallback:     boot.Config.Fallback,
		Socket:       boot.Control.Socket,
		Logger:       logger,
	})
	if err != nil {
		return err
	}
	logger.Info("appliance up", "ports", len(ports), "socket", boot.Control.Socket, "saved", boot.Config.Saved)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("shutting down", "reason", context.Cause(ctx))
	return app.Close()
}

// runBoot parses `lbx run`'s flags and loads the boot config they name:
// -f/--config FILE, else $LBX_CONFIG, else the embedded default, overlaid by
// LBX_ variables and boot-key flags. With --print-default it loads nothing.
func runBoot(args []string, stderr io.Writer) (boot *ctrlplane.Boot, printDefault bool, err error) {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	bootPath := fs.StringP("config", "f", "", "boot config file (YAML); default: $LBX_CONFIG, else the embedded one")
	printDef := fs.Bool("print-default", false, "print the embedded boot config and exit")
	ctrlplane.BootFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, false, err
	}
	if fs.NArg() > 0 {
		return nil, false, fmt.Errorf("run: unexpected argument %q", fs.Arg(0))
	}
	if *printDef {
		return nil, true, nil
	}
	if *bootPath == "" {
		*bootPath = os.Getenv("LBX_CONFIG")
	}
	boot, err = ctrlplane.LoadBoot(*bootPath, fs)
	return boot, false, err
}
