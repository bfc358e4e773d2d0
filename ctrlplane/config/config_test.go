package config

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// sample is a small configuration built in code, as the REST API will.
func sample() *Config {
	c := NewConfig()
	n := NewNode("/Common/n1")
	n.Address = netip.MustParseAddr("10.0.0.1")
	c.Nodes[n.Name] = n
	p := NewPool("/Common/p")
	p.Members = append(p.Members, NewMember(n.Name, 80))
	p.Monitor = MonitorRule{Names: []string{"/Common/m"}}
	c.Pools[p.Name] = p
	m := &Monitor{Name: "/Common/m", Type: MonitorHTTP}
	c.Monitors[m.Name] = m
	child := &Monitor{Name: "/Common/m2", Type: MonitorHTTP, DefaultsFrom: "/Common/m"}
	c.Monitors[child.Name] = child
	v := NewVirtual("/Common/vs")
	v.Destination = netip.MustParseAddrPort("198.18.1.100:80")
	v.Pool = p.Name
	c.Virtuals[v.Name] = v
	c.ApplyDefaults()
	return c
}

func TestInUse(t *testing.T) {
	c := sample()
	tests := []struct {
		ref  Ref
		want string // "" for not in use
	}{
		{Ref{Kind: KindPool, Name: "/Common/p"}, "01070265:3: The Pool (/Common/p) cannot be deleted because it is in use by a Virtual Server (/Common/vs)."},
		{Ref{Kind: KindNode, Name: "/Common/n1"}, "01070110:3: Node address '/Common/n1' is referenced by a member of pool '/Common/p'."},
		{Ref{Kind: KindMonitor, Type: "http", Name: "/Common/m"}, "01070083:3: Monitor /Common/m is in use by ltm pool /Common/p."},
		{Ref{Kind: KindMonitor, Type: "http", Name: "/Common/m2"}, ""},
		{Ref{Kind: KindVirtual, Name: "/Common/vs"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.ref.String(), func(t *testing.T) {
			err := c.InUse(tt.ref)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("InUse = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("InUse = %v, want %q", err, tt.want)
			}
			var iu *InUseError
			if !errors.Is(err, ErrInUse) || !errors.As(err, &iu) || iu.Ref != tt.ref {
				t.Errorf("InUse error %#v does not classify as ErrInUse about %v", err, tt.ref)
			}
		})
	}
	// Once the pool no longer uses it, the monitor is blocked by its child.
	c.Pools["/Common/p"].Monitor = MonitorRule{}
	err := c.InUse(Ref{Kind: KindMonitor, Type: "http", Name: "/Common/m"})
	if want := "01070083:3: Monitor /Common/m is in use by ltm monitor http /Common/m2 (defaults-from)."; err == nil || err.Error() != want {
		t.Errorf("InUse = %v, want %q", err, want)
	}
}

func TestCodedErrors(t *testing.T) {
	tests := []struct {
		err     Coded
		class   error
		code    string
		message string
	}{
		{&NotFoundError{Ref{Kind: KindPool, Name: "/Common/x"}}, ErrNotFound, "01020036:3", "The requested Pool (/Common/x) was not found."},
		{&ExistsError{Ref{Kind: KindVirtual, Name: "/Common/vs"}}, ErrExists, "01020066:3", "The requested Virtual Server (/Common/vs) already exists in partition Common."},
		{&ExistsError{Ref{Kind: KindMember, Name: "/Common/p /Common/n:80"}}, ErrExists, "01020066:3", "The requested Pool Member (/Common/p /Common/n:80) already exists in partition Common."},
		{&BuiltinError{Ref{Kind: KindMonitor, Type: "http", Name: "/Common/http"}}, ErrBuiltin, "01070712:3", "The Monitor (/Common/http) is built in; it cannot be modified or deleted."},
		{&ConflictError{Base: 3, Current: 5}, ErrConflict, "01070734:3", "it was based on configuration version 3, but another session has since applied version 5; nothing was changed"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if !errors.Is(tt.err, tt.class) {
				t.Errorf("%v is not %v", tt.err, tt.class)
			}
			for _, other := range []error{ErrNotFound, ErrExists, ErrInUse, ErrBuiltin, ErrInvalid, ErrConflict} {
				if other != tt.class && errors.Is(tt.err, other) {
					t.Errorf("%v is also %v", tt.err, other)
				}
			}
			if tt.err.Code() != tt.code || tt.err.Message() != tt.message {
				t.Errorf("code %q message %q, want %q %q", tt.err.Code(), tt.err.Message(), tt.code, tt.message)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	if err := Validate(sample(), Env{}); err != nil {
		t.Fatalf("sample does not validate: %v", err)
	}
	c := sample()
	c.Virtuals["/Common/vs"].Pool = "/Common/nope"
	c.Pools["/Common/p"].Members[0].Ratio = 500
	err := Validate(c, Env{SelfIPs: map[netip.Addr]string{netip.MustParseAddr("198.18.1.100"): "/Common/self"}})
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrNoSuchPool) {
		t.Fatalf("Validate = %v, want ErrInvalid and ErrNoSuchPool", err)
	}
	for _, want := range []string{
		"ltm pool /Common/p: members /Common/n1:80 ratio 500: want a number from 1 to 100",
		"ltm virtual /Common/vs: destination /Common/198.18.1.100:80: address is self IP /Common/self",
		"ltm virtual /Common/vs: pool /Common/nope: no such pool",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v\nwant it to contain %q", err, want)
		}
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Obj.Kind != KindPool || ve.Obj.Name != "/Common/p" {
		t.Errorf("first error %#v: want one about ltm pool /Common/p", ve)
	}
	if c.Virtuals["/Common/vs"].Pool != "/Common/nope" {
		t.Error("Validate changed its input")
	}

	// A value out of its range, from code (as REST will send it), is
	// refused in the words the tmsh parser uses.
	c = sample()
	c.Monitors["/Common/m"].Interval = Some[uint32](0)
	err = Validate(c, Env{})
	if want := "ltm monitor http /Common/m: interval 0: want a number from 1 to 86400"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Validate = %v, want %q", err, want)
	}
	if r := PropRange(KindMonitor, "interval"); r != (Range{1, 86400}) {
		t.Errorf("interval range %v", r)
	}
}
