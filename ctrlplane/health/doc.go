// Package health is the glue between the configuration's monitor rules and
// the monitor engine (lbx/monitors): at each apply the store asks it to
// Prepare the checks of the new configuration (one per pool member with a
// pool monitor, one per node with a node monitor) and to start them once
// the program is installed; the engine's transitions then set each
// member's pools.Health, which the dataplane reads for every new
// connection. Results never pass through the configuration. MemberStatus,
// NodeStatus, InstanceHealth and Trace are what the status layer reads.
//
// Goroutines: the monitors.Scheduler it owns runs the probes; onChange is
// called from them and takes the Monitoring's lock. Close stops them.
package health
