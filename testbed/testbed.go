package testbed

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"lbx/ctrlplane/ctlsock"
)

//go:embed default.conf
var defaultConf string

// DefaultConfig is the traffic config the testbed's appliance boots with.
func DefaultConfig() string { return defaultConf }

// Defaults for where the testbed keeps its files. The appliance uses the
// default control socket so `lbx -c` and `lbx push` reach it without flags.
const (
	DefaultStateDir = "/run/lbx/testbed"
	DefaultSocket   = "/run/lbx/lbx.sock"
)

// Options say how to bring a testbed up.
type Options struct {
	// Binary is the lbx executable started for the appliance and the
	// emulated servers (default: this executable).
	Binary string
	// StateDir holds the state file, logs and the appliance's config.
	StateDir string
	// Socket is the appliance's control socket.
	Socket string
	// Config is the traffic config to boot with (default: DefaultConfig()).
	Config string
	// Detach starts the processes in their own sessions so they outlive the
	// caller (`lbx testbed up`); otherwise they are the caller's children and
	// Down reaps them (tests, `lbx demo`).
	Detach bool
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// PortDriver is the appliance's port driver: "tap" (the default: lbx
	// creates TAP devices the testbed joins to the bridges) or "afxdp"
	// (the testbed creates a veth pair per port, one end on the bridge,
	// the other taken over by lbx with an AF_XDP socket).
	PortDriver string
	// VM, when set, boots the appliance VM (vm.go) instead of the
	// appliance process.
	VM *VMOptions
	// Topology is the layout to build (LoadTopology); nil: the default.
	Topology *Topology
}

// PortDrivers are the drivers Options.PortDriver may name.
var PortDrivers = []string{"tap", "afxdp"}

// Proc is a process the testbed started.
type Proc struct {
	Name string   `json:"name"`
	PID  int      `json:"pid"`
	Argv []string `json:"argv"`
}

// State is what `status` prints and `down` reads: it is written to
// StateDir/state.json as soon as anything is created.
//
// It holds the testbed admin's password, so it is written 0600.
type State struct {
	VIP    string            `json:"vip"`
	Hosts  map[string]string `json:"hosts"`
	Socket string            `json:"socket"`
	// SSH is the host address (127.0.0.1:PORT) where the appliance's SSH
	// CLI is published; Mgmt the base URL of its HTTPS management API
	// (iControl REST, /metrics). User and Password are the testbed's
	// admin, the password generated per testbed (publish.go).
	SSH      string `json:"ssh"`
	Mgmt     string `json:"mgmt"`
	User     string `json:"user"`
	Password string `json:"password"`
	Procs    []Proc `json:"procs"`
	Dir      string `json:"dir"`
	// Topology names the layout; Appliances are its appliances (the
	// first's socket, SSH and Mgmt are also Socket, SSH and Mgmt above);
	// HostNS maps each host to its namespace; Namespaces are every
	// namespace Up created, for Down after a crash.
	Topology   string            `json:"topology"`
	Appliances []ApplianceState  `json:"appliances"`
	HostNS     map[string]string `json:"host_ns"`
	Namespaces []string          `json:"namespaces"`
	// HostLinks are the hosts' veth ends on the bridges; Faults the
	// injected faults (fault.go).
	HostLinks map[string]LinkState `json:"host_links"`
	Faults    []FaultState         `json:"faults,omitempty"`
}

// ApplianceState is one appliance of a running testbed.
type ApplianceState struct {
	Name   string `json:"name"`
	Socket string `json:"socket"`
	SSH    string `json:"ssh,omitempty"`
	Mgmt   string `json:"mgmt,omitempty"`
	// Proc is its process's name in State.Procs.
	Proc string `json:"proc"`
	// Ports are its TAP devices and their bridges.
	Ports []LinkState `json:"ports"`
}

