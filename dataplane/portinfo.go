package dataplane

// PortInfo says how a port moves frames, for show net interface.
type PortInfo struct {
	// Driver is the port driver: "tap", "afxdp".
	Driver string
	// Mode is the driver's mode: for afxdp how its XDP program is attached
	// and its socket bound ("native/copy", "generic/copy",
	// "native/zerocopy"); empty for drivers with one way of working.
	Mode string
	// Queues is how many queues of the device the port serves;
	// DeviceQueues how many receive queues the device has.
	Queues, DeviceQueues int
}

// PortDescriber is implemented by ports that say how they move frames.
type PortDescriber interface {
	PortInfo() PortInfo
}

// PortCounters is implemented by ports with counters of their own (ring
// full and empty counts, wakeups). The engine prints each as
// port.<name>.<counter>.
type PortCounters interface {
	// PortCounters appends the port's counters to dst, named without the
	// port prefix.
	PortCounters(dst []Counter) []Counter
}
