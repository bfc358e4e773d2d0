package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Bounds of a capture unless its options say otherwise: it stops recording
// at whichever comes first.
const (
	DefaultCaptureMaxPackets  = 10000
	DefaultCaptureMaxDuration = 60 * time.Second
)

// CaptureOptions say what StartCapture records and where.
type CaptureOptions struct {
	NS string // network namespace of the interface
	// InNS runs fn inside namespace ns (the testbed's namespace switch);
	// nil: fn runs where the caller is and NS is only named in errors.
	InNS      func(ns string, fn func() error) error
	Interface string // default "eth0"
	Path      string // the pcap file written
	// Ports keeps only TCP and UDP packets from or to one of these ports;
	// none keeps every frame.
	Ports       []uint16
	MaxPackets  int           // default DefaultCaptureMaxPackets
	MaxDuration time.Duration // default DefaultCaptureMaxDuration
}

// Capture records the frames of one interface into a pcap file (written
// from an AF_PACKET socket, so it needs neither cgo nor tcpdump) and decodes them. It stops by itself at its packet or time
// bound; Stop ends it sooner and is safe to call more than once, so a test
// can both defer it through t.Cleanup and call it.
type Capture struct {
	Path string // the pcap file; read it with tcpdump -r or Wireshark

	opts     CaptureOptions
	sock     *packetSocket
	w        *pcapWriter
	file     *os.File
	stop     chan struct{}
	done     chan struct{}
	progress chan struct{} // signalled after each decoded packet
	once     sync.Once

	mu        sync.Mutex // guards the fields below
	pkts      []CapturedPacket
	err       error
	truncated bool // a bound ended the capture before Stop
}

// StartCapture starts recording; the capture is live when it returns.
func StartCapture(o CaptureOptions) (*Capture, error) {
	if o.Interface == "" {
		o.Interface = "eth0"
	}
	if o.MaxPackets <= 0 {
		o.MaxPackets = DefaultCaptureMaxPackets
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = DefaultCaptureMaxDuration
	}
	f, err := os.Create(o.Path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	w := &pcapWriter{w: bufio.NewWriter(f)}
	if err := w.writeHeader(); err != nil {
		f.Close()
		return nil, fmt.Errorf("capture: %s: %w", o.Path, err)
	}
	var sock *packetSocket
	open := func() error {
		sock, err = openPacketSocket(o.Interface, 50*time.Millisecond)
		return err
	}
	if o.InNS != nil {
		err = o.InNS(o.NS, open)
	} else {
		err = open()
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("capture %s in %s: %w", o.Interface, o.NS, err)
	}
	c := &Capture{Path: o.Path, opts: o, sock: sock, w: w, file: f, stop: make(chan struct{}), done: make(chan struct{}), progress: make(chan struct{}, 1)}
	go c.run()
	return c, nil
}

const captureSnaplen = 65536

func (c *Capture) run() {
	defer close(c.done)
	buf := make([]byte, captureSnaplen)
	deadline := time.Now().Add(c.opts.MaxDuration)
	// After Stop, the frames already queued on the socket are still read
	// (a busy machine may lag behind), then the capture ends.
	draining := false
	for n := 0; ; {
		if !draining {
			select {
			case <-c.stop:
				draining = true
			default:
			}
		}
		if n >= c.opts.MaxPackets || time.Now().After(deadline) {
			c.mu.Lock()
			c.truncated = true
			c.mu.Unlock()
			return
		}
		size, outgoing, err := c.sock.read(buf, draining)
		if errors.Is(err, errReadTimeout) {
			if draining {
				return
			}
			continue
		}
		now := time.Now()
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		data := buf[:min(size, len(buf))]
		p, ok := decodeFrame(data)
		if len(c.opts.Ports) > 0 && (!ok || !p.hasPort(c.opts.Ports)) {
			continue
		}
		n++
		werr := c.w.writePacket(now, data, size)
		c.mu.Lock()
		if ok {
			p.Time, p.Outgoing = now, outgoing
			c.pkts = append(c.pkts, p)
		}
		if werr != nil && c.err == nil {
			c.err = fmt.Errorf("capture: %s: %w", c.Path, werr)
		}
		c.mu.Unlock()
		select {
		case c.progress <- struct{}{}:
		default:
		}
	}
}

// pcapWriter writes the classic pcap format with nanosecond timestamps
// (what tcpdump -r and Wireshark read). gopacket's pcapgo would do, but
// that package also brings its own capture code and dependencies.
type pcapWriter struct {
	w *bufio.Writer
}

func (p *pcapWriter) writeHeader() error {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b23c4d) // nanosecond pcap
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], captureSnaplen)
	binary.LittleEndian.PutUint32(h[20:], uint32(layers.LinkTypeEthernet))
	_, err := p.w.Write(h[:])
	return err
}

