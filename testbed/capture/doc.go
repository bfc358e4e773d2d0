// Package capture records an interface's frames from an AF_PACKET socket
// into a pcap file (no cgo, no tcpdump) and decodes them into TCP, UDP and
// ICMP packets, connections and their flag exchanges: what the testbed's
// tests assert on ("a FIN answered by RST,ACK", "one SYN-ACK per
// connection"). The testbed opens captures inside its namespaces.
package capture
