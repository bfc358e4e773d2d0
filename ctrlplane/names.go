package ctrlplane

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// commonPartition is the only partition for now; names are always stored
// and printed with it.
const commonPartition = "Common"

// fullName turns an object name as typed ("web", "/Common/web") into its full
// form. Only the Common partition exists yet.
func fullName(s string) (string, error) {
	base := s
	if strings.HasPrefix(s, "/") {
		part, rest, ok := strings.Cut(s[1:], "/")
		if !ok {
			return "", errors.New("missing object name after the partition")
		}
		if part != commonPartition {
			return "", fmt.Errorf("partition %s: not supported yet (only %s)", part, commonPartition)
		}
		base = rest
	}
	if err := checkBaseName(base); err != nil {
		return "", err
	}
	return "/" + commonPartition + "/" + base, nil
}

// checkBaseName accepts what BIG-IP accepts in a name, minus folders. A ':'
// is allowed only in an IPv6 address, where it cannot be confused with the
// port separator of a member.
func checkBaseName(s string) error {
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

// baseName strips the partition.
func baseName(full string) string { return full[strings.LastIndexByte(full, '/')+1:] }

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

func parsePort(s string) (uint16, error) {
	if p, ok := services[s]; ok {
		return p, nil
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || s[0] == '+' {
		return 0, fmt.Errorf("port %q: want a number 0-65535 or a service name", s)
	}
	return uint16(n), nil
}

// splitAddrPort splits "NAME:PORT", or "IPV6.PORT" as BIG-IP writes an IPv6
// member or destination.
func splitAddrPort(s string) (host, port string, err error) {
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

// parseMemberName parses a member name as typed into its node's full name
// and its port.
func parseMemberName(s string) (node string, port uint16, err error) {
	host, ps, err := splitAddrPort(s)
	if err != nil {
		return "", 0, err
	}
	if node, err = fullName(host); err != nil {
		return "", 0, fmt.Errorf("%q: %w", s, err)
	}
	if port, err = parsePort(ps); err != nil {
		return "", 0, err
	}
	return node, port, nil
}

// parseDestination parses a virtual's destination, "/Common/198.18.1.100:80".
func parseDestination(s string) (netip.AddrPort, error) {
	node, port, err := parseMemberName(s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	a, err := netip.ParseAddr(baseName(node))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: want an IP address (virtual-address objects are not supported yet)", s)
	}
	return netip.AddrPortFrom(a, port), nil
}

// formatDestination prints a destination as BIG-IP does.
func formatDestination(d netip.AddrPort) string {
	if !d.Addr().IsValid() {
		return "none"
	}
	return memberName("/"+commonPartition+"/"+d.Addr().String(), d.Port())
}