// Running returns the recorded process named name if it still runs the
// command the testbed started.
func (st *State) Running(name string) (Proc, bool) {
	for i := len(st.Procs) - 1; i >= 0; i-- {
		if p := st.Procs[i]; p.Name == name && isOurs(p) {
			return p, true
		}
	}
	return Proc{}, false
}

// Appliance returns the named appliance of the state ("": the
// first).
func (st *State) Appliance(name string) (ApplianceState, error) {
	for _, a := range st.Appliances {
		if name == "" || a.Name == name {
			return a, nil
		}
	}
	if name == "" && st.Socket != "" { // a state written before topologies
		return ApplianceState{Name: "lbx", Socket: st.Socket, SSH: st.SSH, Mgmt: st.Mgmt, Proc: "appliance"}, nil
	}
	var names []string
	for _, a := range st.Appliances {
		names = append(names, a.Name)
	}
	return ApplianceState{}, fmt.Errorf("testbed: no appliance %q (appliances: %s)", name, strings.Join(names, ", "))
}

// AdminUser is the testbed's admin user.
const AdminUser = "admin"

// Testbed is a running testbed.
type Testbed struct {
	Topo  Topology
	State State
	opts  Options
	cmds  map[int]*exec.Cmd // children of this process, reaped by Down
	lock  *hostLock         // held from Up to Down when not detached
}

func (o *Options) defaults() error {
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("testbed: find lbx binary: %w", err)
		}
		o.Binary = exe
	}
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir
	}
	if o.Socket == "" {
		o.Socket = DefaultSocket
	}
	if o.Config == "" {
		o.Config = defaultConf
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.PortDriver == "" {
		o.PortDriver = "tap"
	}
	if !slices.Contains(PortDrivers, o.PortDriver) {
		return fmt.Errorf("testbed: port driver %q: want one of %s", o.PortDriver, strings.Join(PortDrivers, ", "))
	}
	return nil
}

