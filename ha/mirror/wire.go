package mirror

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"lbx/dataplane"
	"lbx/pools"
)

// The wire. A stream of messages, each a 4-byte big-endian length (of
// what follows), a type byte and its payload:
//
//	hello   version u8, unit str8, ports u8 × str8
//	flows   names u16 × str16, count u32 × flow record (flowRecLen bytes)
//	removed count u32 × key (13 bytes)
//	persist count u32 × persistence record
//
// A key is src u32, dst u32, sport u16, dport u16, proto u8. A flow
// record is the forward and reverse keys, the two next sequence numbers,
// the DSR hop, the two egress port indices (u8, into hello's ports), the
// TCP state, FINs and known-sequence bits, flags (1 DSR, 2 open), the idle
// time in milliseconds (u32) and the index of its virtual's name (u16).
// A persistence record is mode u8, bits u8, profile u64, scope u64,
// address addr, hash u64, pool str16, member str16, member address addr,
// port u16, virtual str16, age ms u32, timeout ms u32; an addr is a length
// byte (0, 4 or 16) and the address. All integers big-endian.

// Message types.
const (
	msgHello   = 1
	msgFlows   = 2
	msgRemoved = 3
	msgPersist = 4
)

// Version is the protocol version hello carries.
const Version = 1

const (
	keyLen     = 13
	flowRecLen = 2*keyLen + 8 + 4 + 2 + 4 + 4 + 2
	// MaxMessage bounds a message's length: larger is malformed.
	MaxMessage = 4 << 20
	// maxBatch is how many flows one message carries at most.
	maxBatch = (MaxMessage - 1<<16) / flowRecLen
)

// ErrMalformed wraps every decoding error.
var ErrMalformed = errors.New("mirror: malformed message")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// Hello opens a stream: the sender's unit and its data ports in engine
// order (flow records name egress ports by index into them).
type Hello struct {
	Unit  string
	Ports []string
}

// encoder builds messages in a reused buffer.
type encoder struct {
	b []byte
}

func (e *encoder) begin(typ byte) { e.b = append(e.b[:0], 0, 0, 0, 0, typ) }

func (e *encoder) end() []byte {
	binary.BigEndian.PutUint32(e.b, uint32(len(e.b)-4))
	return e.b
}

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }

func (e *encoder) str8(s string) {
	s = s[:min(len(s), 255)]
	e.u8(uint8(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) str16(s string) {
	s = s[:min(len(s), 65535)]
	e.u16(uint16(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) addr(a netip.Addr) {
	if !a.IsValid() {
		e.u8(0)
		return
	}
	s := a.AsSlice()
	e.u8(uint8(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) key(k *dataplane.FlowKey) {
	e.u32(k.Src)
	e.u32(k.Dst)
	e.u16(k.Sport)
	e.u16(k.Dport)
	e.u8(k.Proto)
}

func ms32(d time.Duration) uint32 { return uint32(min(max(d, 0)/time.Millisecond, 1<<32-1)) }

// hello encodes h.
func (e *encoder) hello(h *Hello) []byte {
	e.begin(msgHello)
	e.u8(Version)
	e.str8(h.Unit)
	e.u8(uint8(min(len(h.Ports), 255)))
	for _, p := range h.Ports[:min(len(h.Ports), 255)] {
		e.str8(p)
	}
	return e.end()
}

// flows encodes up to maxBatch flows and reports how many it took; names
// is scratch for the name table.
func (e *encoder) flows(fs []dataplane.MirrorFlow, names map[string]uint16) ([]byte, int) {
	fs = fs[:min(len(fs), maxBatch)]
	clear(names)
	e.begin(msgFlows)
	at := len(e.b)
	e.u16(0)
	for i := range fs {
		if _, ok := names[fs[i].Virtual]; !ok && len(names) < 65535 {
			names[fs[i].Virtual] = uint16(len(names))
			e.str16(fs[i].Virtual)
		}
	}
	binary.BigEndian.PutUint16(e.b[at:], uint16(len(names)))
	e.u32(uint32(len(fs)))
	for i := range fs {
		f := &fs[i]
		e.key(&f.Fwd)
		e.key(&f.Rev)
		e.u32(f.Nxt[0])
		e.u32(f.Nxt[1])
		e.u32(f.Hop)
		e.u8(uint8(f.Egress[0]))
		e.u8(uint8(f.Egress[1]))
		e.u8(f.State)
		e.u8(f.Fins)
		e.u8(f.Seqd)
		var fl uint8
		if f.DSR {
			fl |= 1
		}
		if f.Open {
			fl |= 2
		}
		e.u8(fl)
		e.u32(ms32(time.Duration(f.Idle)))
		e.u16(names[f.Virtual])
	}
	return e.end(), len(fs)
}

// removed encodes up to maxBatch keys and reports how many it took.
func (e *encoder) removed(ks []dataplane.FlowKey) ([]byte, int) {
	ks = ks[:min(len(ks), maxBatch)]
	e.begin(msgRemoved)
	e.u32(uint32(len(ks)))
	for i := range ks {
		e.key(&ks[i])
	}
	return e.end(), len(ks)
}

// persist encodes records until the message would pass MaxMessage/2 and
// reports how many it took.
func (e *encoder) persist(rs []pools.PersistEntry) ([]byte, int) {
	e.begin(msgPersist)
	at := len(e.b)
	e.u32(0)
	n := 0
	for ; n < len(rs) && len(e.b) < MaxMessage/2; n++ {
		r := &rs[n]
		e.u8(uint8(r.Key.Mode))
		e.u8(r.Key.Bits)
		e.u64(r.Key.Profile)
		e.u64(r.Key.Scope)
		e.addr(r.Key.Addr)
		e.u64(r.Key.Hash)
		e.str16(r.Rec.Pool)
		e.str16(r.Rec.Member)
		e.addr(r.Rec.Addr)
		e.u16(r.Rec.Port)
		e.str16(r.Rec.Virtual)
		e.u32(ms32(r.Age))
		e.u32(ms32(r.TTL))
	}
	binary.BigEndian.PutUint32(e.b[at:], uint32(n))
	return e.end(), n
}

// readMessage reads one message into buf (grown as needed) and returns its
// type and payload.
func readMessage(r io.Reader, buf []byte) (byte, []byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, buf, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 1 || n > MaxMessage {
		return 0, nil, buf, malformed("message length %d (1 to %d)", n, MaxMessage)
	}
	if cap(buf) < int(n-1) {
		buf = make([]byte, n-1)
	}
	buf = buf[:n-1]
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, buf, err
	}
	return hdr[4], buf, buf, nil
}

// decoder reads a payload; the first error sticks and later reads return
// zeros.
type decoder struct {
	b   []byte
	err error
	msg string
}

func (d *decoder) need(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = malformed("%s: %s truncated (%d bytes left, %d needed)", d.msg, what, len(d.b), n)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8(what string) uint8 {
	if v := d.need(1, what); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u16(what string) uint16 {
	if v := d.need(2, what); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *decoder) u32(what string) uint32 {
	if v := d.need(4, what); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) u64(what string) uint64 {
	if v := d.need(8, what); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) str(n int, what string) string { return string(d.need(n, what)) }

func (d *decoder) addr(what string) netip.Addr {
	n := d.u8(what)
	switch n {
	case 0:
		return netip.Addr{}
	case 4, 16:
		a, _ := netip.AddrFromSlice(d.need(int(n), what))
		return a
	}
	if d.err == nil {
		d.err = malformed("%s: %s: address length %d (0, 4 or 16)", d.msg, what, n)
	}
	return netip.Addr{}
}

func (d *decoder) key() dataplane.FlowKey {
	return dataplane.FlowKey{Src: d.u32("key"), Dst: d.u32("key"), Sport: d.u16("key"), Dport: d.u16("key"), Proto: d.u8("key")}
}

// count reads an item count and checks that at least min bytes an item
// remain for it.
func (d *decoder) count(min int, what string) int {
	n := int(d.u32(what + " count"))
	if d.err == nil && n > len(d.b)/min {
		d.err = malformed("%s: %d %s in %d bytes", d.msg, n, what, len(d.b))
		return 0
	}
	return n
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = malformed("%s: %d bytes after the end", d.msg, len(d.b))
	}
	return d.err
}

// decodeHello decodes a hello payload.
func decodeHello(p []byte) (Hello, error) {
	d := decoder{b: p, msg: "hello"}
	if v := d.u8("version"); d.err == nil && v != Version {
		return Hello{}, malformed("hello: version %d, want %d", v, Version)
	}
	h := Hello{Unit: d.str(int(d.u8("unit")), "unit")}
	n := int(d.u8("ports"))
	for range n {
		h.Ports = append(h.Ports, d.str(int(d.u8("port")), "port"))
	}
	return h, d.done()
}

// decodeFlows appends the flows of a payload to out.
func decodeFlows(p []byte, out []dataplane.MirrorFlow) ([]dataplane.MirrorFlow, error) {
	d := decoder{b: p, msg: "flows"}
	nn := int(d.u16("names"))
	names := make([]string, 0, min(nn, len(p)/2))
	for range nn {
		names = append(names, d.str(int(d.u16("name")), "name"))
	}
	n := d.count(flowRecLen, "flows")
	for range n {
		var f dataplane.MirrorFlow
		f.Fwd, f.Rev = d.key(), d.key()
		f.Nxt[0], f.Nxt[1], f.Hop = d.u32("nxt"), d.u32("nxt"), d.u32("hop")
		f.Egress[0], f.Egress[1] = int16(d.u8("egress")), int16(d.u8("egress"))
		f.State, f.Fins, f.Seqd = d.u8("state"), d.u8("fins"), d.u8("seqd")
		fl := d.u8("flags")
		f.DSR, f.Open = fl&1 != 0, fl&2 != 0
		f.Idle = int64(d.u32("idle")) * int64(time.Millisecond)
		ni := int(d.u16("name index"))
		if d.err != nil {
			break
		}
		if fl&^3 != 0 {
			d.err = malformed("flows: flags %#x", fl)
			break
		}
		if ni >= len(names) {
			d.err = malformed("flows: name index %d of %d names", ni, len(names))
			break
		}
		f.Virtual = names[ni]
		out = append(out, f)
	}
	return out, d.done()
}

// decodeRemoved appends the keys of a payload to out.
func decodeRemoved(p []byte, out []dataplane.FlowKey) ([]dataplane.FlowKey, error) {
	d := decoder{b: p, msg: "removed"}
	n := d.count(keyLen, "keys")
	for range n {
		out = append(out, d.key())
	}
	return out, d.done()
}

// persistRecMin is the least a persistence record takes.
const persistRecMin = 2 + 8 + 8 + 1 + 8 + 2 + 2 + 1 + 2 + 2 + 4 + 4

// decodePersist appends the persistence records of a payload to out.
func decodePersist(p []byte, out []pools.PersistEntry) ([]pools.PersistEntry, error) {
	d := decoder{b: p, msg: "persist"}
	n := d.count(persistRecMin, "records")
	for range n {
		var r pools.PersistEntry
		r.Key.Mode = pools.PersistMode(d.u8("mode"))
		r.Key.Bits = d.u8("bits")
		r.Key.Profile, r.Key.Scope = d.u64("profile"), d.u64("scope")
		r.Key.Addr = d.addr("address")
		r.Key.Hash = d.u64("hash")
		r.Rec.Pool = d.str(int(d.u16("pool")), "pool")
		r.Rec.Member = d.str(int(d.u16("member")), "member")
		r.Rec.Addr = d.addr("member address")
		r.Rec.Port = d.u16("port")
		r.Rec.Virtual = d.str(int(d.u16("virtual")), "virtual")
		r.Age = time.Duration(d.u32("age")) * time.Millisecond
		r.TTL = time.Duration(d.u32("timeout")) * time.Millisecond
		if d.err != nil {
			break
		}
		if r.Key.Mode != pools.PersistSourceAddr && r.Key.Mode != pools.PersistHash {
			d.err = malformed("persist: mode %d", r.Key.Mode)
			break
		}
		if int(r.Key.Bits) > r.Key.Addr.BitLen() {
			d.err = malformed("persist: %d bits of %v", r.Key.Bits, r.Key.Addr)
			break
		}
		out = append(out, r)
	}
	return out, d.done()
}
