package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"lbx/ctrlplane"
	"lbx/ctrlplane/appliance"
	"lbx/ctrlplane/config"
	"lbx/ctrlplane/sshd"
	"lbx/dataplane"
	"lbx/dataplane/afxdp"
	"lbx/dataplane/tap"
	"lbx/ha"
	"lbx/ha/cfgsync"
	"lbx/ha/mirror"
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
	raiseFDLimit(logger) // logged; the appliance runs with what it has

	var ports []dataplane.Port
	for _, pb := range boot.Ports {
		mac, _ := net.ParseMAC(pb.MAC) // validated by LoadBoot
		p, err := openPort(pb, mac)
		if err != nil {
			for _, p := range ports {
				p.Close()
			}
			return err
		}
		ports = append(ports, p)
	}
	// The appliance owns the ports from here on; closing them removes the
	// TAP devices and detaches the AF_XDP ports' XDP programs.
	cfg := bootApplianceConfig(boot, ports, boot.NetConfig().SelfIPs, logger)
	cfg.AdminPassword = adminPassword(boot)
	// On a console, the first admin's password may be typed.
	cfg.AdminPasswordPrompt = consolePasswordPrompt(stderr)
	app, err := appliance.New(cfg)
	if err != nil {
		return err
	}
	logger.Info("appliance up", "ports", len(ports), "socket", boot.Control.Socket, "saved", boot.Config.Saved)

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	return serveUntilSignal(sigs, app.Close, shutdownGrace, logger)
}

// bootApplianceConfig is what the boot config says of the appliance on
// ports with selfs: `lbx run` and the VM's /init add how the first admin's
// password comes (and the VM its power hooks).
func bootApplianceConfig(boot *ctrlplane.Boot, ports []dataplane.Port, selfs []dataplane.SelfIP, logger *slog.Logger) appliance.Config {
	return appliance.Config{
		Ports:        ports,
		SelfIPs:      selfs,
		FlowCapacity: boot.FlowCapacity(),
		SavedPath:    boot.Config.Saved,
		Fallback:     boot.Config.Fallback,
		Socket:       boot.Control.Socket,
		Logger:       logger,
		SSHListen:    boot.SSH.Listen,
		// The host key is kept next to the saved configuration.
		SSHHostKey:   sshHostKeyPath(boot.Config.Saved),
		SSHKeysDir:   sshKeysDir(boot.Config.Saved),
		SSHUsersDir:  sshUsersDir(boot.Config.Saved),
		RESTListen:   boot.REST.Listen,
		RESTCert:     boot.REST.Cert,
		RESTKey:      boot.REST.Key,
		RESTStateDir: stateDir(boot.Config.Saved),
		HA:           haConfig(boot),
		Sync:         syncConfig(boot),
		Mirror:       mirrorConfig(boot),
	}
}

// syncConfig is config sync from the boot config's ha section (nil: off):
// the device's certificate, trust store and generations are kept next to
// the saved configuration, in cm/.
func syncConfig(boot *ctrlplane.Boot) *cfgsync.Config {
	h := boot.HA
	if !h.Enabled() || h.ConfigSync == "" {
		return nil
	}
	return &cfgsync.Config{Device: h.Unit, Listen: h.ConfigSync, StateDir: inStateDir(boot.Config.Saved, "cm")}
}

// mirrorConfig is the boot config's connection-mirroring addresses as
// package ha/mirror takes them (nil: no mirroring).
func mirrorConfig(boot *ctrlplane.Boot) *mirror.Config {
	addr, peer, ok := boot.HA.Mirror()
	if !ok {
		return nil
	}
	return &mirror.Config{Unit: boot.HA.Unit, Listen: addr, Peer: peer}
}

// haConfig is the boot config's ha section as package ha takes it (nil:
// HA off). Each port advertises from its first boot self IP (LoadBoot
// checked there is one).
func haConfig(boot *ctrlplane.Boot) *ha.Config {
	h := boot.HA
	if !h.Enabled() {
		return nil
	}
	c := &ha.Config{Unit: h.Unit, VRID: uint8(h.VRID), Priority: uint8(h.Priority), Preempt: h.Preempt,
		PreemptDelay: h.PreemptDelay, Interval: time.Duration(h.AdvertInterval) * 10 * time.Millisecond,
		Failsafe: ha.Failsafe{VLANs: h.FailsafeVLANs, GatewayPool: h.GatewayFailsafePool, GatewayMinUp: max(1, h.GatewayFailsafeMinUp), Watchdog: h.Watchdog}}
	first := map[string]netip.Prefix{} // port → its first boot self IP
	for _, s := range boot.NetConfig().SelfIPs {
		if _, ok := first[s.Port]; !ok {
			first[s.Port] = s.Prefix
		}
	}
	for _, p := range h.Ports {
		if pfx, ok := first[p]; ok {
			c.Ports = append(c.Ports, ha.Port{Name: p, Addr: pfx.Addr()})
		}
	}
	// Each unicast peer goes to the port whose network holds it
	// (LoadBoot checked there is one).
	for _, u := range h.UnicastPeers {
		a, err := netip.ParseAddr(u)
		if err != nil {
			continue
		}
		port := h.PeerPort(a, first)
		for i := range c.Ports {
			if c.Ports[i].Name == port {
				c.Ports[i].Peers = append(c.Ports[i].Peers, a)
			}
		}
	}
	return c
}

