package netprobe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"lbx/dataplane/localstack"
)

// Outcome is what one probe exchange concluded, with every packet of it.
type Outcome struct {
	OK      bool   // the check passed
	Disable bool   // recv-disable matched: the member is disabled, not down
	Reason  string // why it failed (or, on success, a remark such as the close seen)
	Packets []localstack.Packet
}

func (o *Outcome) fail(format string, a ...any) Outcome {
	o.OK = false
	o.Reason = fmt.Sprintf(format, a...)
	return *o
}

// closeWait bounds how long a handshake check waits for the server's
// answer to its FIN.
const closeWait = 2 * time.Second

// ReasonRSTAfterFIN is the legacy close check's failure.
const ReasonRSTAfterFIN = "RST after FIN during close"

// TCPHandshake runs the crafted-packet tcp checks against dst.
//
// halfOpen: SYN → SYN,ACK → RST (tcp-half-open): up when SYN,ACK comes.
// Otherwise the full handshake check: SYN → SYN,ACK → ACK, then our FIN,ACK;
// the server's FIN (graceful close) is acknowledged. A server that answers
// our FIN with RST (IIS 7.0 does, with RST,ACK) passes unless legacyClose is
// set, which reproduces Alteon firmware before 23.2.9 and fails the check
// with ReasonRSTAfterFIN.
func TCPHandshake(ctx context.Context, st *localstack.Stack, dst netip.AddrPort, halfOpen, legacyClose bool) Outcome {
	o := Outcome{Packets: make([]localstack.Packet, 0, 6)} // a full exchange: 6 or 7 packets
	rc, err := st.OpenRaw(localstack.ProtoTCP, dst.Addr())
	if err != nil {
		return o.fail("%v", err)
	}
	defer rc.Close()
	src := rc.Local
	ipID := uint16(rand.Uint32())
	send := func(seq, ack uint32, flags uint8) error {
		pkt, err := buildTCP(src, dst, seq, ack, flags, ipID)
		ipID++
		if err != nil {
			return err
		}
		o.Packets = append(o.Packets, localstack.Packet{At: time.Now(), Out: true, Data: pkt})
		return rc.Send(pkt)
	}
	// recv returns the next segment of this connection.
	recv := func(ctx context.Context) (segment, error) {
		for {
			p, err := rc.Recv(ctx)
			if err != nil {
				return segment{}, err
			}
			seg, ok := parseTCP(p.Data)
			if !ok || seg.src != dst || seg.dst != src {
				continue
			}
			o.Packets = append(o.Packets, p)
			return seg, nil
		}
	}
	iss := rand.Uint32()
	if err := send(iss, 0, flagSYN); err != nil {
		return o.fail("send SYN: %v", err)
	}
	var irs uint32
	for {
		seg, err := recv(ctx)
		if err != nil {
			return o.fail("no answer to SYN")
		}
		if seg.flags&flagRST != 0 {
			return o.fail("connection refused (RST to SYN)")
		}
		if seg.flags&(flagSYN|flagACK) == flagSYN|flagACK && seg.ack == iss+1 {
			irs = seg.seq
			break
		}
	}
	if halfOpen {
		if err := send(iss+1, 0, flagRST); err != nil {
			return o.fail("send RST: %v", err)
		}
		o.OK = true
		return o
	}
	if err := send(iss+1, irs+1, flagACK); err != nil {
		return o.fail("send ACK: %v", err)
	}
	if err := send(iss+1, irs+1, flagFIN|flagACK); err != nil {
		return o.fail("send FIN: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, closeWait)
	defer cancel()
	for {
		seg, err := recv(cctx)
		if err != nil {
			// The handshake completed: the service answers. A server that
			// never closes its side is still up.
			o.OK, o.Reason = true, "no FIN from the server within "+closeWait.String()
			return o
		}
		switch {
		case seg.flags&flagRST != 0:
			if legacyClose {
				return o.fail(ReasonRSTAfterFIN)
			}
			o.OK, o.Reason = true, "server answered FIN with RST (accepted)"
			return o
		case seg.flags&flagFIN != 0:
			if err := send(iss+2, seg.seq+uint32(seg.payload)+1, flagACK); err != nil {
				return o.fail("send ACK of FIN: %v", err)
			}
			o.OK = true
			return o
		}
	}
}

// ICMPEcho sends one echo request and waits for its reply.
func ICMPEcho(ctx context.Context, st *localstack.Stack, dst netip.Addr) Outcome {
	var o Outcome
	rc, err := st.OpenRaw(localstack.ProtoICMP, dst)
	if err != nil {
		return o.fail("%v", err)
	}
	defer rc.Close()
	seq := uint16(rand.Uint32())
	pkt, err := buildEcho(rc.Local.Addr(), dst, rc.Local.Port(), seq)
	if err != nil {
		return o.fail("%v", err)
	}
	o.Packets = append(o.Packets, localstack.Packet{At: time.Now(), Out: true, Data: pkt})
	if err := rc.Send(pkt); err != nil {
		return o.fail("send echo request: %v", err)
	}
	for {
		p, err := rc.Recv(ctx)
		if err != nil {
			return o.fail("no echo reply")
		}
		o.Packets = append(o.Packets, p)
		if len(p.Data) < 28 {
			continue
		}
		ihl := int(p.Data[0]&0xf) * 4
		if len(p.Data) < ihl+8 {
			continue
		}
		switch t := p.Data[ihl]; t {
		case 0:
			if uint16(p.Data[ihl+6])<<8|uint16(p.Data[ihl+7]) == seq {
				o.OK = true
				return o
			}
		case 3:
			return o.fail("destination unreachable (code %d)", p.Data[ihl+1])
		case 11:
			return o.fail("time exceeded")
		}
	}
}

// StreamSpec is a check that carries data over a real TCP connection.
type StreamSpec struct {
	Send        string         // sent after connecting, escapes already resolved
	Recv        *regexp.Regexp // nil: any answer (or none, for plain tcp) passes
	RecvDisable *regexp.Regexp
	TLS         bool // https
	HTTP        bool // http/https: an answer is required
}

// maxAnswer bounds how much of the server's answer a check reads.
const maxAnswer = 64 << 10

// Stream connects through the netstack, sends Send and matches the answer.
// The trace holds the connection's packets up to and including our close.
func Stream(ctx context.Context, st *localstack.Stack, dst netip.AddrPort, s StreamSpec) Outcome {
	tap := st.NewTap(dst, 64)
	o, c := stream(ctx, st, dst, s)
	var local uint16
	if c != nil {
		if ap, err := netip.ParseAddrPort(c.LocalAddr().String()); err == nil {
			local = ap.Port()
		}
		c.Close()
	}
	o.Packets = st.StopTap(tap, local)
	return o
}

func stream(ctx context.Context, st *localstack.Stack, dst netip.AddrPort, s StreamSpec) (Outcome, net.Conn) {
	var o Outcome
	c, err := st.DialTCP(ctx, dst)
	if err != nil {
		return o.fail("%s", dialReason(err)), nil
	}
	defer abortOnDone(ctx, c)()
	var conn net.Conn = c
	if s.TLS {
		// A monitor checks the service, not its identity, as BIG-IP's https
		// monitor does by default.
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: dst.Addr().String()})
		if err := tc.HandshakeContext(ctx); err != nil {
			return o.fail("TLS handshake: %v", err), c
		}
		conn = tc
	}
	if s.Send != "" {
		if _, err := io.WriteString(conn, s.Send); err != nil {
			return o.fail("send: %v", err), c
		}
	}
	if s.Recv == nil && s.RecvDisable == nil && !s.HTTP {
		o.OK = true // tcp without recv: the connection (and send) is the check
		return o, c
	}
	answer, rerr := readAnswer(conn, s)
	switch {
	case s.RecvDisable != nil && s.RecvDisable.Match(answer):
		o.Disable, o.Reason = true, "recv-disable matched"
	case s.Recv != nil && s.Recv.Match(answer):
		o.OK = true
	case s.Recv != nil:
		what := "recv mismatch"
		if len(answer) == 0 && rerr != nil {
			what = "no answer: " + rerr.Error()
		} else if code := httpStatus(answer); code != "" && s.HTTP {
			what = "recv mismatch (HTTP " + code + ")"
		}
		o.fail("%s", what)
	case len(answer) > 0:
		o.OK = true
	default:
		o.fail("no answer")
	}
	return o, c
}

