// Package rest owns lbx's iControl-REST-compatible management API: the
// HTTPS listener (a configured PEM pair, or a self-signed ECDSA pair made
// at the first start and kept), authentication (Basic with the
// WWW-Authenticate challenge; token login at /mgmt/shared/authn/login,
// X-F5-Auth-Token, token PATCH/DELETE, expiry by an injected clock),
// failed logins rate limited per client address (lbx/internal/loginlimit)
// and logged, and the resources of /mgmt/tm that Ansible's f5_modules and
// go-bigip use: sys, provision, version, node, pool and members, virtual
// with profiles and policies, ltm policy with its rules and BIG-IP's
// draft and publish flow (ctrlplane/rest/icpolicy translates the rules;
// drafts live in memory until published), virtual-address, monitors of
// every type,
// the profile and tunnel collections they read, /stats, sys config save
// and load, util bash (tmsh -c only), transactions, and the collection
// queries ($top, $skip, $filter, $select, expandSubcollections).
//
// It is a translator onto the control plane's typed API, like the tmsh
// and Alteon dialects: every change is a ctrlplane/store transaction
// (one store.Update per request, or per REST transaction) of
// ctrlplane/config objects, so REST and the CLI validate and apply alike
// and give the same typed errors, which map to F5's error JSON (not found
// 404, exists 409, validation, references and in use 400, access denied
// 401). Roles are config.Access's: guest reads, operator changes only
// the session and state of members and nodes (config.OperationalOnly),
// admin everything. States and counters come from ctrlplane/status.
//
// Lifecycle: Listen opens the listener, Serve starts one goroutine (the
// http.Server's accept loop, which starts one per connection), Close
// shuts it down and waits for them. Tokens and open transactions live in
// memory and are lost on restart, as on BIG-IP. /metrics serves the
// handler the appliance gives, when it gives one, to any authenticated
// user (guest is enough).
package rest