// openPort opens one boot config port with its driver (validated by
// LoadBoot).
func openPort(pb ctrlplane.PortBoot, mac net.HardwareAddr) (dataplane.Port, error) {
	if pb.Driver == "afxdp" {
		return afxdp.Open(pb.Name, pb.Device, mac)
	}
	return tap.Open(pb.Name, pb.Device, mac)
}

// shutdownGrace bounds how long `lbx run` waits for the appliance to close
// after SIGINT/SIGTERM before it exits anyway.
const shutdownGrace = 10 * time.Second

// serveUntilSignal waits for a signal, then closes the appliance. Close
// waits for the control sessions in progress; if one is stuck in a long
// operation, a second signal or grace elapsing ends the wait and the
// process exits regardless: the kernel removes the TAP devices with the
// process, and the next start replaces the stale control socket.
func serveUntilSignal(sigs <-chan os.Signal, closeApp func() error, grace time.Duration, logger *slog.Logger) error {
	sig := <-sigs
	logger.Info("shutting down", "signal", sig.String())
	done := make(chan error, 1)
	go func() { done <- closeApp() }()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case sig := <-sigs:
		logger.Error("shutdown interrupted; exiting without waiting for the appliance to close", "signal", sig.String())
		return fmt.Errorf("shutdown: second signal (%s) before the appliance closed; exited without waiting", sig)
	case <-timer.C:
		logger.Error("appliance still closing; exiting anyway", "waited", grace)
		return fmt.Errorf("shutdown: the appliance did not close within %s; exited without waiting", grace)
	}
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
		return nil, false, &usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, false, usagef("run: unexpected argument %q", fs.Arg(0))
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

// sshHostKeyPath is where the SSH host key is kept: next to the saved
// configuration; "" (a key per start) without one.
func sshHostKeyPath(saved string) string { return inStateDir(saved, sshd.HostKeyFile) }

// adminPassword is the first admin's password: ssh.admin_password (also
// $LBX_SSH_ADMIN_PASSWORD), else $LBX_ADMIN_PASSWORD.
func adminPassword(boot *ctrlplane.Boot) string {
	if boot.SSH.AdminPassword != "" {
		return boot.SSH.AdminPassword
	}
	return os.Getenv("LBX_ADMIN_PASSWORD")
}

// stateDir is where the appliance keeps what it generates at first start
// (keys, certificates): next to the saved configuration; "" without one.
func stateDir(saved string) string {
	if saved == "" {
		return ""
	}
	return filepath.Dir(saved)
}

// inStateDir is name in stateDir(saved); "" without a saved configuration.
func inStateDir(saved, name string) string {
	if saved == "" {
		return ""
	}
	return filepath.Join(stateDir(saved), name)
}

// sshKeysDir holds the users' SSH public keys, next to the saved
// configuration: ssh_authorized_keys/USER.
func sshKeysDir(saved string) string { return inStateDir(saved, "ssh_authorized_keys") }

// sshUsersDir keeps each SSH user's shell history and preferences, next
// to the saved configuration: cli_users/USER/{history,prefs}.
func sshUsersDir(saved string) string { return inStateDir(saved, "cli_users") }

// consolePasswordPrompt asks for the first admin's password on the
// controlling terminal when standard input is one; nil otherwise (a
// service, a test), where the password comes from the boot config or
// $LBX_ADMIN_PASSWORD or no admin is made.
func consolePasswordPrompt(out io.Writer) func() (string, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil
	}
	return func() (string, error) {
		return askNewPassword(func() ([]byte, error) { return term.ReadPassword(fd) }, out, 3)
	}
}

// askNewPassword asks for a new password twice, up to tries times until
// both agree; an empty answer means none.
func askNewPassword(read func() ([]byte, error), out io.Writer, tries int) (string, error) {
	for range tries {
		fmt.Fprint(out, "No auth user admin yet. New admin password (empty: none): ")
		first, err := read()
		fmt.Fprintln(out)
		if err != nil {
			return "", err
		}
		if len(first) == 0 {
			return "", nil
		}
		if len(first) > config.MaxPasswordLen {
			fmt.Fprintf(out, "At most %d bytes (bcrypt's limit); try again.\n", config.MaxPasswordLen)
			continue
		}
		fmt.Fprint(out, "Again: ")
		again, err := read()
		fmt.Fprintln(out)
		if err != nil {
			return "", err
		}
		if string(again) == string(first) {
			return string(first), nil
		}
		fmt.Fprintln(out, "The two do not match; try again.")
	}
	return "", fmt.Errorf("no matching password after %d tries", tries)
}