// readAnswer reads until the answer matches, the server closes, the bound
// is reached or the deadline passes.
func readAnswer(c net.Conn, s StreamSpec) ([]byte, error) {
	buf := make([]byte, 0, 4096)
	tmp := make([]byte, 4096)
	for len(buf) < maxAnswer {
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if s.RecvDisable != nil && s.RecvDisable.Match(buf) {
			return buf, nil
		}
		if s.Recv != nil && s.Recv.Match(buf) && s.RecvDisable == nil {
			return buf, nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return buf, nil
			}
			return buf, err
		}
	}
	return buf, nil
}

func httpStatus(b []byte) string {
	line, _, _ := strings.Cut(string(b[:min(len(b), 64)]), "\r\n")
	f := strings.Fields(line)
	if len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/") {
		if _, err := strconv.Atoi(f[1]); err == nil {
			return f[1]
		}
	}
	return ""
}

func dialReason(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "refused"):
		return "connection refused (RST to SYN)"
	case strings.Contains(s, "timed out"), strings.Contains(s, "deadline"), errors.Is(err, context.DeadlineExceeded):
		return "no answer to SYN"
	}
	return "connect: " + s
}

// UDP sends Send and waits for an answer (matching Recv when set). An ICMP
// port unreachable fails it.
func UDP(ctx context.Context, st *localstack.Stack, dst netip.AddrPort, send string, recv *regexp.Regexp) Outcome {
	var o Outcome
	tap := st.NewTap(dst, 16)
	var local uint16
	out := func() Outcome { o.Packets = st.StopTap(tap, local); return o }
	c, err := st.DialUDP(dst)
	if err != nil {
		o.fail("%v", err)
		return out()
	}
	defer c.Close()
	if ap, err := netip.ParseAddrPort(c.LocalAddr().String()); err == nil {
		local = ap.Port()
	}
	defer abortOnDone(ctx, c)()
	if _, err := io.WriteString(c, send); err != nil {
		o.fail("send: %v", err)
		return out()
	}
	buf := make([]byte, 65536)
	n, err := readUDP(ctx, c, buf)
	switch {
	case err != nil && strings.Contains(err.Error(), "refused"):
		o.fail("port unreachable")
	case err != nil:
		o.fail("no answer")
	case recv != nil && !recv.Match(buf[:n]):
		o.fail("recv mismatch")
	default:
		o.OK = true
	}
	return out()
}

