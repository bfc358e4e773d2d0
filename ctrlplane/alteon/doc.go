// Package alteon is the Alteon /cfg/slb dialect as a view of the one
// configuration model: real servers are nodes, groups are pools, a virt's
// services are virtual servers (ID_PORT), health checks are monitors with
// Alteon timing. The menus (alteon.go), the session with pending changes,
// apply, diff, revert and save (alteon_session.go), and the dump, cur,
// diff and /info printers (alteon_print.go) translate onto the store's
// typed transactions and the status layer. What acts on the running
// appliance rather than the pending changes — /oper/slb/ena|dis (the
// dataplane's runtime disable, through status.Sources.Oper),
// /info/slb/dump and /info/slb/virt, diff flash and revert apply (against
// the store's saved file) — is in alteon_oper.go. Errors name Alteon objects
// (real 5, group 2) from config's typed errors. Lines are read one at a
// time, each at most MaxLine bytes, and a text's output is at most
// MaxOutput.
//
// Goroutines: none. A Session is safe for concurrent use (one mutex).
package alteon
