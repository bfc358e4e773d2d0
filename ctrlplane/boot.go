package ctrlplane

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"lbx/ctrlplane/compile"
	"lbx/dataplane"
)

//go:embed boot_default.yaml
var defaultBootYAML []byte

// DefaultBootYAML returns the embedded boot config `lbx run` uses when it is
// given none.
func DefaultBootYAML() []byte { return bytes.Clone(defaultBootYAML) }

// PortBoot names one data port.
type PortBoot struct {
	Name string `mapstructure:"name" json:"name"`
	// Driver is "tap" (lbx creates the TAP device Device) or "afxdp"
	// (lbx takes the existing interface Device over with an AF_XDP socket).
	Driver string `mapstructure:"driver" json:"driver"`
	Device string `mapstructure:"device" json:"device"`
	MAC    string `mapstructure:"mac" json:"mac"`
}

// PortDrivers are the port drivers a boot config may name.
var PortDrivers = []string{"tap", "afxdp"}

// SelfIPBoot is one self IP on a port.
type SelfIPBoot struct {
	Name    string `mapstructure:"name" json:"name"`
	Address string `mapstructure:"address" json:"address"` // address/prefix
	Port    string `mapstructure:"port" json:"port"`
}

// Boot is the appliance's boot config: ports, self IPs, where the control
// socket and the saved traffic config live. It is read once by `lbx run`.
type Boot struct {
	Ports   []PortBoot   `mapstructure:"-"` // decoded apart: YAML list or JSON string
	SelfIPs []SelfIPBoot `mapstructure:"-"`
	Control struct {
		Socket string `mapstructure:"socket"`
	} `mapstructure:"control"`
	Config struct {
		Saved string `mapstructure:"saved"`
		// Fallback boots from the saved file's backup when the saved
		// file is corrupt, instead of refusing to boot.
		Fallback bool `mapstructure:"fallback"`
	} `mapstructure:"config"`
	Flows struct {
		Capacity int `mapstructure:"capacity"`
	} `mapstructure:"flows"`
	Log struct {
		Level string `mapstructure:"level"`
	} `mapstructure:"log"`
	// SSH serves the CLI over SSH on the management address Listen
	// (ADDR:PORT; empty: off). AdminPassword, when set, creates the auth
	// user admin with it at boot if there is no admin user yet: there is
	// no fixed default password.
	SSH struct {
		Listen        string `mapstructure:"listen"`
		AdminPassword string `mapstructure:"admin_password"`
	} `mapstructure:"ssh"`
	// REST serves the iControl-REST-compatible API and /metrics over
	// HTTPS on the management address Listen (ADDR:PORT; empty: off).
	// Cert and Key name a PEM certificate and key; both empty: a
	// self-signed pair generated at the first start and kept next to the
	// saved configuration.
	REST struct {
		Listen string `mapstructure:"listen"`
		Cert   string `mapstructure:"cert"`
		Key    string `mapstructure:"key"`
	} `mapstructure:"rest"`
	// Mgmt is the management interface of the VM appliance (package
	// vm/guest brings it up at boot; `lbx run` as a process leaves the
	// host's interfaces alone). Interface is a kernel interface name
	// (empty: the first NIC); Address (ADDR/LEN) and Gateway are static,
	// and an empty Address asks DHCP.
	Mgmt struct {
		Interface string `mapstructure:"interface"`
		Address   string `mapstructure:"address"`
		Gateway   string `mapstructure:"gateway"`
	} `mapstructure:"mgmt"`
	// HA makes the unit one of an active/standby pair: traffic-group-1 (the
	// floating self IPs and the virtual addresses) is active on the unit
	// that VRRP elects master. Device-local: never synced. Unit empty: HA
	// off, the unit answers for every address.
	HA HABoot `mapstructure:"ha"`
}

