package topo

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is a topology file as written. Addresses stay text here; Parse has
// checked that each one parses.
type File struct {
	// Name names the topology (`lbx testbed status` shows it).
	Name string `yaml:"name"`
	// Description is free text.
	Description string `yaml:"description"`
	// Segments are the bridges, all in the switch namespace.
	Segments []string `yaml:"segments"`
	// VIP is the address clients use (status shows it); optional.
	VIP string `yaml:"vip"`
	// Appliances are the lbx processes, each in the switch namespace
	// with its TAP ports joined to segments. The first is the one `lbx
	// -c` reaches without --appliance.
	Appliances []Appliance `yaml:"appliances"`
	// Hosts are the emulated machines, one namespace each.
	Hosts []Host `yaml:"hosts"`
}

// Appliance is one lbx appliance of a topology.
type Appliance struct {
	Name string `yaml:"name"`
	// Socket is its control socket; empty: NAME.sock in the testbed's
	// state directory (the first appliance: the testbed's socket).
	Socket string `yaml:"socket"`
	// Mgmt publishes its SSH CLI and HTTPS management API on the host's
	// loopback, as the default topology's appliance has them.
	Mgmt bool `yaml:"mgmt"`
	// Flows is the flow table's capacity (boot key flows.capacity); 0:
	// 65536, small, so many appliances fit on one machine.
	Flows int `yaml:"flows"`
	// Ports are its data ports, each a TAP device on a segment.
	Ports []Port `yaml:"ports"`
	// Config is the traffic config it boots with (bigip.conf), a file
	// relative to the topology file.
	Config string `yaml:"config"`
	// ImportARR is an IIS applicationHost.config (relative to the
	// topology file) translated by `lbx import arr` and put before Config.
	ImportARR string `yaml:"import_arr"`
	// HA makes the appliance one unit of an HA pair: its boot ha:
	// section, the unit's name being the appliance's.
	HA *HA `yaml:"ha"`
}

// HA is an appliance's boot ha: section (README "High availability").
type HA struct {
	VRID     int  `yaml:"vrid"`
	Priority int  `yaml:"priority"`
	Preempt  bool `yaml:"preempt"`
	// AdvertInterval is in centiseconds.
	AdvertInterval int `yaml:"advert_interval"`
	// Ports are the port names (Port.Name) VRRP advertises on.
	Ports []string `yaml:"ports"`
	// MirrorAddr and MirrorPeer (ADDR:PORT) are the connection-mirroring
	// stream's addresses; ConfigSync is the config-sync address (IP or
	// IP:PORT). The appliances run in the switch namespace, whose
	// loopback is the topology's management network.
	MirrorAddr string `yaml:"mirror_addr"`
	MirrorPeer string `yaml:"mirror_peer"`
	ConfigSync string `yaml:"configsync"`
}

// Flags are the `lbx run` boot flags of h for the unit named unit.
func (h *HA) Flags(unit string) []string {
	f := []string{"--ha.unit", unit, "--ha.vrid", strconv.Itoa(h.VRID), "--ha.priority", strconv.Itoa(h.Priority),
		"--ha.preempt=" + strconv.FormatBool(h.Preempt), "--ha.advert_interval", strconv.Itoa(h.AdvertInterval),
		"--ha.ports", strings.Join(h.Ports, ",")}
	for _, kv := range [][2]string{{"--ha.mirror_addr", h.MirrorAddr}, {"--ha.mirror_peer", h.MirrorPeer}, {"--ha.configsync", h.ConfigSync}} {
		if kv[1] != "" {
			f = append(f, kv[0], kv[1])
		}
	}
	return f
}

// Port is one data port of an appliance.
type Port struct {
	// Device is the TAP device (and the port's name in the boot config).
	Device string `yaml:"device"`
	// Name is the port's name in the boot config (the VLAN a self IP
	// names); empty: Device. Units of an HA pair give their ports the
	// same names, so their shared config is the same.
	Name    string `yaml:"name"`
	Segment string `yaml:"segment"`
	MAC     string `yaml:"mac"`
	// Self is the port's self IP, ADDR/LEN; optional.
	Self string `yaml:"self"`
}