// udpErrorPoll is how often a udp probe looks for an ICMP error while it
// waits for an answer. gVisor's netstack records a port unreachable on the
// connected endpoint and wakes only readers that wait for an error, not
// those that wait for data (gonet's Read), so one read blocking until the
// deadline would see the answer but never the error; each new read
// returns it.
const udpErrorPoll = 20 * time.Millisecond

// maxUDPPolls bounds readUDP (a minute) should ctx never end.
const maxUDPPolls = int(time.Minute / udpErrorPoll)

// readUDP reads one datagram from c, or the ICMP error that answered
// instead, until ctx is done.
func readUDP(ctx context.Context, c net.Conn, buf []byte) (int, error) {
	for i := 0; ; i++ {
		c.SetReadDeadline(time.Now().Add(udpErrorPoll))
		n, err := c.Read(buf)
		var ne net.Error
		if err == nil || !errors.As(err, &ne) || !ne.Timeout() || ctx.Err() != nil || i >= maxUDPPolls {
			return n, err
		}
	}
}

// abortOnDone makes c's pending and later reads and writes fail once ctx
// is done, and returns the function that stops it. A probe's deadline is
// on the monitors' clock, which need not be the wall clock sockets measure
// deadlines in (tests step a manual clock), so a socket follows the end of
// the context rather than the value of its deadline.
func abortOnDone(ctx context.Context, c net.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
}
