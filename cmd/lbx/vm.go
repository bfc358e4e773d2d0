package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"lbx/testbed"
	"lbx/vm"
)

const vmUsage = "usage: lbx vm image [--binary FILE] [--out FILE] | lbx vm console [--socket PATH] | lbx vm run [--image FILE] [--data FILE] [--serial stdio|unix:PATH] [--tap DEV]… [--ssh-port N] [--rest-port N] [--accel kvm|tcg]"

// runVM is `lbx vm image` (build the appliance disk) and `lbx vm run`
// (boot it under qemu).
func runVM(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("%s", vmUsage)
	}
	switch args[0] {
	case "image":
		fs := pflag.NewFlagSet("vm image", pflag.ContinueOnError)
		fs.SetOutput(stderr)
		bin := fs.String("binary", "bin/lbx-static", "a static lbx (CGO_ENABLED=0) to boot as /init")
		out := fs.String("out", "bin/lbx-appliance.qcow2", "the qcow2 to write (the raw disk and manifest go beside it)")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
			return usagef("%s", vmUsage)
		}
		manifest, err := vm.Build(vm.ImageOptions{Binary: *bin, Out: *out, Log: slog.New(slog.NewTextHandler(stderr, nil))})
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, manifest)
		fmt.Fprintf(stdout, "image %s\n", *out)
		return nil
	case "console":
		fs := pflag.NewFlagSet("vm console", pflag.ContinueOnError)
		fs.SetOutput(stderr)
		sock := fs.String("socket", filepath.Join(testbed.DefaultStateDir, "console.sock"), "the VM's serial console socket (default: the testbed VM's)")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
			return usagef("%s", vmUsage)
		}
		return vmConsole(*sock, stdout, stderr)
	case "run":
		fs := pflag.NewFlagSet("vm run", pflag.ContinueOnError)
		fs.SetOutput(stderr)
		o := vm.RunOptions{}
		fs.StringVar(&o.Image, "image", "bin/lbx-appliance.qcow2", "the appliance disk")
		fs.StringVar(&o.Data, "data", "bin/lbx-data.qcow2", "the data disk (created empty when missing; \"\": none, the image's own data partition)")
		fs.StringVar(&o.Serial, "serial", "stdio", "the serial console: stdio or unix:PATH")
		fs.StringVar(&o.Accel, "accel", "", "kvm or tcg (default: kvm when /dev/kvm works)")
		fs.IntVar(&o.Memory, "memory", 1024, "MiB")
		taps := fs.StringArray("tap", nil, "a data NIC on this existing TAP device, repeatable, in port order")
		sshPort := fs.Int("ssh-port", 2222, "host port on 127.0.0.1 forwarded to the appliance's SSH (0: none)")
		restPort := fs.Int("rest-port", 8443, "host port on 127.0.0.1 forwarded to the appliance's REST (0: none)")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
			return usagef("%s", vmUsage)
		}
		for _, t := range *taps {
			o.NICs = append(o.NICs, vm.NIC{TAP: t})
		}
		if *sshPort != 0 {
			o.MgmtForward = append(o.MgmtForward, fmt.Sprintf("tcp:127.0.0.1:%d-:22", *sshPort))
		}
		if *restPort != 0 {
			o.MgmtForward = append(o.MgmtForward, fmt.Sprintf("tcp:127.0.0.1:%d-:443", *restPort))
		}
		if o.Data != "" {
			if _, err := os.Stat(o.Data); os.IsNotExist(err) {
				if err := vm.MakeDataDisk(o.Data, 256, ""); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "lbx vm run: created the empty data disk %s\n", o.Data)
			}
		}
		o.Stdin, o.Stdout, o.Stderr = os.Stdin, stdout, stderr
		cmd, err := vm.Command(o)
		if err != nil {
			return err
		}
		// Ctrl-C belongs to the console (qemu's -serial stdio takes the
		// terminal raw); a signal to lbx stops qemu.
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(sigs)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("vm run: %w", err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return err
		case <-sigs:
			cmd.Process.Signal(syscall.SIGTERM)
			return <-done
		}
	}
	return usagef("%s", vmUsage)
}

// vmConsole attaches this terminal to a VM's serial console socket until
// Ctrl-] or the VM goes away.
func vmConsole(sock string, stdout, stderr io.Writer) error {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return fmt.Errorf("vm console: %w", err)
	}
	defer c.Close()
	fd := int(os.Stdin.Fd())
	if term.IsTerminal(fd) {
		st, err := term.MakeRaw(fd)
		if err != nil {
			return err
		}
		defer term.Restore(fd, st)
	}
	fmt.Fprint(stderr, "lbx vm console: connected; Ctrl-] leaves\r\n")
	done := make(chan struct{})
	go func() {
		io.Copy(stdout, c)
		close(done)
	}()
	go func() {
		b := make([]byte, 256)
		for {
			n, err := os.Stdin.Read(b)
			if i := bytes.IndexByte(b[:n], 0x1d); i >= 0 {
				c.Write(b[:i])
				c.Close()
				return
			}
			if _, werr := c.Write(b[:n]); err != nil || werr != nil {
				c.Close()
				return
			}
		}
	}()
	<-done
	return nil
}