// Up builds the default topology, starts the emulated servers and boots the
// appliance. Anything left by an earlier run is removed first. On error,
// everything Up created is torn down again.
func Up(opts Options) (tb *Testbed, err error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("testbed: needs root (network namespaces)")
	}
	password, err := newPassword()
	if err != nil {
		return nil, err
	}
	lock, err := acquireLock(LockPath, lockWait, opts.Log)
	if err != nil {
		return nil, err
	}
	if opts.Detach {
		// The processes outlive this one; the lock only serializes
		// testbeds run in-process (tests, the demo).
		defer lock.release()
	}
	topo := DefaultTopology()
	if opts.Topology != nil {
		topo = *opts.Topology
	}
	if len(topo.Appliances) == 0 {
		lock.release()
		return nil, errors.New("testbed: topology has no appliance")
	}
	if opts.VM != nil && len(topo.Appliances) > 1 {
		lock.release()
		return nil, fmt.Errorf("testbed: --vm boots one appliance; topology %s has %d", topo.Name, len(topo.Appliances))
	}
	if err := down(topo, opts.StateDir, opts.Log, nil); err != nil {
		lock.release()
		return nil, fmt.Errorf("testbed: clean up an earlier run: %w", err)
	}
	tb = &Testbed{Topo: topo, opts: opts, cmds: map[int]*exec.Cmd{}}
	if !opts.Detach {
		tb.lock = lock
	}
	tb.State = State{VIP: topo.VIP.String(), Hosts: map[string]string{}, Socket: opts.Socket, Dir: opts.StateDir,
		User: AdminUser, Password: password, Topology: topo.Name, HostNS: map[string]string{}, Namespaces: topo.Namespaces(),
		HostLinks: map[string]LinkState{}}
	if !topo.VIP.IsValid() {
		tb.State.VIP = ""
	}
	for i, a := range topo.Appliances {
		as := ApplianceState{Name: a.Name, Socket: tb.applianceSocket(i), Proc: applianceProc(i, a)}
		for _, p := range a.Ports {
			as.Ports = append(as.Ports, LinkState{Device: p.Device, Bridge: p.Bridge})
		}
		tb.State.Appliances = append(tb.State.Appliances, as)
	}
	tb.State.Socket = tb.State.Appliances[0].Socket
	for _, h := range topo.Hosts {
		tb.State.Hosts[h.Name] = h.Addr.Addr().String()
		tb.State.HostNS[h.Name] = h.NS
		tb.State.HostLinks[h.Name] = LinkState{Device: h.SwEnd, Bridge: h.Bridge}
	}
	defer func() {
		if err != nil {
			if derr := tb.Down(); derr != nil {
				err = errors.Join(err, derr)
			}
			tb = nil
		}
	}()
	if err := os.MkdirAll(opts.StateDir, 0o755); err != nil {
		return tb, fmt.Errorf("testbed: %w", err)
	}
	if err := tb.saveState(); err != nil {
		return tb, err
	}
	fmt.Fprintf(opts.Log, "testbed: creating namespaces %s\n", strings.Join(topo.Namespaces(), " "))
	for _, ns := range topo.Namespaces() {
		if err := nsCreate(ns); err != nil {
			return tb, err
		}
	}
	for _, br := range topo.Bridges {
		if err := addBridge(topo.SwitchNS, br); err != nil {
			return tb, err
		}
	}
	for _, h := range topo.Hosts {
		if err := attachHost(topo.SwitchNS, h.Bridge, h.SwEnd, h.NS, h.Addr, h.Gateway); err != nil {
			return tb, fmt.Errorf("testbed: host %s: %w", h.Name, err)
		}
		if err := addRoutes(h.NS, h.Routes); err != nil {
			return tb, fmt.Errorf("testbed: host %s: %w", h.Name, err)
		}
	}
	if opts.PortDriver == "afxdp" && opts.VM == nil {
		for _, a := range topo.Appliances {
			for _, p := range a.Ports {
				if err := addPortVeth(topo.SwitchNS, p.Device, p.Bridge); err != nil {
					return tb, fmt.Errorf("testbed: appliance %s port %s: %w", a.Name, p.Device, err)
				}
			}
		}
	}
	for _, h := range topo.Emulated() {
		if err := tb.start(h.Name, h.NS, serveArgv(opts.Binary, h)); err != nil {
			return tb, err
		}
	}
	if err := tb.publishMgmt(); err != nil {
		return tb, err
	}
	for i, a := range topo.Appliances {
		conf := a.Config
		if conf == "" {
			conf = opts.Config
		}
		if err := os.MkdirAll(tb.applianceDir(i), 0o700); err != nil {
			return tb, fmt.Errorf("testbed: %w", err)
		}
		if err := os.WriteFile(filepath.Join(tb.applianceDir(i), "bigip.conf"), []byte(conf), 0o600); err != nil {
			return tb, fmt.Errorf("testbed: %w", err)
		}
		if err := tb.bootAppliance(i); err != nil {
			return tb, err
		}
	}
	for _, h := range topo.Emulated() {
		if err := waitServer(h, 10*time.Second); err != nil {
			return tb, err
		}
	}
	fmt.Fprintf(opts.Log, "testbed: up: topology %s, VIP %s, control socket %s\n", topo.Name, topo.VIP, tb.State.Socket)
	for _, a := range tb.State.Appliances[1:] {
		fmt.Fprintf(opts.Log, "testbed: appliance %s: control socket %s (lbx -c … --appliance %s)\n", a.Name, a.Socket, a.Name)
	}
	fmt.Fprintf(opts.Log, "testbed: ssh -p %s %s@127.0.0.1 (password: lbx testbed status -o json), management API %s\n",
		tb.State.SSH[strings.LastIndexByte(tb.State.SSH, ':')+1:], AdminUser, tb.State.Mgmt)
	return tb, nil
}

// BootAppliance starts the first appliance in the switch namespace with
// the testbed's saved config, SSH and the management API on the namespace's
// loopback (published on the host by Up) and the testbed admin's password,
// waits until its control socket and its SSH server answer, and joins its
// TAP ports to the bridges (AF_XDP ports' veth pairs are on them already). Everything the appliance generates (SSH host
// key, certificate) is kept next to the saved config, in the state
// directory, which Down removes. Up calls it; a test calls it again after
// CrashAppliance to reboot.
func (tb *Testbed) BootAppliance() error { return tb.bootAppliance(0) }