func (p *pcapWriter) writePacket(t time.Time, data []byte, origLen int) error {
	var h [16]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(t.Unix()))
	binary.LittleEndian.PutUint32(h[4:], uint32(t.Nanosecond()))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(data)))
	binary.LittleEndian.PutUint32(h[12:], uint32(origLen))
	if _, err := p.w.Write(h[:]); err != nil {
		return err
	}
	_, err := p.w.Write(data)
	return err
}

func (p *pcapWriter) flush() error { return p.w.Flush() }

// Stop ends the capture, closes the pcap file and returns the decoded IPv4
// packets recorded (frames of other kinds are only in the file). The error
// is a failure to read or write, or ErrCaptureTruncated when a bound ended
// the capture early.
func (c *Capture) Stop() ([]CapturedPacket, error) {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		errs := []error{c.sock.close(), c.w.flush(), c.file.Close()}
		c.mu.Lock()
		c.err = errors.Join(append(errs, c.err)...)
		c.mu.Unlock()
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.err
	if err == nil && c.truncated {
		err = fmt.Errorf("%w after %d packets or %s", ErrCaptureTruncated, c.opts.MaxPackets, c.opts.MaxDuration)
	}
	return slices.Clone(c.pkts), err
}

// Packets returns the packets decoded so far, while the capture goes on.
func (c *Capture) Packets() []CapturedPacket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.pkts)
}

// WaitFor waits, at most limit, until a recorded packet satisfies match,
// woken by each new packet; it reports whether one did. Tests use it to
// know the last packet of an exchange is recorded before they Stop.
func (c *Capture) WaitFor(limit time.Duration, match func(CapturedPacket) bool) bool {
	timeout := time.NewTimer(limit)
	defer timeout.Stop()
	for {
		if slices.ContainsFunc(c.Packets(), match) {
			return true
		}
		select {
		case <-c.progress:
		case <-c.done:
			return slices.ContainsFunc(c.Packets(), match)
		case <-timeout.C:
			return false
		}
	}
}

// ErrCaptureTruncated says a capture reached its packet or time bound
// before Stop; the packets up to then are still returned.
var ErrCaptureTruncated = errors.New("capture: bound reached")

// IPProto is the protocol number of an IPv4 packet.
type IPProto uint8

// The protocols CapturedPacket names.
const (
	ProtoICMP IPProto = 1
	ProtoTCP  IPProto = 6
	ProtoUDP  IPProto = 17
)

func (p IPProto) String() string {
	switch p {
	case ProtoICMP:
		return "ICMP"
	case ProtoTCP:
		return "TCP"
	case ProtoUDP:
		return "UDP"
	}
	return fmt.Sprintf("ip-proto-%d", uint8(p))
}

// TCPFlags are a TCP header's flag bits, in the header's own layout.
type TCPFlags uint8

