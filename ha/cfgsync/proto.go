package cfgsync

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// The protocol: one request and one reply per TLS connection, each a
// frame of a 4-byte big-endian length and a JSON Message.

// Message kinds.
const (
	KindTrust  = "trust"  // add the sender to the trust domain (user and password of the receiver)
	KindStatus = "status" // the receiver's generation, common base, and group definition
	KindPush   = "push"   // apply this shared configuration (generation Gen)
	KindPull   = "pull"   // send your shared configuration
	KindReply  = "reply"  // the answer to any of them; Error set when refused
)

// MaxFrame bounds a frame: the shared configuration of the largest
// supported configuration fits with room.
const MaxFrame = 64 << 20

// Message is a request or reply.
type Message struct {
	Kind     string `json:"kind"`
	From     string `json:"from"`
	Addr     string `json:"addr,omitempty"` // the sender's config-sync address (trust)
	To       string `json:"to,omitempty"`   // the device name the sender expects (trust)
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	Group    *Group `json:"group,omitempty"`
	Gen      Gen    `json:"gen"`
	Base     Gen    `json:"base"`
	Force    bool   `json:"force,omitempty"`
	Config   string `json:"config,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Encode is m's frame.
func Encode(m *Message) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(body) > MaxFrame {
		return nil, fmt.Errorf("config sync: message of %d bytes, more than %d", len(body), MaxFrame)
	}
	out := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(out, uint32(len(body)))
	return append(out, body...), nil
}

// Decode reads one frame's body (without the length) and checks it: an
// unknown kind or field, a bad device or group name, an origin without a
// sequence number are refused.
func Decode(body []byte) (*Message, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var m Message
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("config sync: message: %w", err)
	}
	if dec.More() {
		return nil, errors.New("config sync: message: data after the message")
	}
	switch m.Kind {
	case KindTrust, KindStatus, KindPush, KindPull, KindReply:
	default:
		return nil, fmt.Errorf("config sync: message kind %q: unknown", m.Kind)
	}
	if err := checkName(m.From); err != nil {
		return nil, fmt.Errorf("config sync: message from %q: %w", m.From, err)
	}
	if m.To != "" {
		if err := checkName(m.To); err != nil {
			return nil, fmt.Errorf("config sync: message to %q: %w", m.To, err)
		}
	}
	for _, g := range []struct {
		what string
		g    Gen
	}{{"gen", m.Gen}, {"base", m.Base}} {
		if g.g.Digest != "" {
			return nil, fmt.Errorf("config sync: message %s: digest is not sent", g.what)
		}
		if g.g.Origin == "" {
			continue
		}
		if err := checkName(g.g.Origin); err != nil {
			return nil, fmt.Errorf("config sync: message %s origin %q: %w", g.what, g.g.Origin, err)
		}
	}
	if m.Group != nil {
		if err := m.Group.Check(); err != nil {
			return nil, fmt.Errorf("config sync: message: %w", err)
		}
	}
	return &m, nil
}

// ReadMessage reads and decodes one frame from r.
func ReadMessage(r io.Reader) (*Message, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("config sync: read: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return nil, fmt.Errorf("config sync: frame of %d bytes, more than %d", n, MaxFrame)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("config sync: read: %w", err)
	}
	return Decode(body)
}

// WriteMessage encodes m and writes it to w.
func WriteMessage(w io.Writer, m *Message) error {
	f, err := Encode(m)
	if err != nil {
		return err
	}
	_, err = w.Write(f)
	return err
}
