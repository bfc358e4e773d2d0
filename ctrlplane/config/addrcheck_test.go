package config

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// addrEnv is the testbed's boot self IPs.
var addrEnv = Env{
	SelfIPs: map[netip.Addr]string{
		netip.MustParseAddr("198.18.1.2"): "/Common/ext",
		netip.MustParseAddr("198.18.2.2"): "/Common/int",
	},
	Nets: []ConnectedNet{
		{Name: "/Common/ext", Prefix: netip.MustParsePrefix("198.18.1.2/24")},
		{Name: "/Common/int", Prefix: netip.MustParsePrefix("198.18.2.2/24")},
	},
}

// addrConfig is a virtual on vip balancing to one node on node, plus a
// net self when self is set.
func addrConfig(vip, node, self string) *Config {
	c := NewConfig()
	n := NewNode("/Common/n")
	n.Address = netip.MustParseAddr(node)
	c.Nodes[n.Name] = n
	p := NewPool("/Common/p")
	p.Members = append(p.Members, NewMember(n.Name, 80))
	c.Pools[p.Name] = p
	v := NewVirtual("/Common/vs")
	v.Destination = netip.AddrPortFrom(netip.MustParseAddr(vip), 80)
	v.Pool = p.Name
	c.Virtuals[v.Name] = v
	if self != "" {
		c.Selfs["/Common/s"] = &SelfIP{Name: "/Common/s", Address: netip.MustParsePrefix(self), VLAN: "/Common/lbx-int"}
	}
	c.ApplyDefaults()
	return c
}

