package testbed

import (
	"fmt"
	"io/fs"
	"net/netip"
	"strings"

	"lbx/ctrlplane/arr"
	"lbx/testbed/topo"
)

// LoadTopology returns the topology `lbx testbed up --topology` names:
// "default" (or "") is DefaultTopology, a built-in name (topo.Builtins:
// arr) or a path is a topology file (package topo), whose appliances'
// configs are read relative to it.
func LoadTopology(nameOrPath string) (Topology, error) {
	if nameOrPath == "" || nameOrPath == "default" {
		return DefaultTopology(), nil
	}
	f, files, err := topo.Load(nameOrPath)
	if err != nil {
		return Topology{}, err
	}
	return FromFile(f, files)
}

// FromFile builds a Topology from a checked topology file; files reads
// the appliances' configs and ARR imports.
func FromFile(f *topo.File, files fs.FS) (Topology, error) {
	t := Topology{
		Name:     f.Name,
		SwitchNS: "lbx-sw",
		Bridges:  f.Segments,
		TAPs:     map[string]string{},
		PortMACs: map[string]string{},
	}
	if f.VIP != "" {
		t.VIP = netip.MustParseAddr(f.VIP) // topo.Parse checked it
	}
	for i, fa := range f.Appliances {
		a := Appliance{Name: fa.Name, Socket: fa.Socket, Mgmt: fa.Mgmt, Flows: fa.Flows}
		if fa.HA != nil {
			a.Boot = fa.HA.Flags(fa.Name)
		}
		if a.Flows == 0 {
			a.Flows = 65536
		}
		for _, p := range fa.Ports {
			ap := AppliancePort{Device: p.Device, Name: p.Name, Bridge: p.Segment, MAC: p.MAC}
			if p.Self != "" {
				ap.Self = netip.MustParsePrefix(p.Self)
			}
			a.Ports = append(a.Ports, ap)
			if i == 0 {
				t.TAPs[p.Device], t.PortMACs[p.Device] = p.Segment, p.MAC
			}
		}
		var conf strings.Builder
		if fa.ImportARR != "" {
			text, err := fs.ReadFile(files, fa.ImportARR)
			if err != nil {
				return Topology{}, fmt.Errorf("topology %s: appliances[%d] (%s).import_arr: %w", f.Name, i, fa.Name, err)
			}
			r, err := arr.Import(text, arr.Options{})
			if err != nil {
				return Topology{}, fmt.Errorf("topology %s: appliances[%d] (%s).import_arr %s: %w", f.Name, i, fa.Name, fa.ImportARR, err)
			}
			conf.WriteString(r.Text(fa.ImportARR))
		}
		if fa.Config != "" {
			text, err := fs.ReadFile(files, fa.Config)
			if err != nil {
				return Topology{}, fmt.Errorf("topology %s: appliances[%d] (%s).config: %w", f.Name, i, fa.Name, err)
			}
			conf.Write(text)
		}
		a.Config = conf.String()
		if a.Config == "" {
			a.Config = "# empty: no config: and no import_arr: in the topology\n"
		}
		t.Appliances = append(t.Appliances, a)
	}
	for i, fh := range f.Hosts {
		h := Host{Name: fh.Name, NS: "lbx-" + fh.Name, Addr: netip.MustParsePrefix(fh.Address), Bridge: fh.Segment, SwEnd: "v-" + fh.Name}
		if fh.Gateway != "" {
			h.Gateway = netip.MustParseAddr(fh.Gateway)
		}
		for _, r := range fh.Routes {
			h.Routes = append(h.Routes, Route{To: netip.MustParsePrefix(r.To), Via: netip.MustParseAddr(r.Via)})
		}
		if s := fh.Serve; s != nil {
			o := &ServerOptions{Name: s.Name, UDP: s.UDP}
			if o.Name == "" {
				o.Name = fh.Name
			}
			for j, spec := range s.Listen {
				l, err := ParseListen(spec)
				if err != nil {
					return Topology{}, fmt.Errorf("topology %s: hosts[%d] (%s).serve.listen[%d]: %w", f.Name, i, fh.Name, j, err)
				}
				o.Listen = append(o.Listen, l)
			}
			h.Serve = o
		}
		t.Hosts = append(t.Hosts, h)
	}
	return t, nil
}