// HABoot is the boot config's ha section: the unit's name and the VRRP
// settings of traffic-group-1.
type HABoot struct {
	Unit     string `mapstructure:"unit"`
	VRID     int    `mapstructure:"vrid"`
	Priority int    `mapstructure:"priority"`
	Preempt  bool   `mapstructure:"preempt"`
	// PreemptDelay holds preemption off this long after the start.
	PreemptDelay time.Duration `mapstructure:"preempt_delay"`
	// AdvertInterval is in centiseconds, as VRRPv3 carries it.
	AdvertInterval int `mapstructure:"advert_interval"`
	// Ports are the data ports advertisements go out on and are heard on;
	// each needs a boot self IP, the advertisements' source.
	Ports []string `mapstructure:"ports"`
	// UnicastPeers, when set, receive the advertisements instead of the
	// multicast group (keepalived's unicast_peer).
	UnicastPeers []string `mapstructure:"unicast_peers"`
	// ConfigSync is this unit's config-sync address (BIG-IP's cm device
	// configsync-ip), IP or IP:PORT (port 4353 when not given), on the
	// management network or a dedicated one; empty: config sync off.
	ConfigSync string `mapstructure:"configsync"`
	// MirrorAddr is where this unit receives the active peer's
	// connection-mirroring stream (ADDR:PORT on the management network or
	// an HA link, the kernel's stack); MirrorPeer is the peer's. Both
	// empty: no mirroring. The stream is mutual TLS with config sync's
	// device trust, so mirroring needs ConfigSync.
	MirrorAddr string `mapstructure:"mirror_addr"`
	MirrorPeer string `mapstructure:"mirror_peer"`
	// FailsafeVLANs are data ports whose link going down fails the unit
	// over (BIG-IP's VLAN fail-safe).
	FailsafeVLANs []string `mapstructure:"failsafe_vlans"`
	// GatewayFailsafePool fails the unit over while fewer than
	// GatewayFailsafeMinUp (0: 1) of the pool's members are up by its
	// monitor (BIG-IP's gateway fail-safe).
	GatewayFailsafePool  string `mapstructure:"gateway_failsafe_pool"`
	GatewayFailsafeMinUp int    `mapstructure:"gateway_failsafe_min_up"`
	// Watchdog fails the unit over while a dataplane port worker has been
	// stuck in one batch this long (0: off).
	Watchdog time.Duration `mapstructure:"watchdog"`
}

// Mirror returns the mirroring addresses; ok is false when mirroring is
// off (validate checked them).
func (h *HABoot) Mirror() (addr, peer netip.AddrPort, ok bool) {
	if !h.Enabled() || h.MirrorAddr == "" {
		return addr, peer, false
	}
	addr, _ = netip.ParseAddrPort(h.MirrorAddr)
	peer, _ = netip.ParseAddrPort(h.MirrorPeer)
	return addr, peer, true
}

// PeerPort returns the port of ha.ports whose first boot self IP's network
// holds the unicast peer a ("" for none, or when a is that self IP).
func (h *HABoot) PeerPort(a netip.Addr, ports map[string]netip.Prefix) string {
	for _, p := range h.Ports {
		if pfx, ok := ports[p]; ok && pfx.IsValid() && pfx.Masked().Contains(a) && pfx.Addr() != a {
			return p
		}
	}
	return ""
}

// Enabled reports whether the unit is one of an HA pair.
func (h *HABoot) Enabled() bool { return h.Unit != "" }

