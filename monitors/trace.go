package monitors

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// traceTime is tcpdump's default timestamp format.
const traceTime = "15:04:05.000000"

// String prints the packet as one line of tcpdump -n output, e.g.
//
//	12:00:01.000123 198.18.2.2.40000 > 198.18.2.11.80: Flags [S], seq 1, length 0
//
// Times print in the location they carry.
func (p Packet) String() string {
	var b strings.Builder
	b.WriteString(p.At.Format(traceTime))
	b.WriteByte(' ')
	writeEndpoint(&b, p.Src, p.Proto)
	b.WriteString(" > ")
	writeEndpoint(&b, p.Dst, p.Proto)
	b.WriteString(": ")
	switch p.Proto {
	case "tcp":
		fmt.Fprintf(&b, "Flags [%s], seq %d", p.Flags, p.Seq)
		if strings.Contains(p.Flags, ".") {
			fmt.Fprintf(&b, ", ack %d", p.Ack)
		}
		fmt.Fprintf(&b, ", length %d", p.Len)
		if p.Info != "" {
			b.WriteString(": ")
			b.WriteString(p.Info)
		}
	case "icmp":
		b.WriteString("ICMP ")
		if p.Info != "" {
			b.WriteString(p.Info)
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "length %d", p.Len)
	default:
		b.WriteString(strings.ToUpper(p.Proto))
		fmt.Fprintf(&b, ", length %d", p.Len)
		if p.Info != "" {
			b.WriteString(": ")
			b.WriteString(p.Info)
		}
	}
	return b.String()
}

// writeEndpoint prints addr.port as tcpdump does; icmp has no port.
func writeEndpoint(b *strings.Builder, ap netip.AddrPort, proto string) {
	b.WriteString(ap.Addr().String())
	if proto != "icmp" {
		fmt.Fprintf(b, ".%d", ap.Port())
	}
}

// FormatTrace prints probe results as a short capture: one header line per
// probe (start time, monitor, target, verdict, reason, duration) followed
// by its packets, indented.
//
//	12:00:01.000000 /Common/tcp 198.18.2.11:80: failure (RST after FIN during close) in 1.2ms
//	  12:00:01.000123 198.18.2.2.40000 > 198.18.2.11.80: Flags [S], seq 1, length 0
func FormatTrace(results []Result) string {
	var b strings.Builder
	for _, r := range results {
		b.WriteString(r.Start.Format(traceTime))
		b.WriteByte(' ')
		if r.Monitor != "" {
			b.WriteString(r.Monitor)
			b.WriteByte(' ')
		}
		b.WriteString(r.Target.String())
		b.WriteString(": ")
		b.WriteString(r.Verdict.String())
		if r.Reason != "" {
			fmt.Fprintf(&b, " (%s)", r.Reason)
		}
		if !r.End.IsZero() && !r.Start.IsZero() {
			fmt.Fprintf(&b, " in %s", r.End.Sub(r.Start).Round(time.Microsecond))
		}
		b.WriteByte('\n')
		for _, p := range r.Packets {
			b.WriteString("  ")
			b.WriteString(p.String())
			b.WriteByte('\n')
		}
	}
	return b.String()
}