// BootApplianceNamed is BootAppliance for the named appliance.
func (tb *Testbed) BootApplianceNamed(name string) error {
	_, i, ok := tb.Topo.Appliance(name)
	if !ok {
		return fmt.Errorf("testbed: no appliance %q (appliances: %s)", name, strings.Join(tb.Topo.ApplianceNames(), ", "))
	}
	return tb.bootAppliance(i)
}

// applianceSocket is appliance i's control socket.
func (tb *Testbed) applianceSocket(i int) string {
	a := tb.Topo.Appliances[i]
	switch {
	case a.Socket != "":
		return a.Socket
	case i == 0:
		return tb.opts.Socket
	}
	return filepath.Join(tb.opts.StateDir, a.Name+".sock")
}

// applianceDir holds appliance i's saved config and what it generates:
// the state directory for the first, a directory of its own for the others.
func (tb *Testbed) applianceDir(i int) string {
	if i == 0 {
		return tb.opts.StateDir
	}
	return filepath.Join(tb.opts.StateDir, tb.Topo.Appliances[i].Name)
}

// applianceProc is the name of appliance i's process (and log): the
// first is "appliance", as before topologies; the others appliance-NAME.
func applianceProc(i int, a Appliance) string {
	if i == 0 {
		return "appliance"
	}
	return "appliance-" + a.Name
}

// mgmtAddrs are where appliance i's SSH and HTTPS listen in the switch
// namespace: 127.0.0.1 for the first, 127.0.0.(i+1) for the others.
func mgmtAddrs(i int) (ssh, rest string) {
	if i == 0 {
		return ApplianceSSH, ApplianceREST
	}
	return fmt.Sprintf("127.0.0.%d:22", i+1), fmt.Sprintf("127.0.0.%d:443", i+1)
}

func (tb *Testbed) bootAppliance(i int) error {
	if tb.opts.VM != nil {
		return tb.bootVM()
	}
	a := tb.Topo.Appliances[i]
	savedPath := filepath.Join(tb.applianceDir(i), "bigip.conf")
	argv := []string{tb.opts.Binary, "run", "--control.socket", tb.applianceSocket(i), "--config.saved", savedPath}
	if a.Mgmt {
		ssh, rest := mgmtAddrs(i)
		argv = append(argv, "--ssh.listen", ssh, "--rest.listen", rest)
	}
	if tb.opts.PortDriver != "tap" || !a.EmbeddedBoot {
		ports, err := a.bootPorts(tb.opts.PortDriver)
		if err != nil {
			return err
		}
		argv = append(argv, "--ports", ports)
	}
	if !a.EmbeddedBoot {
		selfs, err := a.bootSelfIPs()
		if err != nil {
			return err
		}
		argv = append(argv, "--selfips", selfs)
		if a.Flows > 0 {
			argv = append(argv, "--flows.capacity", strconv.Itoa(a.Flows))
		}
		argv = append(argv, a.Boot...)
	}
	name := applianceProc(i, a)
	fmt.Fprintf(tb.opts.Log, "testbed: booting %s: %s\n", name, strings.Join(argv, " "))
	// The password goes in the environment: argv is world-readable in
	// /proc, the environment only to root.
	env := append(os.Environ(), "LBX_ADMIN_PASSWORD="+tb.State.Password)
	if err := tb.startWith(name, tb.Topo.SwitchNS, argv, env, nil); err != nil {
		return err
	}
	if err := tb.waitAppliance(i, 15*time.Second); err != nil {
		return err
	}
	if tb.opts.PortDriver != "tap" {
		return nil // the veth pairs are on the bridges since Up
	}
	for _, p := range a.Ports {
		if err := enslave(tb.Topo.SwitchNS, p.Device, p.Bridge); err != nil {
			return fmt.Errorf("testbed: %w", err)
		}
	}
	return nil
}