// validate reports every problem of the ha section, naming the key; ports
// maps a port name to its first boot self IP.
func (h *HABoot) validate(ports map[string]netip.Prefix) []error {
	var errs []error
	bad := func(key string, format string, a ...any) {
		errs = append(errs, fmt.Errorf("boot config: ha.%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if !h.Enabled() {
		if h.ConfigSync != "" {
			bad("configsync", "%q: needs ha.unit, the device's name", h.ConfigSync)
		}
		return errs
	}
	if h.ConfigSync != "" {
		host, port, err := net.SplitHostPort(h.ConfigSync)
		if err != nil {
			host, port = h.ConfigSync, "4353"
		}
		if _, aerr := netip.ParseAddr(host); aerr != nil {
			bad("configsync", "%q: want IP or IP:PORT", h.ConfigSync)
		} else if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
			bad("configsync", "%q: port %q: want 1 to 65535", h.ConfigSync, port)
		}
	}
	if h.VRID < 1 || h.VRID > 255 {
		bad("vrid", "%d: want 1 to 255", h.VRID)
	}
	if h.Priority < 1 || h.Priority > 254 {
		bad("priority", "%d: want 1 to 254 (255 is the address owner's, and lbx owns no floating address)", h.Priority)
	}
	if h.AdvertInterval < 1 || h.AdvertInterval > 4095 {
		bad("advert_interval", "%d: want 1 to 4095 centiseconds", h.AdvertInterval)
	}
	if h.PreemptDelay < 0 || h.PreemptDelay > time.Hour {
		bad("preempt_delay", "%v: want 0s to 1h", h.PreemptDelay)
	}
	if len(h.Ports) == 0 {
		bad("ports", "must name the data ports to advertise on")
	}
	for _, p := range h.Ports {
		a, ok := ports[p]
		switch {
		case !ok:
			bad("ports", "%q: no such port", p)
		case !a.IsValid():
			bad("ports", "%q: the port has no boot self IP (selfips) to advertise from", p)
		}
	}
	for _, k := range []struct{ key, v string }{{"mirror_addr", h.MirrorAddr}, {"mirror_peer", h.MirrorPeer}} {
		if k.v == "" {
			continue
		}
		if ap, err := netip.ParseAddrPort(k.v); err != nil || ap.Port() == 0 {
			bad(k.key, "%q: want ADDR:PORT", k.v)
		}
	}
	if (h.MirrorAddr == "") != (h.MirrorPeer == "") {
		bad("mirror_peer", "mirror_addr and mirror_peer go together (both empty: no mirroring)")
	}
	if h.MirrorAddr != "" && h.ConfigSync == "" {
		bad("mirror_addr", "connection mirroring is authenticated with config sync's device trust: set ha.configsync too")
	}
	for _, u := range h.UnicastPeers {
		a, err := netip.ParseAddr(u)
		if err != nil || !a.Is4() {
			bad("unicast_peers", "%q: want an IPv4 address", u)
			continue
		}
		if h.PeerPort(a, ports) == "" {
			bad("unicast_peers", "%s: on none of the networks of ha.ports' boot self IPs", u)
		}
	}
	for _, p := range h.FailsafeVLANs {
		if _, ok := ports[p]; !ok {
			bad("failsafe_vlans", "%q: no such port", p)
		}
	}
	if h.GatewayFailsafePool != "" && !strings.HasPrefix(h.GatewayFailsafePool, "/") {
		bad("gateway_failsafe_pool", "%q: want a pool's full path (/Common/NAME)", h.GatewayFailsafePool)
	}
	if h.GatewayFailsafeMinUp < 0 || h.GatewayFailsafeMinUp > 1024 {
		bad("gateway_failsafe_min_up", "%d: want 0 to 1024 (0: 1)", h.GatewayFailsafeMinUp)
	}
	if h.GatewayFailsafeMinUp > 0 && h.GatewayFailsafePool == "" {
		bad("gateway_failsafe_min_up", "%d: set without gateway_failsafe_pool", h.GatewayFailsafeMinUp)
	}
	if h.Watchdog != 0 && (h.Watchdog < 200*time.Millisecond || h.Watchdog > time.Minute) {
		bad("watchdog", "%v: want 0s (off) or 200ms to 1m", h.Watchdog)
	}
	return errs
}

// BootKeys are the boot config's keys, as flags, environment variables
// (LBX_ + upper case, "." → "_") and file keys name them.
var BootKeys = []string{"ports", "selfips", "control.socket", "config.saved", "config.fallback", "flows.capacity", "log.level", "ssh.listen", "ssh.admin_password", "rest.listen", "rest.cert", "rest.key",
	"mgmt.interface", "mgmt.address", "mgmt.gateway",
	"ha.unit", "ha.vrid", "ha.priority", "ha.preempt", "ha.preempt_delay", "ha.advert_interval", "ha.ports", "ha.unicast_peers", "ha.configsync", "ha.mirror_addr", "ha.mirror_peer",
	"ha.failsafe_vlans", "ha.gateway_failsafe_pool", "ha.gateway_failsafe_min_up", "ha.watchdog"}

// BootFlags registers one flag per boot key on fs, named as the key
// (--control.socket, --ports '[…json…]'). LoadBoot reads them back.
func BootFlags(fs *pflag.FlagSet) {
	fs.String("ports", "", "data ports as JSON: [{\"name\":…,\"driver\":\"tap\"|\"afxdp\",\"device\":…,\"mac\":…}]")
	fs.String("selfips", "", "self IPs as JSON: [{\"name\":…,\"address\":\"a.b.c.d/len\",\"port\":…}]")
	fs.String("control.socket", "", "control socket path")
	fs.String("config.saved", "", "saved traffic config (bigip.conf-style)")
	fs.Bool("config.fallback", false, "boot from the saved config's backup if the saved config is corrupt")
	fs.Int("flows.capacity", 0, "flow table capacity (0: 1/64 of the machine's memory)")
	fs.String("log.level", "", "log level: debug, info, warn, error")
	fs.String("ssh.listen", "", "serve the CLI over SSH on ADDR:PORT (empty: off)")
	fs.String("ssh.admin_password", "", "create the auth user admin with this password at boot if absent (prefer $LBX_ADMIN_PASSWORD)")
	fs.String("rest.listen", "", "serve iControl REST and /metrics over HTTPS on ADDR:PORT (empty: off)")
	fs.String("rest.cert", "", "PEM certificate for rest.listen (empty: self-signed, generated at first start)")
	fs.String("rest.key", "", "PEM private key for rest.cert")
	fs.String("mgmt.interface", "", "VM appliance: management NIC (empty: the first)")
	fs.String("mgmt.address", "", "VM appliance: management ADDR/LEN (empty: DHCP)")
	fs.String("mgmt.gateway", "", "VM appliance: management default gateway")
	fs.String("ha.unit", "", "this unit's name in an HA pair (empty: HA off)")
	fs.Int("ha.vrid", 0, "VRRP virtual router ID of traffic-group-1 (1-255)")
	fs.Int("ha.priority", 0, "VRRP priority (1-254; the higher is master)")
	fs.Bool("ha.preempt", false, "take traffic-group-1 over from a lower-priority master")
	fs.Duration("ha.preempt_delay", 0, "hold preemption off this long after the start")
	fs.Int("ha.advert_interval", 0, "VRRP advertisement interval in centiseconds (1-4095)")
	fs.String("ha.ports", "", "data ports to advertise VRRP on, comma-separated")
	fs.String("ha.unicast_peers", "", "VRRP peers' addresses, comma-separated (empty: multicast 224.0.0.18)")
	fs.String("ha.configsync", "", "config-sync address IP or IP:PORT (port 4353 by default; empty: config sync off)")
	fs.String("ha.mirror_addr", "", "receive the peer's connection-mirroring stream on ADDR:PORT (empty: no mirroring)")
	fs.String("ha.mirror_peer", "", "the peer's mirroring ADDR:PORT, where this unit streams while active")
	fs.String("ha.failsafe_vlans", "", "VLAN fail-safe: data ports whose link going down fails the unit over, comma-separated")
	fs.String("ha.gateway_failsafe_pool", "", "gateway fail-safe: the pool (/Common/NAME) whose members must stay up")
	fs.Int("ha.gateway_failsafe_min_up", 0, "gateway fail-safe: fail over below this many members up (0: 1)")
	fs.Duration("ha.watchdog", 0, "fail over while a dataplane worker is stuck in a batch this long (0: off)")
}

// LoadBoot reads the boot config: the embedded default, overlaid by the file
// at path (when not empty), by LBX_ environment variables and by the flags in
// fs that were set. Precedence, highest first: flag, environment, file,
// default. List keys given as strings (flag or environment) are JSON. Only
// the flags named as boot keys are read: fs may hold others (`lbx run -f`
// is --config, which is not the config: section of the file).
func LoadBoot(path string, fs *pflag.FlagSet) (*Boot, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(defaultBootYAML)); err != nil {
		return nil, fmt.Errorf("embedded boot config: %w", err)
	}
	if path != "" {
		// The file is read on its own first: merged over the default, a
		// value where a section belongs (config: FILE) would be dropped
		// without a word.
		f := viper.New()
		f.SetConfigFile(path)
		if err := f.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("boot config %s: %w", path, err)
		}
		if err := unknownKeys(f, "boot config "+path); err != nil {
			return nil, err
		}
		if err := v.MergeConfigMap(f.AllSettings()); err != nil {
			return nil, fmt.Errorf("boot config %s: %w", path, err)
		}
	}
	v.SetEnvPrefix("LBX")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	// Each key's variable is bound by name, not AutomaticEnv: LBX_CONFIG
	// names the boot file (cmd/lbx), it is not the config: section.
	for _, k := range BootKeys {
		if err := v.BindEnv(k); err != nil {
			return nil, err
		}
	}
	if fs != nil {
		var bindErr error
		fs.Visit(func(f *pflag.Flag) { // only the flags that were set
			if !slices.Contains(BootKeys, f.Name) {
				return
			}
			if err := v.BindPFlag(f.Name, f); err != nil {
				bindErr = errors.Join(bindErr, err)
			}
		})
		if bindErr != nil {
			return nil, bindErr
		}
	}
	var b Boot
	if err := v.Unmarshal(&b); err != nil {
		return nil, fmt.Errorf("boot config: %w", err)
	}
	// Lists arrive as YAML lists from files and as JSON strings from flags
	// and the environment.
	for key, dst := range map[string]any{"ports": &b.Ports, "selfips": &b.SelfIPs} {
		var err error
		if s, ok := v.Get(key).(string); ok {
			dec := json.NewDecoder(strings.NewReader(s))
			dec.DisallowUnknownFields()
			err = dec.Decode(dst)
		} else if err = unknownItemKeys(key, v.Get(key)); err == nil {
			err = v.UnmarshalKey(key, dst)
		}
		if err != nil {
			return nil, fmt.Errorf("boot config: %s: %w", key, err)
		}
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return &b, nil
}

