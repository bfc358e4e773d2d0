package testbed

import "lbx/testbed/capture"

// The packet capture lives in testbed/capture; these names keep the
// testbed's API, with captures opened inside the testbed's namespaces.
type (
	CaptureOptions = capture.CaptureOptions
	Capture        = capture.Capture
	CapturedPacket = capture.CapturedPacket
	Connection     = capture.Connection
	TCPFlags       = capture.TCPFlags
)

// The flags and protocol the tests match on.
const (
	FlagACK  = capture.FlagACK
	FlagFIN  = capture.FlagFIN
	FlagRST  = capture.FlagRST
	FlagSYN  = capture.FlagSYN
	ProtoTCP = capture.ProtoTCP
)

var (
	Connections   = capture.Connections
	FindFlags     = capture.FindFlags
	FormatPackets = capture.FormatPackets
)

// StartCapture starts recording o.Interface inside namespace o.NS.
func StartCapture(o CaptureOptions) (*Capture, error) {
	o.InNS = withNS
	return capture.StartCapture(o)
}