// Host is one emulated machine: a namespace with eth0 on a segment.
type Host struct {
	Name    string `yaml:"name"`
	Segment string `yaml:"segment"`
	// Address is eth0's, ADDR/LEN.
	Address string `yaml:"address"`
	// Gateway is the default route's next hop; optional.
	Gateway string  `yaml:"gateway"`
	Routes  []Route `yaml:"routes"`
	// Serve runs an emulated server (`lbx testbed serve`) on the host.
	Serve *Serve `yaml:"serve"`
}

// Route is a static route of a host.
type Route struct {
	To  string `yaml:"to"`  // ADDR/LEN
	Via string `yaml:"via"` // next hop
}

// Serve is a host's emulated server.
type Serve struct {
	// Name is the identity in its answers; empty: the host's name.
	Name string `yaml:"name"`
	// UDP is the UDP echo's listen address, e.g. ":7"; empty: none.
	UDP string `yaml:"udp"`
	// Listen are PORT:MODE as `lbx testbed serve --listen` takes them
	// (80:http, 83:slow=2s, …); the testbed checks the modes.
	Listen []string `yaml:"listen"`
}

// Limits keep a topology to what one machine runs.
const (
	MaxAppliances = 16
	MaxHosts      = 64
	MaxSegments   = 32
	MaxPorts      = 8
	MaxRoutes     = 16
	maxFileSize   = 1 << 20
)

// A name becomes a namespace (lbx-NAME) and a veth end (v-NAME): Linux
// allows 15 characters for a link name.
var nameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,12}$`)

// devRe is a link name: a TAP device or a bridge.
var devRe = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]{0,14}$`)

// Parse decodes and checks a topology file. An unknown field is an error
// naming it and its line; every other error names the object and field.
func Parse(data []byte) (*File, error) {
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("topology: %d bytes: the limit is %d", len(data), maxFileSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("topology: empty file")
		}
		return nil, fmt.Errorf("topology: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("topology: more than one YAML document")
	}
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("topology %s: %w", f.Name, err)
	}
	return &f, nil
}