// Addresses no host owns, and addresses the appliance or a server owns,
// are refused as a virtual's destination, a node's address or a self IP.
func TestValidateAddresses(t *testing.T) {
	const vip, node = "198.18.1.100", "198.18.2.11"
	tests := []struct {
		name            string
		vip, node, self string
		want            string // the one error; "" for none
	}{
		{"valid", vip, node, "", ""},
		{"vip is a server's address", node, node, "", "ltm virtual /Common/vs: destination /Common/198.18.2.11:80: address is the address of node /Common/n (a server): the appliance would answer ARP for it and take its traffic"},
		{"vip unspecified", "0.0.0.0", node, "", "ltm virtual /Common/vs: destination /Common/0.0.0.0:80: is the unspecified address 0.0.0.0"},
		{"vip this network", "0.1.2.3", node, "", `ltm virtual /Common/vs: destination /Common/0.1.2.3:80: is a "this network" address (0.0.0.0/8)`},
		{"vip loopback", "127.0.0.1", node, "", "ltm virtual /Common/vs: destination /Common/127.0.0.1:80: is a loopback address (127.0.0.0/8)"},
		{"vip multicast", "224.0.0.1", node, "", "ltm virtual /Common/vs: destination /Common/224.0.0.1:80: is a multicast address (224.0.0.0/4)"},
		{"vip limited broadcast", "255.255.255.255", node, "", "ltm virtual /Common/vs: destination /Common/255.255.255.255:80: is the limited broadcast address 255.255.255.255"},
		{"vip reserved", "240.0.0.1", node, "", "ltm virtual /Common/vs: destination /Common/240.0.0.1:80: is a reserved address (240.0.0.0/4)"},
		{"vip subnet broadcast", "198.18.1.255", node, "", "ltm virtual /Common/vs: destination /Common/198.18.1.255:80: is the broadcast address of connected network 198.18.1.0/24 (self /Common/ext)"},
		{"vip broadcast of a net self", "10.9.0.255", node, "10.9.0.1/24", "ltm virtual /Common/vs: destination /Common/10.9.0.255:80: is the broadcast address of connected network 10.9.0.0/24 (self /Common/s)"},
		{"vip is a boot self IP", "198.18.1.2", node, "", "ltm virtual /Common/vs: destination /Common/198.18.1.2:80: address is self IP /Common/ext"},
		{"vip link-local is a warning", "169.254.1.1", node, "", ""},
		{"node is a boot self IP", vip, "198.18.2.2", "", "ltm node /Common/n: address 198.18.2.2: address is self IP /Common/int (the appliance's own address)"},
		{"node is a net self", vip, "10.9.0.1", "10.9.0.1/24", "ltm node /Common/n: address 10.9.0.1: address is self IP /Common/s (the appliance's own address)"},
		{"node subnet broadcast", vip, "198.18.2.255", "", "ltm node /Common/n: address 198.18.2.255: is the broadcast address of connected network 198.18.2.0/24 (self /Common/int)"},
		{"node subnet network", vip, "198.18.2.0", "", "ltm node /Common/n: address 198.18.2.0: is the network address of connected network 198.18.2.0/24 (self /Common/int)"},
		{"node unspecified", vip, "0.0.0.0", "", "ltm node /Common/n: address 0.0.0.0: is the unspecified address 0.0.0.0"},
		{"node loopback", vip, "127.0.0.1", "", "ltm node /Common/n: address 127.0.0.1: is a loopback address (127.0.0.0/8)"},
		{"node multicast", vip, "239.1.1.1", "", "ltm node /Common/n: address 239.1.1.1: is a multicast address (224.0.0.0/4)"},
		{"node limited broadcast", vip, "255.255.255.255", "", "ltm node /Common/n: address 255.255.255.255: is the limited broadcast address 255.255.255.255"},
		{"node on a /31 end", vip, "10.9.0.1", "10.9.0.0/31", ""},
		{"self multicast", vip, node, "224.0.0.5/24", "net self /Common/s: address 224.0.0.5/24: is a multicast address (224.0.0.0/4)"},
		{"self loopback", vip, node, "127.0.0.2/8", "net self /Common/s: address 127.0.0.2/8: is a loopback address (127.0.0.0/8)"},
		{"self broadcast of its own network", vip, node, "10.9.0.255/24", "net self /Common/s: address 10.9.0.255/24: is the broadcast address of connected network 10.9.0.0/24 (self /Common/s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(addrConfig(tt.vip, tt.node, tt.self), addrEnv)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate:\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestAddressWarnings(t *testing.T) {
	tests := []struct {
		name      string
		vip, node string
		want      []string
	}{
		{"none", "198.18.1.100", "198.18.2.11", nil},
		{"link-local vip", "169.254.1.1", "198.18.2.11", []string{"ltm virtual /Common/vs: destination /Common/169.254.1.1:80: is a link-local address (169.254.0.0/16): clients behind a router cannot reach it"}},
		{"link-local node", "198.18.1.100", "169.254.7.7", []string{"ltm node /Common/n: address 169.254.7.7: is a link-local address (169.254.0.0/16): only hosts on the appliance's own networks reach it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AddressWarnings(addrConfig(tt.vip, tt.node, ""))
			if !slices.Equal(got, tt.want) {
				t.Errorf("AddressWarnings:\n got: %s\nwant: %s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestMergeBootSelfs(t *testing.T) {
	boot := func() *SelfIP {
		return &SelfIP{Name: "/Common/int", Address: netip.MustParsePrefix("198.18.2.2/24"), VLAN: "/Common/lbx-int", Description: BootSelfDescription, Boot: true}
	}
	tests := []struct {
		name string
		have *SelfIP // the config's net self of that name; nil: none
		want string  // error; "" for none
	}{
		{"absent: added", nil, ""},
		{"declared the same", func() *SelfIP { s := boot(); s.Boot = false; return s }(), ""},
		{"other address", func() *SelfIP { s := boot(); s.Address = netip.MustParsePrefix("198.18.2.3/24"); return s }(),
			"net self /Common/int: address 198.18.2.3/24: self IP of the boot config (selfips: address 198.18.2.2/24, port lbx-int): change it in the boot config and restart lbx"},
		{"other vlan", func() *SelfIP { s := boot(); s.Boot = false; s.VLAN = "/Common/lbx-ext"; return s }(),
			"net self /Common/int: vlan /Common/lbx-ext: self IP of the boot config (selfips: address 198.18.2.2/24, port lbx-int): change it in the boot config and restart lbx"},
		{"other description", func() *SelfIP { s := boot(); s.Description = "x"; return s }(),
			"net self /Common/int: description x: self IP of the boot config (selfips: address 198.18.2.2/24, port lbx-int): change it in the boot config and restart lbx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewConfig()
			if tt.have != nil {
				c.Selfs[tt.have.Name] = tt.have
			}
			err := c.MergeBootSelfs([]*SelfIP{boot()})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Fatalf("MergeBootSelfs:\n got: %s\nwant: %s", got, tt.want)
			}
			if err == nil && (c.Selfs["/Common/int"] == nil || !c.Selfs["/Common/int"].Boot) {
				t.Errorf("merged self %+v: want it marked Boot", c.Selfs["/Common/int"])
			}
		})
	}
}

// No command changes or deletes a boot self IP.
func TestBootSelfEdits(t *testing.T) {
	c := NewConfig()
	if err := c.MergeBootSelfs([]*SelfIP{{Name: "/Common/int", Address: netip.MustParsePrefix("198.18.2.2/24"), VLAN: "/Common/lbx-int", Boot: true}}); err != nil {
		t.Fatal(err)
	}
	r := Ref{Kind: KindSelf, Name: "/Common/int"}
	const want = "01070734:3: The Self IP (/Common/int) comes from the boot config (selfips); it cannot be modified or deleted here: change it in the boot config and restart lbx."
	for name, err := range map[string]error{
		"modify":  c.Modify(r, func(Object) error { return nil }),
		"replace": c.Replace(&SelfIP{Name: "/Common/int"}),
		"delete":  c.Delete(r),
	} {
		if err == nil || err.Error() != want || !errors.Is(err, ErrBuiltin) {
			t.Errorf("%s: %v, want %q (ErrBuiltin)", name, err, want)
		}
	}
}
