package netprobe

import (
	"context"
	"net/netip"

	"lbx/dataplane/localstack"
	"lbx/monitors"
)

// Prober runs monitors.Spec probes through the appliance's local stack; the
// external type runs its script (monitors.ExternalProber).
type Prober struct {
	Stack    *localstack.Stack
	External monitors.Prober // nil: external monitors fail
}

var _ monitors.Prober = (*Prober)(nil)

// Probe implements monitors.Prober.
func (p *Prober) Probe(ctx context.Context, spec *monitors.Spec, t monitors.Target) monitors.Result {
	var o Outcome
	dst := netip.AddrPortFrom(t.Addr, t.Port)
	switch spec.Type {
	case monitors.ICMP, monitors.GatewayICMP:
		o = ICMPEcho(ctx, p.Stack, t.Addr)
	case monitors.TCPHalfOpen:
		o = TCPHandshake(ctx, p.Stack, dst, true, false)
	case monitors.TCP:
		if spec.Send == "" && spec.Recv == nil && spec.RecvDisable == nil {
			o = TCPHandshake(ctx, p.Stack, dst, false, spec.CloseCheck == monitors.CloseLegacy)
		} else {
			o = Stream(ctx, p.Stack, dst, StreamSpec{Send: spec.Send, Recv: spec.Recv, RecvDisable: spec.RecvDisable})
		}
	case monitors.HTTP, monitors.HTTPS:
		o = Stream(ctx, p.Stack, dst, StreamSpec{Send: spec.Send, Recv: spec.Recv, RecvDisable: spec.RecvDisable,
			HTTP: true, TLS: spec.Type == monitors.HTTPS})
	case monitors.UDP:
		o = UDP(ctx, p.Stack, dst, spec.Send, spec.Recv)
	case monitors.External:
		if p.External == nil {
			return monitors.Result{Verdict: monitors.Failure, Reason: "external monitors are not enabled"}
		}
		return p.External.Probe(ctx, spec, t)
	default:
		return monitors.Result{Verdict: monitors.Failure, Reason: "monitor type " + spec.Type.String() + " not supported"}
	}
	r := monitors.Result{Reason: o.Reason}
	switch {
	case o.Disable:
		r.Verdict = monitors.Disable
	case o.OK:
		r.Verdict = monitors.Success
	default:
		r.Verdict = monitors.Failure
		if o.Reason == "" {
			r.Reason = "failed"
		}
	}
	r.Packets = make([]monitors.Packet, len(o.Packets))
	for i, pk := range o.Packets {
		r.Packets[i] = Summarize(pk)
	}
	return r
}
