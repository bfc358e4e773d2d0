// Package ha makes an appliance one unit of an active/standby pair for
// traffic-group-1: it runs one VRRPv3 virtual router (package ha/vrrp)
// whose state is the traffic group's — Master is active, anything else
// standby — over the dataplane's VRRP hooks (dataplane/ha.go).
//
// A Unit advertises on each configured data port from that port's own
// (boot) self IP, listing the traffic group's addresses on that port, and
// hears the peer's advertisements on every one of them: the election is
// one, whichever segment carries it. The floating addresses answer with
// the virtual router MAC 00:00:5e:00:01:VRID (RFC 5798 §7.3, keepalived's
// use_vmac, BIG-IP's MAC masquerade), which the active unit's ports accept:
// hosts keep their ARP entries across a failover, only the switches move.
// On becoming active the unit lifts the dataplane's standby gate and sends
// gratuitous ARP from that MAC for every floating address at once and
// GARPRepeats more times, GARPSpacing apart (for the switches, and hosts
// that learnt a unit's own MAC); on leaving active it sets the gate at
// once.
//
// Fail-safes (failsafe.go) fail the unit over while its peer is alive: a
// data port's link down, a gateway pool with too few members up, a port
// worker stuck in a batch (the dataplane's heartbeats). While one holds
// the unit is out of the election, standby; Status lists them.
//
// Reconfigure changes the priority, preemption and interval while the
// unit runs (the router's Reconfigure); Config keeps the ones it started
// with.
//
// Lifecycle: New (standby, the gate set, nothing sent), Start, then
// Close, which sends priority 0 so the peer takes over within its skew
// time. Goroutines: none of its own; the clock's timer callbacks (the
// router's timers, the fail-safe checks every FailsafeInterval) and the
// dataplane's receive goroutines call in. Lock order: the fail-safe check
// lock, then the fail-safe state lock, then the router's, then the
// unit's.
package ha