// CrashAppliance kills the (first) appliance with SIGKILL, as a power cut would:
// it gets no chance to clean up or save.
func (tb *Testbed) CrashAppliance() error { return tb.crash("appliance") }

// CrashApplianceNamed is CrashAppliance for the named appliance.
func (tb *Testbed) CrashApplianceNamed(name string) error {
	a, i, ok := tb.Topo.Appliance(name)
	if !ok {
		return fmt.Errorf("testbed: no appliance %q (appliances: %s)", name, strings.Join(tb.Topo.ApplianceNames(), ", "))
	}
	return tb.crash(applianceProc(i, a))
}

func (tb *Testbed) crash(proc string) error {
	for i := len(tb.State.Procs) - 1; i >= 0; i-- {
		p := tb.State.Procs[i]
		if p.Name != proc || !isOurs(p) {
			continue
		}
		if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
			return fmt.Errorf("testbed: kill appliance: %w", err)
		}
		if c := tb.cmds[p.PID]; c != nil {
			c.Wait()
			delete(tb.cmds, p.PID)
		}
		tb.State.Procs = append(tb.State.Procs[:i], tb.State.Procs[i+1:]...)
		return tb.saveState()
	}
	return fmt.Errorf("testbed: no running %s", proc)
}

// start runs argv inside ns and records it in the state file.
func (tb *Testbed) start(name, ns string, argv []string) error {
	return tb.startWith(name, ns, argv, nil, nil)
}

