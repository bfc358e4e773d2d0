// Package store holds the running configuration and applies changes to
// it, in the typed terms of ctrlplane/config: a change is a Txn on a clone
// of the running configuration (the candidate), edited with Get, Create,
// Put, Replace, Modify, Delete and Load, and applied by Commit, which
// validates it, compiles it (ctrlplane/compile), installs the Program,
// starts its monitor checks, and only then makes it running; any error
// leaves running and the dataplane as they were. Commit refuses, with a
// config.ConflictError, a transaction whose base version is no longer the
// running one. Every edit completes the candidate's defaults for the
// object it changed (config.Defaults), so lists and checks between the
// lines of a script see what the apply will, at a cost that follows the
// edit and not the size of the configuration. Update runs a one-shot change with the store locked; Check is its dry
// run, validating and compiling the candidate and returning its diff
// without installing anything (`lbx push --check`). Save
// writes the running configuration crash-safely (write, fsync, rename,
// keeping the previous file as .bak); Boot reads it back. The file format
// is a Codec's (the tmsh dialect's bigip.conf): the store knows no dialect.
// Version counts successful applies; LastApply adds when the last one
// finished (for the metrics).
//
// Goroutines: none. Store methods are safe for concurrent use and
// serialized by one mutex, held across compile and install so applies
// happen in order. A Txn belongs to one session.
package store