func (f *File) check() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !nameRe.MatchString(f.Name) {
		bad("name %q: want a lower-case letter, then letters, digits or '-', at most 13", f.Name)
	}
	switch {
	case len(f.Segments) == 0:
		bad("segments: none; want at least one bridge")
	case len(f.Segments) > MaxSegments:
		bad("segments: %d, at most %d", len(f.Segments), MaxSegments)
	}
	devs := map[string]string{} // link name -> what it is, in the switch namespace
	claim := func(dev, what string) {
		if prev, ok := devs[dev]; ok {
			bad("%s: link name %q is also %s", what, dev, prev)
		}
		devs[dev] = what
	}
	for i, s := range f.Segments {
		if !devRe.MatchString(s) {
			bad("segments[%d] %q: want a link name (a letter, then letters, digits, '_' or '-', at most 15)", i, s)
		}
		claim(s, fmt.Sprintf("segments[%d]", i))
	}
	if f.VIP != "" {
		if _, err := netip.ParseAddr(f.VIP); err != nil {
			bad("vip %q: %v", f.VIP, err)
		}
	}
	switch {
	case len(f.Appliances) == 0:
		bad("appliances: none; want at least one")
	case len(f.Appliances) > MaxAppliances:
		bad("appliances: %d, at most %d", len(f.Appliances), MaxAppliances)
	}
	switch {
	case len(f.Hosts) == 0:
		bad("hosts: none; want at least one")
	case len(f.Hosts) > MaxHosts:
		bad("hosts: %d, at most %d", len(f.Hosts), MaxHosts)
	}
	names := map[string]string{}
	name := func(n, what string) {
		if !nameRe.MatchString(n) {
			bad("%s: name %q: want a lower-case letter, then letters, digits or '-', at most 13", what, n)
		}
		if prev, ok := names[n]; ok {
			bad("%s: name %q is also %s", what, n, prev)
		}
		names[n] = what
	}
	macs := map[string]string{}
	sockets := map[string]string{}
	for i, a := range f.Appliances {
		what := fmt.Sprintf("appliances[%d] (%s)", i, a.Name)
		name(a.Name, what)
		if a.Socket != "" {
			if !filepath.IsAbs(a.Socket) {
				bad("%s.socket %q: want an absolute path", what, a.Socket)
			}
			if prev, ok := sockets[a.Socket]; ok {
				bad("%s.socket %q: also %s's", what, a.Socket, prev)
			}
			sockets[a.Socket] = a.Name
		}
		if a.Flows < 0 || a.Flows > 1<<24 {
			bad("%s.flows %d: want 0 to %d", what, a.Flows, 1<<24)
		}
		if a.Config != "" && !localPath(a.Config) {
			bad("%s.config %q: want a path relative to the topology file, inside its directory", what, a.Config)
		}
		if a.ImportARR != "" && !localPath(a.ImportARR) {
			bad("%s.import_arr %q: want a path relative to the topology file, inside its directory", what, a.ImportARR)
		}
		switch {
		case len(a.Ports) == 0:
			bad("%s.ports: none; want at least one", what)
		case len(a.Ports) > MaxPorts:
			bad("%s.ports: %d, at most %d", what, len(a.Ports), MaxPorts)
		}
		portNames := map[string]bool{} // name -> has a self IP
		for j, p := range a.Ports {
			pw := fmt.Sprintf("%s.ports[%d]", what, j)
			if pn := p.PortName(); p.Name != "" && !devRe.MatchString(p.Name) {
				bad("%s.name %q: want a letter, then letters, digits, '_' or '-', at most 15", pw, p.Name)
			} else if _, dup := portNames[pn]; dup {
				bad("%s.name %q: another port of %s has it", pw, pn, a.Name)
			} else {
				portNames[pn] = p.Self != ""
			}
			if !devRe.MatchString(p.Device) {
				bad("%s.device %q: want a link name (a letter, then letters, digits, '_' or '-', at most 15)", pw, p.Device)
			} else {
				claim(p.Device, pw)
			}
			if !slices.Contains(f.Segments, p.Segment) {
				bad("%s.segment %q: not one of segments %v", pw, p.Segment, f.Segments)
			}
			hw, err := net.ParseMAC(p.MAC)
			switch {
			case err != nil || len(hw) != 6:
				bad("%s.mac %q: want a MAC such as 02:00:5e:10:01:02", pw, p.MAC)
			case hw[0]&1 != 0:
				bad("%s.mac %q: a multicast address", pw, p.MAC)
			case bytes.Equal(hw, make(net.HardwareAddr, 6)):
				bad("%s.mac %q: all zeros", pw, p.MAC)
			default:
				key := hw.String()
				if prev, ok := macs[key]; ok {
					bad("%s.mac %q: also %s's", pw, p.MAC, prev)
				}
				macs[key] = pw
			}
			if p.Self != "" {
				if pr, err := netip.ParsePrefix(p.Self); err != nil || !pr.Addr().Is4() {
					bad("%s.self %q: want an IPv4 ADDR/LEN", pw, p.Self)
				}
			}
		}
		if a.HA != nil {
			a.HA.check(what+".ha", portNames, bad)
		}
	}
	for i, h := range f.Hosts {
		what := fmt.Sprintf("hosts[%d] (%s)", i, h.Name)
		name(h.Name, what)
		if nameRe.MatchString(h.Name) {
			claim("v-"+h.Name, what)
		}
		if !slices.Contains(f.Segments, h.Segment) {
			bad("%s.segment %q: not one of segments %v", what, h.Segment, f.Segments)
		}
		pr, err := netip.ParsePrefix(h.Address)
		if err != nil || !pr.Addr().Is4() {
			bad("%s.address %q: want an IPv4 ADDR/LEN", what, h.Address)
		}
		if h.Gateway != "" {
			gw, err := netip.ParseAddr(h.Gateway)
			switch {
			case err != nil || !gw.Is4():
				bad("%s.gateway %q: want an IPv4 address", what, h.Gateway)
			case pr.IsValid() && !pr.Masked().Contains(gw):
				bad("%s.gateway %s: not on the host's subnet %s", what, gw, pr.Masked())
			}
		}
		if len(h.Routes) > MaxRoutes {
			bad("%s.routes: %d, at most %d", what, len(h.Routes), MaxRoutes)
		}
		for j, r := range h.Routes {
			rw := fmt.Sprintf("%s.routes[%d]", what, j)
			if to, err := netip.ParsePrefix(r.To); err != nil || !to.Addr().Is4() {
				bad("%s.to %q: want an IPv4 ADDR/LEN", rw, r.To)
			}
			via, err := netip.ParseAddr(r.Via)
			switch {
			case err != nil || !via.Is4():
				bad("%s.via %q: want an IPv4 address", rw, r.Via)
			case pr.IsValid() && !pr.Masked().Contains(via):
				bad("%s.via %s: not on the host's subnet %s", rw, via, pr.Masked())
			}
		}
		if s := h.Serve; s != nil {
			if s.UDP != "" {
				if _, _, err := net.SplitHostPort(s.UDP); err != nil {
					bad("%s.serve.udp %q: want [ADDR]:PORT", what, s.UDP)
				}
			}
			if len(s.Listen) == 0 && s.UDP == "" {
				bad("%s.serve: neither listen nor udp", what)
			}
			if strings.ContainsAny(s.Name, " \t\r\n=") {
				bad("%s.serve.name %q: no blanks or '='", what, s.Name)
			}
		}
	}
	return errors.Join(errs...)
}

