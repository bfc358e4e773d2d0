package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"lbx/ctrlplane"
	"lbx/ctrlplane/appliance"
	"lbx/ctrlplane/console"
	"lbx/dataplane"
	"lbx/vm/guest"
)

// isVMInit says whether this process is the VM appliance's /init: PID 1
// started as /init (package vm builds the image so).
func isVMInit() bool { return os.Getpid() == 1 && filepath.Base(os.Args[0]) == "init" }

// The VM's files: the boot config and the log on the data disk.
const (
	vmBootFile = guest.DataDir + "/boot.yaml"
	vmLogFile  = guest.DataDir + "/log/lbx.log"
)

// vmBanner is printed above each console login prompt.
const vmBanner = "lbx appliance — log in with an auth user (tmsh or Alteon CLI; no shell)"

// runVMInit is PID 1 of the appliance VM: it never returns; on a fatal
// error it says so on the consoles and powers off after a pause.
func runVMInit() {
	con := io.Writer(os.Stderr)
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY, 0); err == nil {
		con = f
	}
	say := func(format string, a ...any) { fmt.Fprintf(con, "lbx: "+format+"\n", a...) }
	fatal := func(err error) {
		say("FATAL: %v; powering off in 30 s", err)
		time.Sleep(30 * time.Second)
		guest.Stop(false)
		select {}
	}
	// PID 1 ignores SIGINT/SIGTERM: the CLI's reboot and shutdown stop
	// the machine.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if err := guest.MountBase(); err != nil {
		fatal(err)
	}
	// Package initializers ran before /proc was there (cilium/ebpf's
	// rlimit caches what it read of /proc at init, and AF_XDP needs it):
	// run /init again, still PID 1, now with /proc mounted.
	if os.Getenv("LBX_INIT_STAGE") == "" {
		err := syscall.Exec("/init", []string{"/init"}, append(os.Environ(), "LBX_INIT_STAGE=2"))
		fatal(fmt.Errorf("re-exec /init: %w", err))
	}
	if f, err := os.OpenFile("/dev/console", os.O_WRONLY, 0); err == nil {
		con = f
	}
	if err := guest.LoadModules("/etc/lbx/modules"); err != nil {
		say("modules: %v", err)
	}
	dev, err := guest.MountData(20 * time.Second)
	if err != nil {
		say("no data disk (%v): the configuration is NOT kept across reboots", err)
	} else {
		say("data: %s on %s", dev, guest.DataDir)
	}
	os.MkdirAll(filepath.Dir(vmLogFile), 0o755)
	var logw io.Writer = io.Discard
	if f, err := os.OpenFile(vmLogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640); err == nil {
		logw = f
	}
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := guest.UpLoopback(); err != nil {
		say("lo: %v", err)
	}
	nics, err := guest.ListNICs("/sys")
	if err != nil {
		fatal(err)
	}
	if _, err := os.Stat(vmBootFile); os.IsNotExist(err) {
		if err := os.WriteFile(vmBootFile, vmDefaultBoot(nics), 0o600); err != nil {
			say("boot config: %v", err)
		} else {
			say("boot config: wrote the default %s", vmBootFile)
		}
	}
	boot, err := ctrlplane.LoadBoot(vmBootFile, nil)
	if err != nil {
		say("%v; booting the default instead", err)
		os.WriteFile("/run/boot.yaml", vmDefaultBoot(nics), 0o600)
		if boot, err = ctrlplane.LoadBoot("/run/boot.yaml", nil); err != nil {
			fatal(err)
		}
	}
	if level, err := boot.LogLevel(); err == nil {
		logger = slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level}))
	}
	mgmt, data, err := guest.SplitNICs(nics, boot.Mgmt.Interface)
	if err != nil {
		say("mgmt: %v", err)
	} else {
		m, err := guest.UpMgmt(mgmt.Name, boot.Mgmt.Address, boot.Mgmt.Gateway, 20*time.Second)
		if err != nil {
			say("mgmt %s: %v", mgmt.Name, err)
		} else {
			how := "static"
			if m.DHCP {
				how = "dhcp"
			}
			say("mgmt %s %s (%s) gateway %v", m.NIC, m.Address, how, m.Gateway)
		}
	}
	for _, n := range data {
		if err := guest.LinkUp(n.Name); err != nil {
			say("%s: %v", n.Name, err)
		}
	}
	var ports []dataplane.Port
	for _, pb := range boot.Ports {
		mac, _ := net.ParseMAC(pb.MAC)
		p, err := openPort(pb, mac)
		if err != nil {
			say("port %s (%s on %s): %v; the port is left out", pb.Name, pb.Driver, pb.Device, err)
			continue
		}
		ports = append(ports, p)
	}
	// The serial console first: the first boot's question is asked there.
	var terms []*console.Terminal
	var paths []string
	for _, p := range []string{"/dev/ttyS0", "/dev/tty1"} {
		t, err := console.Open(p)
		if err != nil {
			say("%s: %v", p, err)
			continue
		}
		terms, paths = append(terms, t), append(paths, p)
	}
	var selfs []dataplane.SelfIP
	for _, s := range boot.NetConfig().SelfIPs {
		for _, p := range ports {
			if p.Name() == s.Port {
				selfs = append(selfs, s)
			}
		}
	}
	var app *appliance.Appliance
	power := func(reboot bool) error {
		what := "power off"
		if reboot {
			what = "reboot"
		}
		say("%s: stopping the appliance", what)
		done := make(chan error, 1)
		go func() { done <- app.Close() }()
		select {
		case err := <-done:
			if err != nil {
				logger.Error("close", "err", err)
			}
		case <-time.After(shutdownGrace):
			say("the appliance did not close within %s; stopping anyway", shutdownGrace)
		}
		say("%s: data synced and unmounted", what)
		return guest.Stop(reboot)
	}
	cfg := bootApplianceConfig(boot, ports, selfs, logger)
	cfg.Power = power
	cfg.AdminPassword = boot.SSH.AdminPassword
	// First boot: the admin's password is typed on a console.
	cfg.AdminPasswordPrompt = firstBootPrompt(terms)
	app, err = appliance.New(cfg)
	if err != nil {
		fatal(err)
	}
	say("appliance up: %d data ports", len(ports))
	for i, t := range terms {
		path := paths[i]
		go func() {
			// A terminal whose device fails is opened again: the
			// console must outlive a line error.
			for {
				err := console.Serve(t, console.Config{
					Users: app.User, Dialects: app.Dialects(), UsersDir: sshUsersDir(boot.Config.Saved),
					Banner: vmBanner, Logger: logger,
				})
				logger.Warn("console ended; opening it again", "tty", path, "err", err)
				time.Sleep(time.Second)
				for {
					if t, err = console.Open(path); err == nil {
						break
					}
					time.Sleep(time.Second)
				}
			}
		}()
	}
	select {}
}

