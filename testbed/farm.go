package testbed

import (
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"lbx/farm"
)

// FarmUserConfig is the seed's userconfig.xml (SafeKit's IIS farm module),
// unchanged; the farm topology sets its two macros.
//
//go:embed farm_userconfig.xml
var FarmUserConfig []byte

// The farm topology: its own namespaces (prefix lbxf-, so it runs beside
// the appliance testbed), one LAN bridge with the client and the members.
const (
	FarmSwitchNS = "lbxf-sw"
	FarmClientNS = "lbxf-client"
	farmBridge   = "br-farm"
	// FarmClients is how many client addresses (FarmClientAddr(0..)) the
	// client holds besides its own.
	FarmClients = 60
)

var (
	// FarmVIP is the farm's virtual address, FarmPort its load-balanced port.
	FarmVIP      = netip.MustParseAddr("198.18.70.100")
	FarmPort     = 80
	farmClientIP = netip.MustParseAddr("198.18.70.10")
)

// FarmMemberAddr is member i's (from 0) LAN address.
func FarmMemberAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 70, byte(11 + i)}) }

// FarmClientAddr is the client's i-th extra address (from 0).
func FarmClientAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 70, byte(130 + i)}) }

// FarmMemberNS is member i's namespace.
func FarmMemberNS(i int) string { return fmt.Sprintf("lbxf-s%d", i+1) }

// FarmOptions describe a farm topology.
type FarmOptions struct {
	Binary  string // the lbx binary the members run
	Dir     string // state: module directories, logs, sockets
	Members int    // hosts (namespaces) made; default 3
	Config  []byte // userconfig.xml; default FarmUserConfig
	Macros  map[string]string
	// MemberArgs are extra `lbx farm run` arguments.
	MemberArgs []string
}

// Farm is a running farm topology.
type Farm struct {
	opts    FarmOptions
	Members []*FarmMember
}

// FarmMember is one server host of the farm.
type FarmMember struct {
	Index  int
	Name   string // s1, s2, …
	NS     string
	Addr   netip.Addr
	Module string // module directory (bin/start_both, bin/stop_both, log/)
	Socket string
	cmd    *exec.Cmd
	exited chan struct{}
}

// MemberName is the member's name in the farm (its membership address).
func (m *FarmMember) MemberName() string {
	return netip.AddrPortFrom(m.Addr, farm.DefaultPort).String()
}

// startBoth and stopBoth are the members' module scripts: start the
// emulated HTTP server (unless the module holds a file "broken", so tests
// can make a restart fail), and stop it. stop_both with "force" kills it.
const startBoth = `#!/bin/sh
# Script called on all servers for starting applications
echo "Running start_both $*"
cd "$(dirname "$0")/.."
if [ -e broken ]; then
  echo "start_both: broken, not starting the server"
  exit 0
fi
%s testbed serve --name %s --http :%d --udp "" >>log/server.log 2>&1 &
echo $! > run/server.pid
echo "start_both: server started, pid $!"
`

const stopBoth = `#!/bin/sh
# Script called on all servers for stopping applications
echo "Running stop_both $*"
cd "$(dirname "$0")/.."
if [ -s run/server.pid ]; then
  kill -9 "$(cat run/server.pid)" 2>/dev/null && echo "stop_both: server stopped"
  rm -f run/server.pid
fi
exit 0
`

// FarmUp makes the topology: switch, client (with FarmClients extra
// addresses), and the member hosts, each with its module directory. No
// member runs yet: StartMember starts one.
func FarmUp(o FarmOptions) (f *Farm, err error) {
	if o.Members == 0 {
		o.Members = 3
	}
	if o.Config == nil {
		o.Config = FarmUserConfig
	}
	if o.Macros == nil {
		o.Macros = map[string]string{"VIRTUAL_IP": FarmVIP.String(), "IIS_PORT": strconv.Itoa(FarmPort)}
	}
	f = &Farm{opts: o}
	defer func() {
		if err != nil {
			f.Down()
		}
	}()
	for _, ns := range f.namespaces() {
		if nsExists(ns) {
			return nil, fmt.Errorf("farm testbed: namespace %s exists (run `lbx testbed down --farm`)", ns)
		}
	}
	for _, ns := range f.namespaces() {
		if err := nsCreate(ns); err != nil {
			return nil, err
		}
	}
	if err := addBridge(FarmSwitchNS, farmBridge); err != nil {
		return nil, err
	}
	if err := attachHost(FarmSwitchNS, farmBridge, "lbxf-c", FarmClientNS, netip.PrefixFrom(farmClientIP, 24), netip.Addr{}); err != nil {
		return nil, err
	}
	for i := range FarmClients {
		if err := farmExec(FarmClientNS, "ip", "addr", "add", FarmClientAddr(i).String()+"/24", "dev", "eth0"); err != nil {
			return nil, err
		}
	}
	cfgPath := filepath.Join(o.Dir, "userconfig.xml")
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cfgPath, o.Config, 0o644); err != nil {
		return nil, err
	}
	for i := range o.Members {
		m := &FarmMember{Index: i, Name: fmt.Sprintf("s%d", i+1), NS: FarmMemberNS(i), Addr: FarmMemberAddr(i)}
		m.Module = filepath.Join(o.Dir, m.Name)
		m.Socket = filepath.Join(m.Module, "run", "farm.sock")
		for _, d := range []string{"bin", "log", "run"} {
			if err := os.MkdirAll(filepath.Join(m.Module, d), 0o755); err != nil {
				return nil, err
			}
		}
		if err := os.WriteFile(filepath.Join(m.Module, "bin", "start_both"), fmt.Appendf(nil, startBoth, o.Binary, m.Name, FarmPort), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(m.Module, "bin", "stop_both"), []byte(stopBoth), 0o755); err != nil {
			return nil, err
		}
		if err := attachHost(FarmSwitchNS, farmBridge, "lbxf-"+m.Name, m.NS, netip.PrefixFrom(m.Addr, 24), netip.Addr{}); err != nil {
			return nil, err
		}
		f.Members = append(f.Members, m)
	}
	return f, nil
}

