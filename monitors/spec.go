package monitors

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Type is a monitor's probe kind, named as tmsh names it.
type Type uint8

// Monitor types. The zero Type is invalid so an unset field fails Validate.
const (
	ICMP Type = iota + 1
	GatewayICMP
	TCP
	TCPHalfOpen
	HTTP
	HTTPS
	UDP
	External
)

var typeNames = [...]string{
	ICMP:        "icmp",
	GatewayICMP: "gateway-icmp",
	TCP:         "tcp",
	TCPHalfOpen: "tcp-half-open",
	HTTP:        "http",
	HTTPS:       "https",
	UDP:         "udp",
	External:    "external",
}

func (t Type) String() string {
	if t >= ICMP && int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// ParseType returns the Type for a tmsh monitor type name.
func ParseType(s string) (Type, error) {
	for t := ICMP; int(t) < len(typeNames); t++ {
		if typeNames[t] == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown monitor type %q", s)
}

// CloseCheck is how a tcp probe judges the server's answer to our FIN after
// a completed handshake.
type CloseCheck uint8

const (
	// CloseLenient (the default, tmsh "lenient") accepts a RST or RST,ACK in
	// answer to our FIN,ACK: the handshake completed, so the service is up.
	// IIS 7.0 closes health-check connections this way.
	CloseLenient CloseCheck = iota
	// CloseLegacy (tmsh "legacy") reproduces Alteon firmware before 23.2.9,
	// 24.0.5 and 25.0.1, which failed the probe on that RST with the reason
	// ReasonRSTAfterFIN.
	CloseLegacy
)

// ReasonRSTAfterFIN is the failure reason of a tcp probe under CloseLegacy
// when the server answers our FIN with a RST.
const ReasonRSTAfterFIN = "RST after FIN during close"

func (c CloseCheck) String() string {
	switch c {
	case CloseLenient:
		return "lenient"
	case CloseLegacy:
		return "legacy"
	}
	return "close-check(" + strconv.Itoa(int(c)) + ")"
}

// ParseCloseCheck parses a tmsh close-check value: "lenient" or "legacy".
func ParseCloseCheck(s string) (CloseCheck, error) {
	switch s {
	case "lenient":
		return CloseLenient, nil
	case "legacy":
		return CloseLegacy, nil
	}
	return 0, fmt.Errorf("unknown close-check %q (want lenient or legacy)", s)
}

// Target is the address and port a probe is sent to.
type Target struct {
	Addr netip.Addr
	Port uint16
}

// String prints addr:port, or the address alone when the port is zero.
func (t Target) String() string {
	if t.Port == 0 {
		return t.Addr.String()
	}
	return netip.AddrPortFrom(t.Addr, t.Port).String()
}

// Defaults applied by CompileSpec (BIG-IP's and Alteon's own defaults).
const (
	DefaultInterval = 5 * time.Second
	DefaultRetries  = 4 // Alteon "retry"
	DefaultRestore  = 2 // Alteon "restr"
)

// Spec is one monitor as the engine runs it. A Spec handed to the Scheduler
// must not be modified afterwards; build a new one to change it.
//
// BIG-IP semantics (Alteon false): probes go out every Interval (every
// UpInterval while the member is up, when set); the member is down when no
// successful probe arrived for Timeout, which must therefore be greater
// than Interval (else a healthy member would go down between probes);
// TimeUntilUp delays coming up until probes have succeeded continuously
// that long. Alteon semantics (Alteon
// true): probes go out every Interval, each waits at most Timeout, the member
// is down after Retries consecutive failures and up after Restore
// consecutive successes; UpInterval and TimeUntilUp are ignored.
type Spec struct {
	Name string // e.g. "/Common/http"; identifies the monitor within a rule
	Type Type

	Interval    time.Duration
	Timeout     time.Duration
	UpInterval  time.Duration // 0: use Interval while up too
	TimeUntilUp time.Duration
	// ManualResume keeps a member that went down (after having been up or
	// disabled) down until Scheduler.Resume, however its probes fare.
	ManualResume bool

	Send        string
	Recv        *regexp.Regexp // nil: any answer passes
	RecvDisable *regexp.Regexp // nil: none; a match makes the verdict Disable

	// Destination overrides the member's address and/or port (tmsh
	// "destination", alias address and service); zero fields keep the
	// member's.
	Destination Target
	CloseCheck  CloseCheck

	Run  string   // external: the program
	Args []string // external: extra arguments after address and port
	Env  []string // external: extra environment, "NAME=value"

	Alteon  bool
	Retries int // Alteon "retry": consecutive failures to go down
	Restore int // Alteon "restr": consecutive successes to come back up
}

// CompileSpec returns a copy of s with recv and recvDisable compiled ("" is
// none) and defaults applied, validated. Defaults: Interval 5s; Timeout
// 3*Interval+1s (BIG-IP) or Interval (Alteon); Retries 4 and Restore 2
// (Alteon). Errors name the monitor and the field.
func CompileSpec(s Spec, recv, recvDisable string) (*Spec, error) {
	out := s
	out.Args = slices.Clone(s.Args)
	out.Env = slices.Clone(s.Env)
	var err error
	if out.Recv, err = compileRecv(recv); err != nil {
		return nil, fmt.Errorf("monitor %s: recv: %w", s.Name, err)
	}
	if out.RecvDisable, err = compileRecv(recvDisable); err != nil {
		return nil, fmt.Errorf("monitor %s: recv-disable: %w", s.Name, err)
	}
	if out.Interval == 0 {
		out.Interval = DefaultInterval
	}
	if out.Timeout == 0 {
		if out.Alteon {
			out.Timeout = out.Interval
		} else {
			out.Timeout = 3*out.Interval + time.Second
		}
	}
	if out.Alteon && out.Retries == 0 {
		out.Retries = DefaultRetries
	}
	if out.Alteon && out.Restore == 0 {
		out.Restore = DefaultRestore
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return &out, nil
}

func compileRecv(expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	return regexp.Compile(expr)
}

// Validate reports the first invalid field. It does not apply defaults.
func (s *Spec) Validate() error {
	if s == nil {
		return errors.New("monitor: nil spec")
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("monitor %s: "+format, append([]any{s.Name}, args...)...)
	}
	switch {
	case s.Name == "":
		return errors.New("monitor: name must not be empty")
	case s.Type < ICMP || int(s.Type) >= len(typeNames):
		return bad("type: %v is not a monitor type", s.Type)
	case s.Interval <= 0:
		return bad("interval must be > 0")
	case s.Timeout <= 0:
		return bad("timeout must be > 0")
	case !s.Alteon && s.Timeout <= s.Interval:
		return bad("timeout (%v) must be greater than interval (%v)", s.Timeout, s.Interval)
	case s.UpInterval < 0:
		return bad("up-interval must be >= 0")
	case s.TimeUntilUp < 0:
		return bad("time-until-up must be >= 0")
	case s.CloseCheck > CloseLegacy:
		return bad("close-check: %v is not lenient or legacy", s.CloseCheck)
	case s.Type == External && s.Run == "":
		return bad("run must name a program for an external monitor")
	case s.Alteon && s.Retries < 1:
		return bad("retry must be >= 1")
	case s.Alteon && s.Restore < 1:
		return bad("restr must be >= 1")
	}
	return nil
}

// Resolve returns where a probe of this monitor for member goes: the member
// with Destination's non-zero fields applied.
func (s *Spec) Resolve(member Target) Target {
	if s.Destination.Addr.IsValid() && !s.Destination.Addr.IsUnspecified() {
		member.Addr = s.Destination.Addr
	}
	if s.Destination.Port != 0 {
		member.Port = s.Destination.Port
	}
	return member
}

// Equal reports whether two specs would probe and judge identically, so a
// configuration update can keep the health state of an unchanged monitor.
func (s *Spec) Equal(o *Spec) bool {
	if s == o {
		return true
	}
	if s == nil || o == nil {
		return false
	}
	return s.Name == o.Name && s.Type == o.Type &&
		s.Interval == o.Interval && s.Timeout == o.Timeout &&
		s.UpInterval == o.UpInterval && s.TimeUntilUp == o.TimeUntilUp &&
		s.ManualResume == o.ManualResume && s.Send == o.Send &&
		regexpEqual(s.Recv, o.Recv) && regexpEqual(s.RecvDisable, o.RecvDisable) &&
		s.Destination == o.Destination && s.CloseCheck == o.CloseCheck &&
		s.Run == o.Run && slices.Equal(s.Args, o.Args) && slices.Equal(s.Env, o.Env) &&
		s.Alteon == o.Alteon && s.Retries == o.Retries && s.Restore == o.Restore
}

func regexpEqual(a, b *regexp.Regexp) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.String() == b.String()
}

// probeTimeout is the deadline of one probe: Timeout under Alteon semantics;
// under BIG-IP semantics the smaller of the current interval and Timeout, so
// a probe never overlaps the next one and an answer later than Timeout could
// not have kept the member up anyway.
func (s *Spec) probeTimeout(interval time.Duration) time.Duration {
	if s.Alteon {
		return s.Timeout
	}
	return min(interval, s.Timeout)
}
