// Package localstack is the appliance's own network endpoint on its data
// ports: what health probes (and later L7 virtual servers) use to talk from
// a self IP.
//
// It sits behind the dataplane as its LocalSink. Packets for the appliance
// are demultiplexed:
//
//   - to raw probe sockets (RawConn) by local port (TCP/UDP, ports
//     dataplane.ProbePortMin..ProbePortMax) or by ICMP echo identifier:
//     crafted-packet probes (tcp-half-open, the tcp handshake check, icmp)
//     build every packet themselves and see every packet that comes back;
//   - to a userspace TCP/IP stack (gVisor's netstack, package
//     gvisor.dev/gvisor/pkg/tcpip) for everything else, which gives real
//     TCP connections (http, https, tcp with send/recv) from a self IP,
//     on ports dataplane.StackPortMin..StackPortMax: the first
//     MonitorPorts for monitors (DialTCP), the rest for the L7 proxy
//     (DialTCPFrom, DialServer), each reused per destination (dial.go).
//
// gVisor's netstack was chosen over writing a TCP stack: it is a complete,
// well-tested TCP/IP implementation in Go that attaches as an L3 endpoint
// (a channel link endpoint), so ARP stays with the dataplane and the stack
// needs no kernel device. A Tap lets a probe record the packets of its own
// netstack connection for its trace.
//
// Goroutines: one transmit goroutine (New starts it, Close stops and waits
// for it) sends what the netstack writes through the dataplane. It holds
// the netstack's pure ACKs up to AckDelay, dropping those a data segment
// of the same connection acknowledges anyway (ackdelay.go: gVisor's TCP
// has no delayed ACK); a timer (time.AfterFunc, stopped by Close) wakes
// it when a held ACK's time runs out. The delayer's table is the transmit
// goroutine's alone: no lock per packet.
//
// Its addresses are the self IPs it is built with; SetSelfs changes them
// while it runs (the appliance calls it at every install, so the stack
// follows `net self` changes).
package localstack
