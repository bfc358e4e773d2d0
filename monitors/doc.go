// Package monitors will own health monitoring: the probe scheduler, the
// probe types (icmp, tcp, tcp-half-open, http, https, udp, external), BIG-IP
// and Alteon timing semantics, and per-member probe traces. Probes run from
// the appliance's self IPs through the dataplane's ports.
//
// It holds no code yet: the walking skeleton has no health checks, so every
// pool member counts as available. Issue #4 fills it in.
package monitors
