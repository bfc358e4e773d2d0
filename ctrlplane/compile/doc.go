// Package compile turns a validated configuration (ctrlplane/config) into
// what the dataplane runs: an immutable *dataplane.Program of virtual
// servers with their pool specs (pools.PoolConfig) and persistence. It is
// a pure function: it changes nothing outside the Program it returns, and
// it reports, as warnings, what the model holds that the dataplane does not
// do yet. The monitor plan (checks from monitor rules) is ctrlplane/health's.
//
// Goroutines: none.
package compile
