package main

import (
	"context"
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
func runAppliance(args []string, stderr io.Writer) error {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	bootPath := fs.StringP("config", "f", "", "boot config file (YAML); default: the embedded one")
	printDefault := fs.Bool("print-default", false, "print the embedded boot config and exit")
	ctrlplane.BootFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *printDefault {
		_, err := os.Stdout.Write(ctrlplane.DefaultBootYAML())
		return err
	}
	if *bootPath == "" {
		*bootPath = os.Getenv("LBX_CONFIG")
	}
	boot, err := ctrlplane.LoadBoot(*bootPath, fs)
	if err != nil {
		return err
	}
	level, _ := boot.LogLevel()
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	raiseFDLimit(logger) // logged; the appliance runs with what it has

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