func (f *Farm) namespaces() []string {
	ns := []string{FarmSwitchNS, FarmClientNS}
	for i := range f.opts.Members {
		ns = append(ns, FarmMemberNS(i))
	}
	return ns
}

func farmExec(ns string, argv ...string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := withNS(ns, cmd.Run); err != nil {
		return fmt.Errorf("%s in %s: %v: %s", strings.Join(argv, " "), ns, err, out.String())
	}
	return nil
}

// StartMember starts `lbx farm run` on member i, joining the others.
func (f *Farm) StartMember(i int) error {
	m := f.Members[i]
	if m.cmd != nil {
		return fmt.Errorf("farm member %s already running", m.Name)
	}
	args := []string{"farm", "run", "-f", filepath.Join(f.opts.Dir, "userconfig.xml"), "--module", m.Module, "--socket", m.Socket}
	for k, v := range f.opts.Macros {
		args = append(args, "--macro", k+"="+v)
	}
	for _, o := range f.Members {
		if o != m {
			args = append(args, "--peer", o.Addr.String())
		}
	}
	args = append(args, f.opts.MemberArgs...)
	cmd := exec.Command(f.opts.Binary, args...)
	out, err := os.OpenFile(filepath.Join(m.Module, "log", "lbx.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := startIn(m.NS, cmd); err != nil {
		out.Close()
		return fmt.Errorf("farm member %s: %w", m.Name, err)
	}
	out.Close()
	m.cmd, m.exited = cmd, make(chan struct{})
	go func(c *exec.Cmd, ch chan struct{}) {
		c.Wait()
		close(ch)
	}(cmd, m.exited)
	return nil
}

// SignalMember sends sig to member i's lbx process and, for SIGKILL and
// SIGTERM, waits (at most limit) for it to end.
func (f *Farm) SignalMember(i int, sig syscall.Signal, limit time.Duration) error {
	m := f.Members[i]
	if m.cmd == nil {
		return nil
	}
	select {
	case <-m.exited:
		m.cmd = nil
		return nil
	default:
	}
	if err := m.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-m.exited:
		m.cmd = nil
		return nil
	case <-time.After(limit):
		return fmt.Errorf("farm member %s: still running %s after %v", m.Name, limit, sig)
	}
}

// Ctl sends a control request (status, status json, stop, start) to member i.
func (f *Farm) Ctl(i int, req string) (string, error) {
	return farm.Ctl(f.Members[i].Socket, req, 2*time.Minute)
}

// killServer kills the emulated server a member's start_both started.
func (m *FarmMember) killServer() {
	b, err := os.ReadFile(filepath.Join(m.Module, "run", "server.pid"))
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// KillServer kills member i's application (the emulated HTTP server), as
// a crash of the service the checker watches.
func (f *Farm) KillServer(i int) { f.Members[i].killServer() }

// Down stops every member (SIGTERM, then SIGKILL), kills the servers
// their scripts started, and deletes the namespaces.
func (f *Farm) Down() error {
	var errs []error
	for i, m := range f.Members {
		if m.cmd != nil {
			if err := f.SignalMember(i, syscall.SIGTERM, 10*time.Second); err != nil {
				errs = append(errs, err, f.SignalMember(i, syscall.SIGKILL, 5*time.Second))
			}
		}
		m.killServer()
	}
	for _, ns := range f.namespaces() {
		if err := nsDelete(ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