// itemKeys are the keys of one item of each list key.
var itemKeys = map[string][]string{
	"ports":   {"name", "driver", "device", "mac"},
	"selfips": {"name", "address", "port"},
}

// unknownKeys refuses keys the boot config does not have, naming each: a
// misspelt key (flow.capacity, control.sokcet) would otherwise be ignored
// and its default used without a word.
func unknownKeys(v *viper.Viper, where string) error {
	var errs []error
	for _, k := range v.AllKeys() { // sorted, lower case, leaves only
		if slices.Contains(BootKeys, k) {
			continue
		}
		if slices.ContainsFunc(BootKeys, func(b string) bool { return strings.HasPrefix(b, k+".") }) {
			errs = append(errs, fmt.Errorf("%s: %s: want a section (%s), got a value", where, k, strings.Join(sectionKeys(k), ", ")))
			continue
		}
		errs = append(errs, fmt.Errorf("%s: unknown key %q (known: %s)", where, k, strings.Join(BootKeys, ", ")))
	}
	return errors.Join(errs...)
}

func sectionKeys(section string) []string {
	var keys []string
	for _, b := range BootKeys {
		if strings.HasPrefix(b, section+".") {
			keys = append(keys, b)
		}
	}
	return keys
}

// unknownItemKeys refuses keys a list item does not have (ports[0].mtu).
func unknownItemKeys(key string, list any) error {
	items, ok := list.([]any)
	if !ok {
		return nil // UnmarshalKey says what is wrong with it
	}
	var errs []error
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		var bad []string
		for k := range m {
			if !slices.Contains(itemKeys[key], strings.ToLower(k)) {
				bad = append(bad, k)
			}
		}
		slices.Sort(bad)
		for _, k := range bad {
			errs = append(errs, fmt.Errorf("[%d]: unknown key %q (known: %s)", i, k, strings.Join(itemKeys[key], ", ")))
		}
	}
	return errors.Join(errs...)
}

