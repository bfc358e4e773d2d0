package testbed

import (
	"bufio"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
			return nil, fmt.Errorf("farm testbed: namespace %s exists (another farm testbed is up, or one was left: ip netns delete it)", ns)
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
	// The members' membership key: the farm's gossip is encrypted.
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, "farm.key"), []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, err
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
	args := []string{"farm", "run", "-f", filepath.Join(f.opts.Dir, "userconfig.xml"), "--module", m.Module, "--socket", m.Socket, "--secret-file", filepath.Join(f.opts.Dir, "farm.key")}
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

// FarmStatus is member i's status.
func (f *Farm) FarmStatus(i int) (farm.Status, error) {
	var s farm.Status
	out, err := farm.Ctl(f.Members[i].Socket, "status json", 5*time.Second)
	if err != nil {
		return s, err
	}
	err = json.Unmarshal([]byte(out), &s)
	return s, err
}

// WaitSettled waits (at most limit) until member i sees exactly the
// members up UP, each with the share the assignment gives it, none
// draining.
func (f *Farm) WaitSettled(ctx context.Context, i int, up []int, limit time.Duration) (farm.Status, error) {
	var names []string
	for _, j := range up {
		names = append(names, f.Members[j].MemberName())
	}
	share := farm.Share(farm.Assign(names))
	deadline := time.Now().Add(limit)
	var s farm.Status
	var err error
	for time.Now().Before(deadline) {
		s, err = f.FarmStatus(i)
		if err == nil {
			n, ok := 0, true
			for _, m := range s.Members {
				if m.State == "UP" {
					n++
					ok = ok && slices.Contains(names, m.Name)
				}
				ok = ok && m.Draining == 0 && m.Buckets == share[m.Name]
			}
			if ok && n == len(names) {
				return s, nil
			}
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return s, fmt.Errorf("farm: members %v not settled within %v (last status %+v, %v)", names, limit, s, err)
}

// FarmRequest is one HTTP request to the VIP from client address src; it
// returns the answering server's name.
func FarmRequest(src netip.Addr) (string, error) {
	var conn net.Conn
	// The socket is made on this thread, in the client's namespace, and
	// stays there; the request runs on it from any thread.
	err := withNS(FarmClientNS, func() error {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
		var err error
		conn, err = d.Dial("tcp", netip.AddrPortFrom(FarmVIP, uint16(FarmPort)).String())
		return err
	})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: farm\r\nConnection: close\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	body := string(b)
	_, rest, ok := strings.Cut(body, "server=")
	if !ok {
		return "", fmt.Errorf("farm: answer %q names no server", body)
	}
	name, _, _ := strings.Cut(rest, " ")
	return strings.TrimSpace(name), nil
}

// FarmDemo is `lbx demo farm`: the seed's story on the farm topology.
// Three servers share the VIP; requests from 30 client addresses spread
// over them; one member is stopped (lbx farm stop) and the others take
// its share; it starts again and takes it back.
func FarmDemo(ctx context.Context, out io.Writer, binary, dir string) (err error) {
	f, err := FarmUp(FarmOptions{Binary: binary, Dir: dir})
	if err != nil {
		return err
	}
	defer func() {
		if derr := f.Down(); derr != nil && err == nil {
			err = derr
		}
	}()
	fmt.Fprintf(out, "farm testbed: client %s and servers s1..s3 (%s..%s) on one LAN bridge; VIP %s:%d\n", farmClientIP, FarmMemberAddr(0), FarmMemberAddr(2), FarmVIP, FarmPort)
	fmt.Fprintln(out, "each server runs: lbx farm run -f userconfig.xml --macro VIRTUAL_IP=198.18.70.100 --macro IIS_PORT=80 --module DIR --peer …")
	for i := range f.Members {
		if err := f.StartMember(i); err != nil {
			return err
		}
	}
	round := func(title string) error {
		count := map[string]int{}
		for i := range 30 {
			srv, err := FarmRequest(FarmClientAddr(i))
			if err != nil {
				return err
			}
			count[srv]++
		}
		fmt.Fprintf(out, "%s: 30 requests from 30 client addresses: s1 %d, s2 %d, s3 %d\n", title, count["s1"], count["s2"], count["s3"])
		return nil
	}
	s, err := f.WaitSettled(ctx, 0, []int{0, 1, 2}, 60*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n$ lbx farm status   (on s1)\n%s\n", s.Text())
	if err := round("three members UP"); err != nil {
		return err
	}
	fmt.Fprintln(out, "\n$ lbx farm stop     (on s2: its buckets drain to s1 and s3, then stop_both)")
	if _, err := f.Ctl(1, "stop"); err != nil {
		return err
	}
	if s, err = f.WaitSettled(ctx, 0, []int{0, 2}, 60*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\n", s.Text())
	if err := round("s2 stopped"); err != nil {
		return err
	}
	fmt.Fprintln(out, "\n$ lbx farm start    (on s2: start_both, WAIT until its checker passes, then UP)")
	if _, err := f.Ctl(1, "start"); err != nil {
		return err
	}
	if s, err = f.WaitSettled(ctx, 0, []int{0, 1, 2}, 60*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\n", s.Text())
	if err := round("s2 back"); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nfarm testbed down")
	return nil
}
