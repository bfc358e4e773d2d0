package drop

// Reason names why the dataplane discarded a frame. Every reason has its
// own counter, printed by show commands as "drop.<reason>".
type Reason uint8

// Drop reasons. The zero value means "not dropped".
const (
	None                 Reason = iota
	Malformed                   // truncated or inconsistent headers
	Oversize                    // frame larger than the buffers the dataplane owns
	BadChecksum                 // IPv4 header or ICMP checksum wrong
	UnsupportedEthertype        // neither ARP nor IPv4
	UnsupportedProtocol         // IP protocol the appliance does not serve on a local address
	Fragment                    // IPv4 fragment other than UDP through a virtual server (ICMP, TCP)
	NotForUs                    // not addressed to a self IP or VIP (the appliance is not a router)
	NoProgram                   // no configuration installed yet
	NoListener                  // local address, but no virtual server on that port/protocol
	VirtualDisabled             // matching virtual server is disabled
	NoFlow                      // TCP segment other than a SYN without a flow
	NoMember                    // pool offered no member
	NoRoute                     // next hop not on a connected network
	TTLExceeded                 // TTL would reach zero on forwarding
	FlowTableFull               // no free flow entry
	SNATPortsExhausted          // no free SNAT port (automap, or any SNAT pool address) for the client port's residue
	FlowCollision               // the reply 5-tuple is already used by another flow
	NeighborTimeout             // parked waiting for ARP too long, or pushed out of a full queue
	TxError                     // the egress port refused the frame
	LandAttack                  // source = destination = a local address (land attack)
	LocalSource                 // source is one of the appliance's own self IPs or VIPs (spoofed)
	BadTCPFlags                 // invalid TCP flag combination: SYN+FIN, SYN+RST, no flags, FIN without ACK
	BadL4Checksum               // TCP or UDP checksum wrong on a packet that would open a flow
	SourceRoute                 // IPv4 loose or strict source-route option (LSRR, SSRR)
	RecordRoute                 // IPv4 record-route option
	AddressConflict             // ARP from another host claiming a self IP or VIP
	ARPRateLimited              // ARP request refused: its sender asked too often
	ICMPErrorNoFlow             // ICMP error quoting no flow the appliance translated
	FragmentNoFirst             // later UDP fragment whose datagram's first fragment was not seen
	FragmentOverlap             // UDP fragment overlapping one already forwarded (or its datagram had one)
	FragmentMalformed           // UDP fragment with an impossible length or offset
	FragmentIncomplete          // UDP datagram whose fragments stopped before it was complete (counted per datagram)
	FragmentTableFull           // no free entry to track a fragmented UDP datagram
	Standby                     // ARP or traffic for an address of traffic-group-1 while it is standby here (HA)
	NumReasons
)

var names = [NumReasons]string{
	None:                 "none",
	Malformed:            "malformed",
	Oversize:             "oversize",
	BadChecksum:          "bad-checksum",
	UnsupportedEthertype: "unsupported-ethertype",
	UnsupportedProtocol:  "unsupported-protocol",
	Fragment:             "fragment",
	NotForUs:             "not-for-us",
	NoProgram:            "no-program",
	NoListener:           "no-listener",
	VirtualDisabled:      "virtual-disabled",
	NoFlow:               "no-flow",
	NoMember:             "no-member",
	NoRoute:              "no-route",
	TTLExceeded:          "ttl-exceeded",
	FlowTableFull:        "flow-table-full",
	SNATPortsExhausted:   "snat-ports-exhausted",
	FlowCollision:        "flow-collision",
	NeighborTimeout:      "neighbor-timeout",
	TxError:              "tx-error",
	LandAttack:           "land-attack",
	LocalSource:          "local-source",
	BadTCPFlags:          "bad-tcp-flags",
	BadL4Checksum:        "bad-l4-checksum",
	SourceRoute:          "source-route",
	RecordRoute:          "record-route",
	AddressConflict:      "address-conflict",
	ARPRateLimited:       "arp-rate-limited",
	ICMPErrorNoFlow:      "icmp-error-no-flow",
	FragmentNoFirst:      "fragment-no-first",
	FragmentOverlap:      "fragment-overlap",
	FragmentMalformed:    "fragment-malformed",
	FragmentIncomplete:   "fragment-incomplete",
	FragmentTableFull:    "fragment-table-full",
	Standby:              "standby",
}

// String returns the reason's counter name, e.g. "no-route".
func (r Reason) String() string {
	if r < NumReasons {
		return names[r]
	}
	return "unknown"
}

// Reasons lists every reason, in counter order.
func Reasons() []Reason {
	rs := make([]Reason, 0, NumReasons-1)
	for r := Reason(1); r < NumReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}