// The TCP flags.
const (
	FlagFIN TCPFlags = 0x01
	FlagSYN TCPFlags = 0x02
	FlagRST TCPFlags = 0x04
	FlagPSH TCPFlags = 0x08
	FlagACK TCPFlags = 0x10
	FlagURG TCPFlags = 0x20
	FlagECE TCPFlags = 0x40
	FlagCWR TCPFlags = 0x80
)

// String writes flags as tcpdump does: "S", "S.", ".", "F.", "R.", "P.",
// "FP.", "R", or "none".
func (f TCPFlags) String() string {
	var b strings.Builder
	for _, t := range []struct {
		f TCPFlags
		s string
	}{{FlagFIN, "F"}, {FlagSYN, "S"}, {FlagRST, "R"}, {FlagPSH, "P"}, {FlagURG, "U"}, {FlagECE, "E"}, {FlagCWR, "W"}, {FlagACK, "."}} {
		if f&t.f != 0 {
			b.WriteString(t.s)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// CapturedPacket is one decoded IPv4 packet of a capture.
type CapturedPacket struct {
	Time     time.Time
	Outgoing bool // sent by the host captured on
	Proto    IPProto
	Src, Dst netip.AddrPort // port 0 for protocols without ports
	Flags    TCPFlags       // TCP only
	Seq, Ack uint32         // TCP only
	Len      int            // TCP or UDP payload length; IP payload length otherwise
}

// String formats p like a tcpdump -S line:
//
//	15:04:05.000000 IP 198.18.2.2.40123 > 198.18.2.14.80: Flags [S], seq 1000, length 0
func (p CapturedPacket) String() string {
	ep := func(a netip.AddrPort) string {
		if p.Proto == ProtoTCP || p.Proto == ProtoUDP {
			return fmt.Sprintf("%s.%d", a.Addr(), a.Port())
		}
		return a.Addr().String()
	}
	s := fmt.Sprintf("%s IP %s > %s: ", p.Time.Format("15:04:05.000000"), ep(p.Src), ep(p.Dst))
	switch p.Proto {
	case ProtoTCP:
		s += fmt.Sprintf("Flags [%s], seq %d", p.Flags, p.Seq)
		if p.Flags&FlagACK != 0 {
			s += fmt.Sprintf(", ack %d", p.Ack)
		}
	default:
		s += p.Proto.String()
	}
	return s + fmt.Sprintf(", length %d", p.Len)
}

func (p CapturedPacket) hasPort(ports []uint16) bool {
	if p.Proto != ProtoTCP && p.Proto != ProtoUDP {
		return false
	}
	return slices.Contains(ports, p.Src.Port()) || slices.Contains(ports, p.Dst.Port())
}

// FormatPackets formats packets one per line, like tcpdump.
func FormatPackets(pkts []CapturedPacket) string {
	var b strings.Builder
	for _, p := range pkts {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// decodeFrame decodes an Ethernet frame carrying IPv4.
func decodeFrame(data []byte) (CapturedPacket, bool) {
	pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	ip, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if !ok {
		return CapturedPacket{}, false
	}
	src, _ := netip.AddrFromSlice(ip.SrcIP.To4())
	dst, _ := netip.AddrFromSlice(ip.DstIP.To4())
	p := CapturedPacket{Proto: IPProto(ip.Protocol), Src: netip.AddrPortFrom(src, 0), Dst: netip.AddrPortFrom(dst, 0)}
	// Lengths from the IP header, so Ethernet padding never counts.
	ipPayload := int(ip.Length) - int(ip.IHL)*4
	p.Len = ipPayload
	switch l := pkt.TransportLayer().(type) {
	case *layers.TCP:
		p.Src, p.Dst = netip.AddrPortFrom(src, uint16(l.SrcPort)), netip.AddrPortFrom(dst, uint16(l.DstPort))
		p.Seq, p.Ack = l.Seq, l.Ack
		p.Len = ipPayload - int(l.DataOffset)*4
		for _, f := range []struct {
			set  bool
			flag TCPFlags
		}{{l.FIN, FlagFIN}, {l.SYN, FlagSYN}, {l.RST, FlagRST}, {l.PSH, FlagPSH}, {l.ACK, FlagACK}, {l.URG, FlagURG}, {l.ECE, FlagECE}, {l.CWR, FlagCWR}} {
			if f.set {
				p.Flags |= f.flag
			}
		}
	case *layers.UDP:
		p.Src, p.Dst = netip.AddrPortFrom(src, uint16(l.SrcPort)), netip.AddrPortFrom(dst, uint16(l.DstPort))
		p.Len = int(l.Length) - 8
	}
	return p, true
}

// Connection is the TCP packets of one connection, in capture order.
type Connection struct {
	Client, Server netip.AddrPort // Client sent the first SYN (or the first packet seen)
	Packets        []CapturedPacket
}

// Flags lists each packet's flags in tcpdump notation.
func (c Connection) Flags() []string {
	s := make([]string, len(c.Packets))
	for i, p := range c.Packets {
		s[i] = p.Flags.String()
	}
	return s
}

// Exchange names who sent each packet and its flags, e.g.
// "client S, server S., client ., client F., server R.".
func (c Connection) Exchange() string {
	s := make([]string, len(c.Packets))
	for i, p := range c.Packets {
		who := "server"
		if p.Src == c.Client {
			who = "client"
		}
		s[i] = who + " " + p.Flags.String()
	}
	return strings.Join(s, ", ")
}

// Connections groups the TCP packets of pkts by connection, ordered by
// each connection's first packet.
func Connections(pkts []CapturedPacket) []Connection {
	type key struct{ a, b netip.AddrPort }
	index := map[key]int{}
	var conns []Connection
	for _, p := range pkts {
		if p.Proto != ProtoTCP {
			continue
		}
		k := key{p.Src, p.Dst}
		if _, ok := index[key{p.Dst, p.Src}]; ok {
			k = key{p.Dst, p.Src}
		}
		i, ok := index[k]
		if !ok {
			i = len(conns)
			index[k] = i
			client, server := p.Src, p.Dst
			if p.Flags&(FlagSYN|FlagACK) == FlagSYN|FlagACK {
				client, server = p.Dst, p.Src
			}
			conns = append(conns, Connection{Client: client, Server: server})
		}
		conns[i].Packets = append(conns[i].Packets, p)
	}
	return conns
}

// FindFlags looks, among the TCP packets between endpoints a and b (each
// "ADDR" or "ADDR:PORT"; either may be the sender), for packets with the
// given flags in order, other packets allowed in between, and returns the
// first such match. Flags are in tcpdump notation ("S", "S.", ".", "F.",
// "R."). The error lists what was seen when there is no match.
func FindFlags(pkts []CapturedPacket, a, b string, flags ...string) ([]CapturedPacket, error) {
	ma, err := parseEndpoint(a)
	if err != nil {
		return nil, err
	}
	mb, err := parseEndpoint(b)
	if err != nil {
		return nil, err
	}
	var between, match []CapturedPacket
	for _, p := range pkts {
		if p.Proto != ProtoTCP || !(ma(p.Src) && mb(p.Dst) || mb(p.Src) && ma(p.Dst)) {
			continue
		}
		between = append(between, p)
		if len(match) < len(flags) && p.Flags.String() == flags[len(match)] {
			match = append(match, p)
		}
	}
	if len(match) == len(flags) {
		return match, nil
	}
	return nil, fmt.Errorf("flags %s between %s and %s not found; the %d TCP packets between them:\n%s",
		strings.Join(flags, " "), a, b, len(between), FormatPackets(between))
}

func parseEndpoint(s string) (func(netip.AddrPort) bool, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return func(x netip.AddrPort) bool { return x == ap }, nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: want ADDR or ADDR:PORT", s)
	}
	return func(x netip.AddrPort) bool { return x.Addr() == addr }, nil
}
