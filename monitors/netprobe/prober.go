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
	if ctx.Err() != nil && !o.OK && !o.Disable && (o.Reason == "no answer to SYN" || o.Reason == "no echo reply" || o.Reason == "no answer") {
		if dl, ok := ctx.Deadline(); ok && len(o.Packets) > 0 {
			r.Reason = monitors.NoAnswer(dl.Sub(o.Packets[0].At).Round(1e9))
		}
	}
	for _, pk := range o.Packets {
		s := Summarize(pk.Data, pk.Out)
		r.Packets = append(r.Packets, monitors.Packet{
			At: pk.At, Out: pk.Out, Src: s.Src, Dst: s.Dst, Proto: s.Proto, Flags: s.Flags,
			Seq: s.Seq, Ack: s.Ack, Len: s.Len, Info: s.Info,
		})
	}
	return r
}
