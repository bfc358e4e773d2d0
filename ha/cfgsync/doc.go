// Package cfgsync is config sync between the units of a device group
// (BIG-IP's cm device, cm device-group, cm trust-domain and `run cm
// config-sync`): each unit keeps its own copy of the shared configuration
// and a generation number for it, and units exchange it over TLS 1.3 with
// mutual authentication pinned to the certificates the trust step stored.
//
// The unit's identity is an ECDSA P-256 key and a self-signed certificate
// generated at the first start and kept in the state directory
// (device.key, device.crt; package ha/trust, which also makes the pinned
// TLS configurations connection mirroring shares), with the trust store,
// the device groups and the generations (cm.json). The trust store also
// authenticates connection mirroring (ha/mirror): Certificate,
// TrustedDevice and Trusted are its view of it. Trust is one step from either unit: Trust
// dials the peer's config-sync address, authenticates with one of the
// peer's admin users, and both store the other's certificate (the peer's
// certificate is taken on first use, as BIG-IP's ca-devices add takes it;
// its SHA-256 fingerprint is reported). Every later connection, either
// way, is refused unless the other side presents exactly that
// certificate.
//
// Generations: the unit's shared configuration carries a generation
// (sequence number and origin device). A change made on this unit (the
// digest of the shared part differs from the last one seen) makes a new
// generation, one above the highest the unit has seen, with itself as
// origin. Per peer the unit keeps the last generation both had in common
// (Base). This unit changed since then, the peer did, neither (In Sync)
// or both (a possible change conflict): sync status is read from those,
// and a conflict is never merged: the operator chooses with ToGroup or
// FromGroup. A push that is not forced (automatic sync) is refused by a
// peer that changed since the common generation. A unit whose peer holds
// a newer generation and that did not change itself pulls it (catch-up
// after it was down).
//
// What is shared and how it is applied is the Local's: the appliance
// applies a received configuration through the store's all-or-nothing
// apply, keeping its device-local objects; a refusal's reason goes back
// to the pushing unit and the peer stays as it was.
//
// Goroutines: Start runs the listener's accept loop, one goroutine per
// connection (each ends with its exchange, bounded by Timeout), and the
// poll loop (catch-up, automatic sync, group definitions); Close stops
// and waits for all of them.
package cfgsync
