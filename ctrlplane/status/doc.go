// Package status is the appliance's status as data: availability, state,
// reason and counters of virtual servers, pools and their members, nodes,
// monitor instances and self IPs, computed in one place from a
// configuration (ctrlplane/config), the dataplane's runtime state and the
// monitor engine. The tmsh `show` commands, the Alteon /info menus and
// (next) iControl REST stats and Prometheus format these structs; none of
// them computes status itself.
//
// A virtual server's availability follows its pool's, as on BIG-IP: green
// when the pool has a member up, red when all are down (or it has none, or
// no pool), blue (unknown) when nothing monitors the pool.
//
// Goroutines: none. A View reads live counters and health atomically; it
// holds no lock.
package status
