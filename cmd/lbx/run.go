package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/pflag"

	"lbx/ctrlplane"
	"lbx/dataplane"
	"lbx/dataplane/localstack"
	"lbx/internal/clock"
	"lbx/monitors"
	"lbx/monitors/netprobe"
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

	var ports []dataplane.Port
	closePorts := func() {
		for _, p := range ports {
			p.Close()
		}
	}
	for _, pb := range boot.Ports {
		mac, _ := net.ParseMAC(pb.MAC) // validated by LoadBoot
		p, err := dataplane.OpenTAP(pb.Name, pb.Device, mac)
		if err != nil {
			closePorts()
			return err
		}
		ports = append(ports, p)
	}
	eng, err := dataplane.NewEngine(dataplane.EngineConfig{
		Ports:        ports,
		FlowCapacity: boot.Flows.Capacity,
		Logger:       logger,
	})
	if err != nil {
		closePorts()
		return err
	}
	// Close closes the ports, which removes the TAP devices. Deferred for
	// the error paths; on a clean stop it has already run and is a no-op.
	defer eng.Close()
	// The local stack carries the appliance's own traffic (health probes)
	// from its self IPs through the dataplane's ports.
	var selfs []netip.Prefix
	for _, s := range boot.NetConfig().SelfIPs {
		selfs = append(selfs, s.Prefix)
	}
	ls, err := localstack.New(eng, selfs, logger)
	if err != nil {
		return err
	}
	eng.SetLocalSink(ls)
	mon := ctrlplane.NewMonitoring(monitors.Config{
		Prober: &netprobe.Prober{Stack: ls, External: &monitors.ExternalProber{}},
		Clock:  clock.System{},
		Logger: logger,
	}, eng, eng.Mono)
	stopLocal := sync.OnceValue(func() error {
		err := mon.Close()
		eng.SetLocalSink(nil)
		ls.Close()
		return err
	})
	defer stopLocal()
	netCfg := boot.NetConfig()
	netCfg.Persist = eng.PersistTable()
	store := ctrlplane.NewStore(eng, netCfg, boot.Config.Saved, logger)
	store.AttachMonitoring(mon)
	if err := store.BootWithFallback(boot.Config.Fallback); err != nil {
		return err
	}
	eng.Start()
	srv, err := ctrlplane.Listen(boot.Control.Socket, store, logger)
	if err != nil {
		return err
	}
	srv.Serve()
	logger.Info("appliance up", "ports", len(ports), "socket", boot.Control.Socket, "saved", boot.Config.Saved)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("shutting down", "reason", context.Cause(ctx))
	// Stop taking commands before the dataplane goes away.
	srvErr := srv.Close()
	monErr := stopLocal()
	var dpErr error
	if err := eng.Close(); err != nil {
		dpErr = fmt.Errorf("dataplane: %w", err)
	}
	return errors.Join(srvErr, monErr, dpErr)
}