// firstBootPrompt asks for the first admin's password on the serial
// console (the first terminal): the VGA console shows where to answer.
func firstBootPrompt(terms []*console.Terminal) func() (string, error) {
	if len(terms) == 0 {
		return nil
	}
	return func() (string, error) {
		for _, t := range terms[1:] {
			fmt.Fprintln(t, "lbx: first boot: set the admin password on the serial console (ttyS0)")
		}
		t := terms[0]
		return askNewPassword(t.ReadPassword, t, 3)
	}
}

// vmDefaultBoot is the boot config a VM writes at its first boot when the
// data disk has none: the first NIC is management (DHCP), every other NIC
// a data port (AF_XDP, its own MAC) named 1.1, 1.2 … as BIG-IP names
// interfaces; SSH and REST on the management address.
func vmDefaultBoot(nics []guest.NIC) []byte {
	var b strings.Builder
	b.WriteString("# lbx VM boot config, written at first boot; edit it on the data disk.\nports:\n")
	for i, n := range nics {
		if i == 0 {
			continue
		}
		fmt.Fprintf(&b, "  - name: \"1.%d\"\n    driver: afxdp\n    device: %s\n    mac: \"%s\"\n", i, n.Name, n.MAC)
	}
	if len(nics) <= 1 {
		b.WriteString("  []\n")
	}
	b.WriteString("selfips: []\ncontrol:\n  socket: /run/lbx/lbx.sock\nconfig:\n  saved: " + guest.DataDir + "/bigip.conf\n" +
		"ssh:\n  listen: 0.0.0.0:22\nrest:\n  listen: 0.0.0.0:443\nmgmt:\n  interface: \"\"\n  address: \"\"\n  gateway: \"\"\n")
	return []byte(b.String())
}
