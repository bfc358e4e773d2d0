// Package appliance wires one lbx appliance together from its data ports:
// the dataplane engine, the local stack (the appliance's own TCP/IP on its
// self IPs), the monitor engine with its glue, the Store with the saved
// configuration booted into it, and, when asked, the control socket. `lbx
// run` builds its appliance here from TAP ports; the in-process tests build
// theirs from porttest's in-memory ports, so both run the same wiring.
//
// The Store installs programs through stackedDataplane, which gives the
// local stack each program's self IPs (boot config and net self objects)
// before the engine installs it, and takes them back if the install fails.
//
// MetricsHandler builds the Prometheus /metrics handler (package metrics)
// over the appliance's store, engine and monitors, for the management
// listener to mount; it reads everything at scrape time.
//
// Lifecycle: New builds every part in order, boots the saved configuration
// and starts the engine; on any error it undoes what it built, ports
// included. From New on the Appliance owns the ports. Close stops in the
// reverse order — control socket (no more commands), monitors, local
// stack, engine (which closes the ports) — and returns when every
// goroutine the appliance started has ended.
//
// Goroutines: none of its own. It starts the engine's (one per port and a
// sweeper), the local stack's transmitter, the monitor scheduler's loop
// and probes, and the control socket's accept loop and handlers; Close
// waits for all of them.
package appliance
