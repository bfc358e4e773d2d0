// Package trust is an HA unit's device identity and the mutually
// authenticated TLS its two HA channels share: config sync (ha/cfgsync)
// and connection mirroring (ha/mirror).
//
// The identity is an ECDSA P-256 key and a self-signed certificate naming
// the device, made at the first start and kept in a state directory
// (device.key, device.crt). Peers are not verified against a CA: each
// side's certificate is pinned, compared byte for byte with the one the
// trust step stored (the trust store itself is config sync's, which owns
// the trust step). ClientConfig and ServerConfig are TLS 1.3 with this
// unit's certificate on both sides and an accept function deciding on the
// other side's.
//
// No goroutines.
package trust