// MaxFlowCapacity bounds flows.capacity whatever the machine: the flow
// table is allocated whole at boot.
const MaxFlowCapacity = 16 << 20

// flowBytes is what one flow of capacity costs at most: the flow entry (96
// bytes) and its index slots (32 bytes, up to 64 when the capacity is not
// 64 × a power of two).
const flowBytes = dataplane.MaxFlowBytes

// machineMemory returns the machine's RAM in bytes; tests replace it.
var machineMemory = func() (uint64, error) {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0, err
	}
	return uint64(si.Totalram) * uint64(si.Unit), nil
}

// FlowCapacity is the flow table's size: flows.capacity, or when that is 0
// sized from the machine's memory (dataplane.FlowCapacityFor: 1/64 of it,
// 65,536 flows when the memory is unknown).
func (b *Boot) FlowCapacity() int {
	if b.Flows.Capacity > 0 {
		return b.Flows.Capacity
	}
	mem, err := machineMemory()
	if err != nil {
		mem = 0
	}
	return dataplane.FlowCapacityFor(mem)
}

// checkFlowCapacity refuses a flow table over MaxFlowCapacity or over half
// the machine's memory; 0 sizes it from the memory.
func checkFlowCapacity(c int) error {
	if c < 0 {
		return fmt.Errorf("boot config: flows.capacity %d: must be >= 0 (0: sized from memory)", c)
	}
	if c == 0 {
		return nil
	}
	if c > MaxFlowCapacity {
		return fmt.Errorf("boot config: flows.capacity %d: at most %d", c, MaxFlowCapacity)
	}
	mem, err := machineMemory()
	if err != nil || mem == 0 {
		return nil // unknown: the fixed bound holds
	}
	if need := uint64(c) * flowBytes; need > mem/2 {
		return fmt.Errorf("boot config: flows.capacity %d: needs about %d MiB, more than half of the machine's %d MiB; at most %d here",
			c, need>>20, mem>>20, mem/2/flowBytes)
	}
	return nil
}

