package testbed

// The appliance runs inside the switch namespace (its TAP devices are
// created there, where its netlink handle reads their counters), so its
// management listeners are on that namespace's loopback, which the host
// cannot reach. The testbed publishes them, as a container runtime
// publishes a port: Up binds 127.0.0.1:0 in the host's namespace (the
// kernel picks a free port, and the socket holds it from then on, so
// there is no window in which another program could take it), and hands
// the bound sockets to a relay process it starts inside the switch
// namespace, which copies each connection to the appliance's listener.
// The appliance itself serves SSH and HTTPS; the relay only moves bytes.

// Where the appliance listens inside the switch namespace: the real box's
// management ports. Nothing else runs in that namespace, so they are
// always free.
const (
	ApplianceSSH  = "127.0.0.1:22"
	ApplianceREST = "127.0.0.1:443"
)