// startWith is start with an environment (nil: this process's) and files
// the process inherits as fd 3, 4, ….
func (tb *Testbed) startWith(name, ns string, argv, env []string, files []*os.File) error {
	logf, err := os.OpenFile(filepath.Join(tb.opts.StateDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("testbed: %s: %w", name, err)
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env, cmd.ExtraFiles = env, files
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: tb.opts.Detach, Pdeathsig: 0}
	if !tb.opts.Detach {
		// A child of a test or demo must not outlive it even if it crashes.
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := startIn(ns, cmd); err != nil {
		return fmt.Errorf("testbed: start %s: %w", name, err)
	}
	tb.cmds[cmd.Process.Pid] = cmd
	tb.State.Procs = append(tb.State.Procs, Proc{Name: name, PID: cmd.Process.Pid, Argv: argv})
	return tb.saveState()
}

func (tb *Testbed) saveState() error {
	b, err := json.MarshalIndent(tb.State, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(tb.opts.StateDir, "state.json.tmp")
	// 0600: the state holds the admin password. WriteFile keeps the mode
	// of a file that exists, so an old one is removed first.
	os.Remove(tmp)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("testbed: state: %w", err)
	}
	return os.Rename(tmp, filepath.Join(tb.opts.StateDir, "state.json"))
}

// waitAppliance waits until the control socket answers, or the appliance
// process exits (its log is then part of the error).
func (tb *Testbed) waitAppliance(i int, limit time.Duration) error {
	c := &ctlsock.Client{Path: tb.applianceSocket(i), Timeout: 2 * time.Second}
	name := applianceProc(i, tb.Topo.Appliances[i])
	var appliance *exec.Cmd
	for _, p := range tb.State.Procs { // the last one started wins
		if p.Name == name {
			appliance = tb.cmds[p.PID]
		}
	}
	deadline := time.Now().Add(limit)
	for attempt := 0; ; attempt++ {
		err := tb.applianceAnswers(c, tb.State.Appliances[i].SSH)
		if err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("testbed: %s did not answer within %s: %v\n%s", name, limit, err, tb.logTail(name))
		}
		if appliance != nil && !alive(appliance.Process.Pid) {
			return fmt.Errorf("testbed: %s exited during boot:\n%s", name, tb.logTail(name))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (tb *Testbed) logTail(name string) string {
	b, _ := os.ReadFile(filepath.Join(tb.opts.StateDir, name+".log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Down stops every process the testbed started and removes every namespace
// (and with them every link) it created.
func (tb *Testbed) Down() error {
	err := down(tb.Topo, tb.opts.StateDir, tb.opts.Log, tb.cmds)
	if tb.lock != nil {
		tb.lock.release()
		tb.lock = nil
	}
	return err
}

// Down tears down whatever a testbed left in stateDir, also after a crash of
// the run that built it.
func Down(stateDir string, log io.Writer) error {
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	if log == nil {
		log = io.Discard
	}
	return down(DefaultTopology(), stateDir, log, nil)
}

func down(topo Topology, stateDir string, log io.Writer, children map[int]*exec.Cmd) error {
	var errs []error
	var procs []Proc
	var extra []string // the namespaces of the topology the state file names
	if b, err := os.ReadFile(filepath.Join(stateDir, "state.json")); err == nil {
		var st State
		if err := json.Unmarshal(b, &st); err != nil {
			errs = append(errs, fmt.Errorf("testbed: state file: %w", err))
		}
		procs = st.Procs
		extra = st.Namespaces
	}
	// Stop the appliance first so it removes its socket and TAP devices.
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		if !isOurs(p) {
			continue
		}
		fmt.Fprintf(log, "testbed: stopping %s (pid %d)\n", p.Name, p.PID)
		if err := stop(p.PID, children[p.PID]); err != nil {
			errs = append(errs, fmt.Errorf("testbed: stop %s: %w", p.Name, err))
		}
	}
	// Anything else still inside our namespaces was started by a testbed
	// (for instance by `lbx testbed exec` or a crashed run). The routed
	// network's namespaces (routed.go) go too, added or not.
	namespaces := topo.Namespaces()
	for _, ns := range extra {
		// Only the testbed's own names: a state file is no licence to
		// remove anything else.
		if strings.HasPrefix(ns, "lbx-") && !slices.Contains(namespaces, ns) {
			namespaces = append(namespaces, ns)
		}
	}
	for _, ns := range routedNamespaces {
		if !slices.Contains(namespaces, ns) {
			namespaces = append(namespaces, ns)
		}
	}
	for _, ns := range namespaces {
		ino, ok := nsInode(ns)
		if !ok {
			continue
		}
		for _, pid := range pidsInNS(ino) {
			fmt.Fprintf(log, "testbed: stopping pid %d left in %s\n", pid, ns)
			if err := stop(pid, children[pid]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, ns := range namespaces {
		if nsExists(ns) {
			fmt.Fprintf(log, "testbed: deleting namespace %s\n", ns)
		}
		if err := nsDelete(ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(stateDir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// isOurs checks that the pid still runs the command the testbed started, so
// a recycled pid is never signalled.
func isOurs(p Proc) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID))
	if err != nil || len(p.Argv) == 0 {
		return false
	}
	got := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	if len(got) != len(p.Argv) {
		return false
	}
	for i := range got {
		if got[i] != p.Argv[i] {
			return false
		}
	}
	return true
}

func pidsInNS(ino uint64) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if got, ok := procNSInode(pid); ok && got == ino && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive is false for a missing pid and for a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// stop sends SIGTERM, waits up to 5s, then SIGKILL. A child of this
// process is reaped and awaited through Wait; any other process (left by a
// detached `lbx testbed up`) has no exit event to wait on, so /proc is
// polled, bounded.
func stop(pid int, cmd *exec.Cmd) error {
	var done chan struct{}
	if cmd != nil {
		done = make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
	}
	waitGone := func(limit time.Duration) bool {
		if done != nil {
			select {
			case <-done:
				return true
			case <-time.After(limit):
				return false
			}
		}
		for deadline := time.Now().Add(limit); alive(pid); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				return false
			}
		}
		return true
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %d: %w", pid, err)
	}
	if waitGone(5 * time.Second) {
		return nil
	}
	syscall.Kill(pid, syscall.SIGKILL)
	if !waitGone(2 * time.Second) {
		return fmt.Errorf("pid %d did not exit after SIGKILL", pid)
	}
	return nil
}

// ReadState reads the state of a running testbed.
func ReadState(stateDir string) (*State, error) {
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	b, err := os.ReadFile(filepath.Join(stateDir, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("testbed: not up (no state file; run `lbx testbed up`)")
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("testbed: state file: %w", err)
	}
	return &st, nil
}

// Exec replaces the current process with argv run on host (of the running
// testbed's topology, else of the default one).
func Exec(host string, argv []string) error {
	topo := DefaultTopology()
	if st, err := ReadState(""); err == nil && len(st.HostNS) > 0 {
		topo.Hosts = nil
		for _, name := range slices.Sorted(maps.Keys(st.HostNS)) {
			topo.Hosts = append(topo.Hosts, Host{Name: name, NS: st.HostNS[name]})
		}
	}
	h, ok := topo.Host(host)
	if !ok {
		names := make([]string, len(topo.Hosts))
		for i, h := range topo.Hosts {
			names[i] = h.Name
		}
		return fmt.Errorf("testbed: no host %q (hosts: %s)", host, strings.Join(names, ", "))
	}
	if len(argv) == 0 {
		return errors.New("testbed exec: no command")
	}
	return execIn(h.NS, argv)
}

// Command returns a command that runs argv on host, for callers that want
// to capture its output (tests, the demo).
func (tb *Testbed) Command(host string, argv ...string) (*HostCmd, error) {
	if len(argv) == 0 {
		return nil, errors.New("testbed: no command")
	}
	h, ok := tb.Topo.Host(host)
	if !ok {
		return nil, fmt.Errorf("testbed: no host %q", host)
	}
	return &HostCmd{Cmd: exec.Command(argv[0], argv[1:]...), ns: h.NS}, nil
}

// HostCmd is an exec.Cmd that runs in a host's namespace.
type HostCmd struct {
	*exec.Cmd
	ns string
}

// Start starts the command inside the host's namespace.
func (c *HostCmd) Start() error { return startIn(c.ns, c.Cmd) }

// Output runs the command and returns its standard output.
func (c *HostCmd) Output() ([]byte, error) {
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Start(); err != nil {
		return nil, err
	}
	if err := c.Wait(); err != nil {
		return out.Bytes(), fmt.Errorf("%s: %w: %s", strings.Join(c.Args, " "), err, errb.String())
	}
	return out.Bytes(), nil
}

// CombinedOutput runs the command inside the host's namespace and returns
// its standard output and error together. (exec.Cmd's own would start it
// in the caller's namespace: every way to run a HostCmd goes through
// Start.)
func (c *HostCmd) CombinedOutput() ([]byte, error) {
	var b bytes.Buffer
	c.Stdout, c.Stderr = &b, &b
	err := c.Run()
	return b.Bytes(), err
}

// Run runs the command inside the host's namespace and waits for it.
func (c *HostCmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// In runs fn with the calling goroutine's thread inside host's namespace:
// sockets fn opens belong to that host.
func (tb *Testbed) In(host string, fn func() error) error {
	h, ok := tb.Topo.Host(host)
	if !ok {
		return fmt.Errorf("testbed: no host %q", host)
	}
	return withNS(h.NS, fn)
}

// Client returns a control client for the testbed's (first) appliance.
func (tb *Testbed) Client() *ctlsock.Client {
	return &ctlsock.Client{Path: tb.applianceSocket(0)}
}

// ClientOf returns a control client for the named appliance.
func (tb *Testbed) ClientOf(name string) (*ctlsock.Client, error) {
	_, i, ok := tb.Topo.Appliance(name)
	if !ok {
		return nil, fmt.Errorf("testbed: no appliance %q (appliances: %s)", name, strings.Join(tb.Topo.ApplianceNames(), ", "))
	}
	return &ctlsock.Client{Path: tb.applianceSocket(i)}, nil
}
