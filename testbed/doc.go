// Package testbed builds and runs lbx's network-namespace lab: a client host
// and the server hosts (server1..6, iis) in their own namespaces, two
// bridged segments in a switch namespace, and a real lbx appliance process
// whose TAP ports join those segments; the benchmark adds its peers to the
// same segments (peers.go). It runs the emulated servers, the demo, and is what the
// integration tests use. Production code never imports it.
//
// Lifecycle: Up creates namespaces, links and processes and records each in
// a state file as it goes; Down (or the package-level Down after a crash)
// stops the recorded processes (checking their command line so a recycled
// pid is never signalled), any process left inside the testbed's own
// namespaces, and deletes the namespaces, which removes every link in them.
// Nothing is created in the caller's namespace but two listening sockets
// on 127.0.0.1, the appliance's SSH and HTTPS published on the host
// (publish.go), held by the relay process and closed with it.
//
// Kernel access (netns, netlink, setns+fork, sysctls) lives in
// netns_linux.go only.
// Goroutines: Serve runs the emulated servers' listeners, and Publish the
// relay's accept loops and copies, until their context ends, and wait for
// them; nothing else here starts goroutines that outlive a call.
package testbed