// Validate reports every problem in the boot config, each naming the key.
func (b *Boot) Validate() error {
	var errs []error
	if b.SSH.Listen != "" {
		if _, err := netip.ParseAddrPort(b.SSH.Listen); err != nil {
			errs = append(errs, fmt.Errorf("boot config: ssh.listen %q: want ADDR:PORT, the management address", b.SSH.Listen))
		}
	}
	if b.REST.Listen != "" {
		if _, err := netip.ParseAddrPort(b.REST.Listen); err != nil {
			errs = append(errs, fmt.Errorf("boot config: rest.listen %q: want ADDR:PORT, the management address", b.REST.Listen))
		}
	}
	if b.Mgmt.Address != "" {
		if _, err := netip.ParsePrefix(b.Mgmt.Address); err != nil {
			errs = append(errs, fmt.Errorf("boot config: mgmt.address %q: want ADDR/LEN", b.Mgmt.Address))
		}
	}
	if b.Mgmt.Gateway != "" {
		if _, err := netip.ParseAddr(b.Mgmt.Gateway); err != nil {
			errs = append(errs, fmt.Errorf("boot config: mgmt.gateway %q: want an address", b.Mgmt.Gateway))
		}
	}
	if (b.REST.Cert == "") != (b.REST.Key == "") {
		errs = append(errs, fmt.Errorf("boot config: rest.cert and rest.key: set both or neither (neither: a self-signed certificate)"))
	}
	seen := map[string]bool{}
	macs := map[string]string{} // MAC → the port that has it
	for i, p := range b.Ports {
		where := fmt.Sprintf("boot config: ports[%d] (%s)", i, p.Name)
		if p.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name: must be set", where))
		}
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("%s: name: duplicate port", where))
		}
		seen[p.Name] = true
		if !slices.Contains(PortDrivers, p.Driver) {
			errs = append(errs, fmt.Errorf("%s: driver %q: want one of %s", where, p.Driver, strings.Join(PortDrivers, ", ")))
		}
		if p.Device == "" || len(p.Device) > 15 {
			errs = append(errs, fmt.Errorf("%s: device %q: want 1 to 15 characters", where, p.Device))
		}
		mac, err := net.ParseMAC(p.MAC)
		switch {
		case err != nil || len(mac) != 6:
			errs = append(errs, fmt.Errorf("%s: mac %q: want an Ethernet address like 02:00:5e:00:00:01", where, p.MAC))
		case mac[0]&1 != 0:
			errs = append(errs, fmt.Errorf("%s: mac %s: multicast (or broadcast) address; a port needs a unicast one", where, mac))
		case bytes.Equal(mac, make(net.HardwareAddr, 6)):
			errs = append(errs, fmt.Errorf("%s: mac %s: all zeros; a port needs a unicast address", where, mac))
		case macs[mac.String()] != "":
			errs = append(errs, fmt.Errorf("%s: mac %s: duplicate, port %s has it too", where, mac, macs[mac.String()]))
		default:
			macs[mac.String()] = p.Name
		}
	}
	type self struct {
		name string
		pfx  netip.Prefix
	}
	var selfs []self
	names := map[string]bool{}
	haPorts := map[string]netip.Prefix{} // port → its first boot self IP, for ha.ports
	for _, p := range b.Ports {
		haPorts[p.Name] = netip.Prefix{}
	}
	for i, s := range b.SelfIPs {
		where := fmt.Sprintf("boot config: selfips[%d] (%s)", i, s.Name)
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name: must be set", where))
		} else if names[s.Name] {
			errs = append(errs, fmt.Errorf("%s: name: duplicate self IP", where))
		}
		names[s.Name] = true
		pfx, err := netip.ParsePrefix(s.Address)
		if err != nil || !pfx.Addr().Is4() {
			errs = append(errs, fmt.Errorf("%s: address %q: want IPv4 address/prefix like 198.18.1.2/24", where, s.Address))
		} else {
			for _, o := range selfs {
				if o.pfx.Overlaps(pfx) {
					errs = append(errs, fmt.Errorf("%s: address %s: subnet overlaps self IP %s (%s)", where, pfx, o.name, o.pfx))
				}
			}
			selfs = append(selfs, self{s.Name, pfx})
		}
		if !seen[s.Port] {
			errs = append(errs, fmt.Errorf("%s: port %q: no such port", where, s.Port))
		}
		if a, ok := haPorts[s.Port]; ok && !a.IsValid() && err == nil {
			haPorts[s.Port] = pfx
		}
	}
	errs = append(errs, b.HA.validate(haPorts)...)
	if b.Control.Socket == "" {
		errs = append(errs, errors.New("boot config: control.socket: must be set"))
	}
	if b.Config.Saved == "" {
		errs = append(errs, errors.New("boot config: config.saved: must be set"))
	}
	if err := checkFlowCapacity(b.Flows.Capacity); err != nil {
		errs = append(errs, err)
	}
	if _, err := b.LogLevel(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// LogLevel parses log.level.
func (b *Boot) LogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(b.Log.Level)); err != nil {
		return 0, fmt.Errorf("boot config: log.level %q: want debug, info, warn or error", b.Log.Level)
	}
	return l, nil
}

// NetConfig returns the self IPs in the form Compile takes. It assumes
// Validate passed.
func (b *Boot) NetConfig() compile.NetConfig {
	var n compile.NetConfig
	for _, s := range b.SelfIPs {
		pfx, _ := netip.ParsePrefix(s.Address)
		n.SelfIPs = append(n.SelfIPs, dataplane.SelfIP{Name: s.Name, Prefix: pfx, Port: s.Port})
	}
	return n
}
