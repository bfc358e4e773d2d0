package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// CommonPartition is the only partition for now; names are always stored
// and printed with it.
const CommonPartition = "Common"

// FullName turns an object name as typed ("web", "/Common/web") into its full
// form. Only the Common partition exists yet.
func FullName(s string) (string, error) {
	base := s
	if strings.HasPrefix(s, "/") {
		part, rest, ok := strings.Cut(s[1:], "/")
		if !ok {
			return "", errors.New("missing object name after the partition")
		}
		if part != CommonPartition {
			return "", fmt.Errorf("partition %s: not supported yet (only %s)", part, CommonPartition)
		}
		base = rest
	}
	if err := CheckBaseName(base); err != nil {
		return "", err
	}
	return "/" + CommonPartition + "/" + base, nil
}

// CheckBaseName accepts what BIG-IP accepts in a name, minus folders. A ':'
// is allowed only in an IPv6 address, where it cannot be confused with the
// port separator of a member.
func CheckBaseName(s string) error {
	if s == "" {
		return errors.New("empty name")
	}
	if len(s) > 255 {
		return errors.New("name longer than 255 characters")
	}
	if s == "none" || s == "all" {
		return fmt.Errorf("%q is a reserved word", s)
	}
	colon := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '%':
		case c == '-' && i > 0:
		case c == ':':
			colon = true
		default:
			return fmt.Errorf("character %q not allowed in a name", c)
		}
	}
	if colon {
		if a, err := netip.ParseAddr(s); err != nil || !a.Is6() {
			return errors.New("':' allowed only in an IPv6 address")
		}
	}
	return nil
}

// BaseName strips the partition.
func BaseName(full string) string { return full[strings.LastIndexByte(full, '/')+1:] }

// services are the service names tmsh accepts for a port; it prints numbers.
var services = map[string]uint16{
	"any":    0,
	"echo":   7,
	"ftp":    21,
	"ssh":    22,
	"telnet": 23,
	"smtp":   25,
	"domain": 53,
	"http":   80,
	"pop3":   110,
	"ntp":    123,
	"imap":   143,
	"snmp":   161,
	"ldap":   389,
	"https":  443,
	"syslog": 514,
}

func ParsePort(s string) (uint16, error) {
	if p, ok := services[s]; ok {
		return p, nil
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || s[0] == '+' {
		return 0, fmt.Errorf("port %q: want a number 0-65535 or a service name", s)
	}
	return uint16(n), nil
}

// SplitAddrPort splits "NAME:PORT", or "IPV6.PORT" as BIG-IP writes an IPv6
// member or destination.
func SplitAddrPort(s string) (host, port string, err error) {
	sep := byte(':')
	if strings.Count(s, ":") > 1 {
		sep = '.'
	}
	i := strings.LastIndexByte(s, sep)
	if i < 0 {
		return "", "", fmt.Errorf("%q: want NAME%cPORT", s, sep)
	}
	return s[:i], s[i+1:], nil
}

// ParseMemberName parses a member name as typed into its node's full name
// and its port.
func ParseMemberName(s string) (node string, port uint16, err error) {
	host, ps, err := SplitAddrPort(s)
	if err != nil {
		return "", 0, err
	}
	if node, err = FullName(host); err != nil {
		return "", 0, fmt.Errorf("%q: %w", s, err)
	}
	if port, err = ParsePort(ps); err != nil {
		return "", 0, err
	}
	return node, port, nil
}

// ParseDestination parses a virtual's destination, "/Common/198.18.1.100:80".
func ParseDestination(s string) (netip.AddrPort, error) {
	node, port, err := ParseMemberName(s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	a, err := netip.ParseAddr(BaseName(node))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: want an IP address (virtual-address objects are not supported yet)", s)
	}
	return netip.AddrPortFrom(a, port), nil
}

// FormatDestination prints a destination as BIG-IP does.
func FormatDestination(d netip.AddrPort) string {
	if !d.Addr().IsValid() {
		return "none"
	}
	return MemberName("/"+CommonPartition+"/"+d.Addr().String(), d.Port())
}
