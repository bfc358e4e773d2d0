package farm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// netSetup is what a member changed on its LAN interface, to undo.
type netSetup struct {
	ifname     string
	mac        net.HardwareAddr
	self       netip.Addr // the interface's address in the VIP's subnet
	link       netlink.Link
	vip        *netlink.Addr
	addedVIP   bool
	promisc    bool
	sysctlsOld map[string]string
}

// setupNet finds the LAN interface (named, or the one with an IPv4 subnet
// holding the VIP), adds the VIP as a host-scope /32 alias and makes the
// kernel never answer ARP for it nor use it as an ARP source
// (arp_ignore=3: no replies for host-scope addresses; arp_announce=2), so
// only the filter answers, with the virtual MAC; it puts the interface in
// promiscuous mode so a NIC passes up frames to the virtual MAC (veth
// passes every frame anyway).
func setupNet(cfg *Config, ifname string) (s *netSetup, err error) {
	if ifname == "" {
		ifname = cfg.Interface
	}
	s = &netSetup{sysctlsOld: map[string]string{}}
	defer func() {
		if err != nil {
			s.undo()
		}
	}()
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("farm: interfaces: %w", err)
	}
	for _, l := range links {
		if ifname != "" && l.Attrs().Name != ifname {
			continue
		}
		addrs, err := netlink.AddrList(l, unix.AF_INET)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ip, ok := netip.AddrFromSlice(a.IP.To4())
			if !ok || ip == cfg.VIP {
				continue
			}
			ones, _ := a.Mask.Size()
			if netip.PrefixFrom(ip, ones).Contains(cfg.VIP) {
				s.link, s.self = l, ip
				break
			}
		}
		if s.link != nil {
			break
		}
		if ifname != "" {
			return nil, fmt.Errorf("farm: interface %s has no IPv4 address in a subnet holding the VIP %s", ifname, cfg.VIP)
		}
	}
	if s.link == nil {
		if ifname != "" {
			return nil, fmt.Errorf("farm: no interface %s", ifname)
		}
		return nil, fmt.Errorf("farm: no interface has an IPv4 address in a subnet holding the VIP %s (name one with <interface name> or --interface)", cfg.VIP)
	}
	s.ifname, s.mac = s.link.Attrs().Name, s.link.Attrs().HardwareAddr
	if len(s.mac) != 6 {
		return nil, fmt.Errorf("farm: interface %s has no Ethernet MAC", s.ifname)
	}
	for key, val := range map[string]string{"arp_ignore": "3", "arp_announce": "2"} {
		path := "/proc/sys/net/ipv4/conf/" + s.ifname + "/" + key
		old, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("farm: %w", err)
		}
		if err := os.WriteFile(path, []byte(val), 0o644); err != nil {
			return nil, fmt.Errorf("farm: %w", err)
		}
		s.sysctlsOld[path] = strings.TrimSpace(string(old))
	}
	vip := cfg.VIP.As4()
	s.vip = &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(vip[:]), Mask: net.CIDRMask(32, 32)}, Scope: unix.RT_SCOPE_HOST}
	switch err := netlink.AddrAdd(s.link, s.vip); {
	case err == nil:
		s.addedVIP = true
	case errors.Is(err, unix.EEXIST):
		// Left by a member that was killed: keep it.
	default:
		return nil, fmt.Errorf("farm: VIP %s on %s: %w", cfg.VIP, s.ifname, err)
	}
	if s.link.Attrs().Promisc == 0 {
		if err := netlink.SetPromiscOn(s.link); err != nil {
			return nil, fmt.Errorf("farm: promiscuous mode on %s: %w", s.ifname, err)
		}
		s.promisc = true
	}
	return s, nil
}

// undo removes the VIP and restores the interface's settings.
func (s *netSetup) undo() {
	if s.link == nil {
		return
	}
	if s.addedVIP {
		netlink.AddrDel(s.link, s.vip)
	}
	if s.promisc {
		netlink.SetPromiscOff(s.link)
	}
	for path, old := range s.sysctlsOld {
		os.WriteFile(path, []byte(old), 0o644)
	}
}

// gratuitousARP announces the VIP at the virtual MAC (arpreroute): an
// ARP request for the VIP from the VIP, sender hardware address the
// virtual MAC, sent from the interface's own MAC so no switch learns the
// virtual one. Other members' filters drop it.
func gratuitousARP(ifname string, own, vmac net.HardwareAddr, vip netip.Addr) error {
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		return err
	}
	proto := uint16(unix.ETH_P_ARP)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(proto)))
	if err != nil {
		return fmt.Errorf("packet socket: %w", err)
	}
	defer unix.Close(fd)
	f := make([]byte, 42)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], own)
	binary.BigEndian.PutUint16(f[12:], unix.ETH_P_ARP)
	binary.BigEndian.PutUint16(f[14:], 1)
	binary.BigEndian.PutUint16(f[16:], unix.ETH_P_IP)
	f[18], f[19] = 6, 4
	binary.BigEndian.PutUint16(f[20:], 1)
	copy(f[22:], vmac)
	v := vip.As4()
	copy(f[28:], v[:])
	copy(f[38:], v[:])
	sa := &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: ifc.Index, Halen: 6}
	copy(sa.Addr[:], f[0:6])
	if err := unix.Sendto(fd, f, 0, sa); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
