// Package icpolicy translates between an `ltm policy`'s rules
// (ctrlplane/config) and iControl REST's JSON shape of them: a condition
// or action is an object of flags named after its tmsh words (httpUri,
// path, startsWith) with its values, as Ansible's bigip_policy_rule and
// go-bigip send and read them. Rules renders, DecodeRule and its helpers
// read, naming the property (conditions 1: tmName …) that is wrong. It
// is pure (no goroutines, no state) and imports only ctrlplane/config;
// ctrlplane/rest serves it.
package icpolicy