// PortName is the port's name in the boot config.
func (p Port) PortName() string {
	if p.Name != "" {
		return p.Name
	}
	return p.Device
}

// check reports what is wrong with an appliance's ha section; ports maps
// the appliance's port names to whether the port has a self IP.
func (h *HA) check(what string, ports map[string]bool, bad func(string, ...any)) {
	if h.VRID < 1 || h.VRID > 255 {
		bad("%s.vrid %d: want 1 to 255", what, h.VRID)
	}
	if h.Priority < 1 || h.Priority > 254 {
		bad("%s.priority %d: want 1 to 254", what, h.Priority)
	}
	if h.AdvertInterval < 1 || h.AdvertInterval > 4095 {
		bad("%s.advert_interval %d: want 1 to 4095 centiseconds", what, h.AdvertInterval)
	}
	if len(h.Ports) == 0 {
		bad("%s.ports: none; want the ports VRRP advertises on", what)
	}
	for _, p := range h.Ports {
		if self, ok := ports[p]; !ok {
			bad("%s.ports: %q: not a port name of the appliance", what, p)
		} else if !self {
			bad("%s.ports: %q: the port has no self IP to advertise from", what, p)
		}
	}
	for _, kv := range [][2]string{{"mirror_addr", h.MirrorAddr}, {"mirror_peer", h.MirrorPeer}} {
		if ap, err := netip.ParseAddrPort(kv[1]); kv[1] != "" && (err != nil || ap.Port() == 0) {
			bad("%s.%s %q: want ADDR:PORT", what, kv[0], kv[1])
		}
	}
	if (h.MirrorAddr == "") != (h.MirrorPeer == "") {
		bad("%s.mirror_peer: mirror_addr and mirror_peer go together", what)
	}
	if h.MirrorAddr != "" && h.ConfigSync == "" {
		bad("%s.mirror_addr: mirroring is authenticated with config sync's device trust: set configsync too", what)
	}
	if c := h.ConfigSync; c != "" {
		if _, err := netip.ParseAddr(c); err != nil {
			if ap, err := netip.ParseAddrPort(c); err != nil || ap.Port() == 0 {
				bad("%s.configsync %q: want IP or IP:PORT", what, c)
			}
		}
	}
}

// localPath is a relative path that stays in its directory.
func localPath(p string) bool { return filepath.IsLocal(p) }

//go:embed builtin
var builtin embed.FS

// Builtins lists the names of the embedded topologies (not counting
// "default", which the testbed builds in Go).
func Builtins() []string {
	ents, _ := fs.ReadDir(builtin, "builtin")
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// Load reads a built-in topology by name, or else a topology file by
// path. The returned FS reads the files it refers to (config, import_arr).
func Load(nameOrPath string) (*File, fs.FS, error) {
	if slices.Contains(Builtins(), nameOrPath) {
		sub, err := fs.Sub(builtin, "builtin/"+nameOrPath)
		if err != nil {
			return nil, nil, err
		}
		b, err := fs.ReadFile(sub, "topology.yaml")
		if err != nil {
			return nil, nil, fmt.Errorf("topology %s: %w", nameOrPath, err)
		}
		f, err := Parse(b)
		return f, sub, err
	}
	if !strings.ContainsAny(nameOrPath, "/.") {
		return nil, nil, fmt.Errorf("topology %q: no such built-in (default, %s) and not a file path", nameOrPath, strings.Join(Builtins(), ", "))
	}
	b, err := os.ReadFile(nameOrPath)
	if err != nil {
		return nil, nil, fmt.Errorf("topology: %w", err)
	}
	f, err := Parse(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", nameOrPath, err)
	}
	return f, os.DirFS(filepath.Dir(nameOrPath)), nil
}
