package config

import "strconv"

// Kind is a kind of configuration object. Its names are BIG-IP's: Path is
// the tmsh module and kind ("ltm pool"), which is also the iControl REST
// collection (/mgmt/tm/ltm/pool), and Title the word BIG-IP's messages use
// ("Virtual Server").
type Kind uint8

// The kinds of objects, in the order bigip.conf prints them.
const (
	KindNode Kind = iota
	KindMonitor
	KindPersistence
	KindProfile
	KindPool
	KindPolicy
	KindSNATPool
	KindVirtual
	KindSelf
	KindRoute
	KindUser
	KindSysFile
	// KindMember is a pool member: not an object of its own in the
	// Config (it lives in its pool) but one in BIG-IP's messages and REST
	// paths. Its Ref's Name is the member's name as BIG-IP's messages give it.
	KindMember
	// KindKept is a stanza of a loaded config file of a kind lbx does not
	// implement, kept verbatim (Config.Unknown); its Ref's Type is the
	// stanza's kind words ("ltm rule").
	KindKept
	kindCount
)

var kindInfo = [kindCount]struct{ path, title string }{
	KindNode:        {"ltm node", "Node"},
	KindMonitor:     {"ltm monitor", "Monitor"},
	KindPersistence: {"ltm persistence", "Persistence Profile"},
	KindProfile:     {"ltm profile", "Profile"},
	KindPool:        {"ltm pool", "Pool"},
	KindPolicy:      {"ltm policy", "Policy"},
	KindSNATPool:    {"ltm snatpool", "SNAT Pool"},
	KindVirtual:     {"ltm virtual", "Virtual Server"},
	KindSelf:        {"net self", "Self IP"},
	KindRoute:       {"net route", "Route"},
	KindUser:        {"auth user", "User"},
	KindSysFile:     {"sys file", "File Object"},
	KindMember:      {"ltm pool members", "Pool Member"},
	KindKept:        {"", ""},
}

// Path is the kind's tmsh module and kind: "ltm pool". Monitors and
// persistence profiles add their type after it ("ltm monitor http").
func (k Kind) Path() string {
	if k < kindCount {
		return kindInfo[k].path
	}
	return "kind-" + strconv.Itoa(int(k))
}

// Title is the kind's name in BIG-IP's messages: "Pool", "Virtual Server".
func (k Kind) Title() string {
	if k < kindCount {
		return kindInfo[k].title
	}
	return k.Path()
}

// Kinds returns every kind of top-level object, in bigip.conf order.
func Kinds() []Kind {
	out := make([]Kind, KindMember)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// ObjectName is how messages name an object: "ltm pool /Common/web",
// "ltm monitor http /Common/m" (typ is the monitor's or profile's type,
// empty for other kinds).
func ObjectName(k Kind, typ, name string) string {
	if typ != "" {
		return k.Path() + " " + typ + " " + name
	}
	return k.Path() + " " + name
}

// Ref names one object: its kind, its type for monitors and persistence
// profiles, and its full name.
type Ref struct {
	Kind Kind
	Type string // "http" for an `ltm monitor http`; empty for other kinds
	Name string
}

// String is the object's name in messages, as ObjectName.
func (r Ref) String() string {
	if r.Kind == KindKept {
		return r.Type + " " + r.Name
	}
	return ObjectName(r.Kind, r.Type, r.Name)
}

// title is the object's kind in BIG-IP's messages.
func (r Ref) title() string {
	if r.Kind == KindKept {
		return r.Type
	}
	return r.Kind.Title()
}

// Ref returns the Ref of a monitor.
func (m *Monitor) Ref() Ref { return Ref{KindMonitor, m.Type.String(), m.Name} }

// Ref returns the Ref of a persistence profile.
func (p *Persistence) Ref() Ref { return Ref{KindPersistence, p.Type.String(), p.Name} }
