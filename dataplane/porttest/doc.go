// Package porttest is lbx's in-process network: in-memory data ports, an
// Ethernet switch to join them, and small hosts with their own TCP/IP stack,
// so that whole appliances (dataplane engine, local stack, monitors, store)
// run in one test process, with no root and no network namespaces. It is
// the middle tier of lbx's tests, between unit tests and the namespace
// testbed (docs/TESTBED.md).
//
// What it owns:
//
//   - Port (port.go) implements dataplane.Port over a bounded in-memory
//     queue. Pipe makes two ports joined back to back, like a cable; a
//     Switch (switch.go) joins any number of ports into one Ethernet
//     segment, learning MAC addresses and flooding broadcasts and unknown
//     destinations. A full queue drops the frame, as a NIC ring does, and
//     counts it; nothing in the network blocks a writer.
//   - Host (host.go) is one machine on a port: a gVisor netstack with an
//     IPv4 address, ARP and an optional default gateway, that listens and
//     dials TCP and UDP. ServeHTTP runs the testbed's identity server
//     ("server=NAME addr=… peer=…") on it, ServeUDPEcho their UDP echo
//     ("NAME DATAGRAM"); Get fetches a URL over a new connection.
//
// Lifecycle: ports are made by Pipe or Switch.Port and closed by whoever
// owns them (a dataplane.Engine closes its ports; a Host closes its own).
// A Switch has no goroutines and nothing to close: frames are forwarded
// on the writer's goroutine. NewHost starts the host; Close stops it.
//
// Goroutines: none for ports and switches. A Host runs two (one reads its
// port into the netstack, one writes what the netstack sends), plus the
// netstack's own; a Server runs one accept loop and one per connection; a
// UDPEcho runs one. Close of each waits for them, except a Server's
// per-connection goroutines (net/http's), which Close ends by closing
// their connections but does not wait for.
//
// This is test infrastructure: it copies every frame it carries and is no
// benchmark of anything.
package porttest
