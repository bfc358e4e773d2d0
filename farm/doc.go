// Package farm is lbx's farm mode: the SafeKit-style load-balancing
// cluster without a load balancer. Every member runs `lbx farm run` with
// the same userconfig.xml; they share a virtual IP answered in ARP with a
// virtual MAC no member sends from, so the LAN's switches flood the VIP's
// frames to every member; an XDP filter (package farm/xdpfilter) in each
// member's kernel accepts a flow only when the hash of its client address
// (on_addr) or address and port (on_port) falls in a bucket the member
// owns. Membership (hashicorp/memberlist) tells each member who is UP;
// every member computes the same bucket owners from that (rendezvous
// hashing, so a change moves only the buckets it must). A TCP checker
// watches the local service and the module's start_both/stop_both
// scripts restart it, maxloop times within loop_interval, after which
// the member stops and leaves.
package farm
