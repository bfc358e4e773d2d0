// Package config is lbx's configuration model: the traffic objects in
// BIG-IP's terms (nodes, pools and members, virtual servers, monitors,
// persistence profiles, SNAT pools, self IPs, routes, users) as inert Go
// types, their names (partitions, member and destination syntax), their
// defaults (ApplyDefaults, the built-in monitors and persistence profiles,
// defaults-from inheritance), all validation (Validate: references,
// overlaps, chains; InUse: what blocks a delete) and the typed errors every
// caller classifies with errors.Is and errors.As, each with BIG-IP's
// message code.
//
// It is the one model under every dialect: the tmsh and Alteon dialects
// and the REST API read and write these types and get the same errors for
// the same mistake. It imports nothing of lbx's runtime (dataplane,
// monitors, pools); compile turns a Config into what they run.
//
// Lifecycle: a Config is built by a dialect's parser or by code, completed
// by ApplyDefaults (or, while a transaction edits it one object at a time,
// by Defaults, which completes only the object edited so a script's apply
// stays linear in its length), checked by Validate, and from then on treated as
// immutable by whoever holds it (the store hands out clones).
//
// Goroutines: none. A Config is not safe for concurrent mutation.
package config
