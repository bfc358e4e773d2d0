// Package ctrlplane is the control plane's facade: the boot config (ports,
// self IPs, control socket, saved config path, read with viper from a
// file, flags and LBX_ variables) and the wiring of the dialects onto the
// control socket (Dialects). The pieces live in its subpackages:
//
//   - config: the model, names, defaults, validation, typed errors;
//   - compile: config → the dataplane's immutable Program;
//   - health: monitor rules → the monitor engine's checks → member health;
//   - store: running/saved configuration, typed transactions, apply, save;
//   - status: availability, state, reason and counters as structs;
//   - tmsh, alteon: the two dialects, translators onto store and status;
//   - ctlsock: the control socket with its dialect registry, and its client;
//   - appliance: one appliance wired from its ports (lbx run, tests);
//   - ctrltest: what the control plane's tests share.
//
// Goroutines: none here.
package ctrlplane
