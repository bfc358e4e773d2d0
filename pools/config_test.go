package pools

import (
	"errors"
	"testing"
	"time"
)

// Equal decides whether the dataplane keeps a running pool across an
// apply: any difference in what NewPool builds from counts.
func TestPoolConfigEqual(t *testing.T) {
	base := func() *PoolConfig {
		ms := mems(3)
		for i := range ms {
			ms[i].Stats = nil // as compiled: no runtime attachments
		}
		return &PoolConfig{Name: "/Common/p", Method: MethodRoundRobin, Members: ms, SlowRamp: 10 * time.Second}
	}
	table := NewPersistTable(8)
	for _, tc := range []struct {
		name string
		edit func(c *PoolConfig)
		want bool
	}{
		{"same", func(*PoolConfig) {}, true},
		{"name", func(c *PoolConfig) { c.Name = "/Common/q" }, false},
		{"method", func(c *PoolConfig) { c.Method = MethodRatioMember }, false},
		{"min-active-members", func(c *PoolConfig) { c.MinActiveMembers = 1 }, false},
		{"slow ramp", func(c *PoolConfig) { c.SlowRamp = 0 }, false},
		{"persistence table", func(c *PoolConfig) { c.Sessions = table }, false},
		{"member ratio", func(c *PoolConfig) { c.Members[1].Ratio = 2 }, false},
		{"member disabled", func(c *PoolConfig) { c.Members[2].Disabled = true }, false},
		{"member order", func(c *PoolConfig) { c.Members[0], c.Members[1] = c.Members[1], c.Members[0] }, false},
		{"member removed", func(c *PoolConfig) { c.Members = c.Members[:2] }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(c)
			if got := base().Equal(c); got != tc.want {
				t.Errorf("Equal = %v, want %v", got, tc.want)
			}
			if got := c.Equal(base()); got != tc.want {
				t.Errorf("Equal (reversed) = %v, want %v", got, tc.want)
			}
		})
	}
	m1 := &PoolConfig{Method: MethodMaglev}
	m2 := &PoolConfig{Method: MethodMaglev, MaglevTableSize: DefaultMaglevTableSize}
	if !m1.Equal(m2) {
		t.Error("maglev-table-size 0 and the default differ")
	}
	var none *PoolConfig
	if !none.Equal(nil) || none.Equal(base()) || base().Equal(nil) {
		t.Error("nil configurations compare wrongly")
	}
}

// Validate finds what NewPool refuses, without building.
func TestPoolConfigValidate(t *testing.T) {
	dup := mems(2)
	dup[1].Addr, dup[1].Port = dup[0].Addr, dup[0].Port
	for _, tc := range []struct {
		name string
		cfg  PoolConfig
		want error
	}{
		{"ok", PoolConfig{Members: mems(3)}, nil},
		{"no such method", PoolConfig{Method: numMethods}, ErrNoMethod},
		{"duplicate member", PoolConfig{Members: dup}, ErrDuplicateMember},
		{"maglev table not prime", PoolConfig{Method: MethodMaglev, MaglevTableSize: 100}, ErrMaglevTableSize},
		{"maglev table too small", PoolConfig{Method: MethodMaglev, MaglevTableSize: 3, Members: mems(3)}, ErrMaglevTableSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Validate = %v, want %v", err, tc.want)
			}
			_, nerr := NewPool(tc.cfg)
			if (err == nil) != (nerr == nil) {
				t.Errorf("NewPool = %v, but Validate = %v", nerr, err)
			}
		})
	}
}
