package monitors

import (
	"context"
	"net/netip"
	"strconv"
	"time"
)

// Verdict is a probe's outcome. The zero Verdict is Failure, so a Prober
// that returns an empty Result never marks a member up.
type Verdict uint8

const (
	Failure Verdict = iota
	Success
	// Disable: the server answered and the answer matched recv-disable. The
	// member keeps its connections but takes no new ones.
	Disable
)

func (v Verdict) String() string {
	switch v {
	case Failure:
		return "failure"
	case Success:
		return "success"
	case Disable:
		return "disable"
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// Packet is one packet of a probe exchange, recorded for the trace.
type Packet struct {
	At    time.Time
	Out   bool // appliance to server
	Src   netip.AddrPort
	Dst   netip.AddrPort
	Proto string // "tcp", "udp" or "icmp"
	Flags string // tcp, tcpdump style: "S", "S.", ".", "P.", "F.", "R", "R."
	Seq   uint32
	Ack   uint32
	Len   int    // payload length
	Info  string // free text: the icmp type, an http status line...
}

// Result is what a Prober concluded about one probe.
//
// Start and End are in the time base of the Scheduler's clock. A Prober may
// leave them zero (the Scheduler fills in the launch and arrival times). An
// End later than the clock's present is a simulated latency: the Scheduler
// applies the result at End, never later than the probe's deadline. Probers
// that really wait simply return End = now.
type Result struct {
	Monitor string // filled by the Scheduler
	Target  Target // where the probe went; filled by the Scheduler
	Verdict Verdict
	// Reason says why, in the operator's words: "connection refused (RST to
	// SYN)", "no answer within 5s", ReasonRSTAfterFIN, "recv mismatch",
	// "recv-disable matched", "HTTP 503"...
	Reason  string
	Start   time.Time
	End     time.Time
	Packets []Packet
}

// Prober sends one probe and judges the answer. ctx carries the probe's
// deadline (ctx.Deadline is always set by the Scheduler) and is cancelled
// when the check is removed or the Scheduler closes; Probe must return
// promptly then. t is the resolved destination (Spec.Resolve already
// applied). Probe is called concurrently from many goroutines and must not
// modify spec.
type Prober interface {
	Probe(ctx context.Context, spec *Spec, t Target) Result
}

// ProberFunc adapts a function to the Prober interface.
type ProberFunc func(ctx context.Context, spec *Spec, t Target) Result

// Probe calls f.
func (f ProberFunc) Probe(ctx context.Context, spec *Spec, t Target) Result {
	return f(ctx, spec, t)
}

var _ Prober = ProberFunc(nil)

// NoAnswer is the conventional Reason for a probe that got no answer before
// its deadline.
func NoAnswer(timeout time.Duration) string {
	return "no answer within " + timeout.String()
}
