// Package topo is the testbed's topology file format: a YAML document that
// names the segments (bridges in the switch namespace), the lbx appliances
// with their ports, self IPs and configs, and the hosts with their
// addresses, routes and emulated servers. Parse decodes it strictly (an
// unknown field is an error with its line) and checks every name and
// address, naming the field at fault; Builtin returns the topologies that
// ship embedded in the binary (`lbx testbed up --topology arr`).
//
// The package only reads and checks text: building the namespaces is the
// testbed's (package testbed), which imports this one.
package topo
