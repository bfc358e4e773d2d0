package config

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestDefaultsMatchesApplyDefaults is a differential test of Defaults
// against the naive reference, ApplyDefaults over the whole Config after
// every edit (what a transaction did before): over random scripts of
// creates, puts, modifies and deletes of pools (members giving an address,
// named by one, or named by a node that does not exist yet), nodes,
// monitors, persistence profiles and virtual servers, the two Configs are
// equal after every edit.
func TestDefaultsMatchesApplyDefaults(t *testing.T) {
	opts := []cmp.Option{cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}, netip.Prefix{}), cmpopts.EquateEmpty()}
	for seed := range uint64(24) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 12))
			inc, ref := NewConfig(), NewConfig()
			if seed%2 == 1 {
				// Start from a Config that is not complete: the first
				// edit completes all of it.
				for _, c := range []*Config{inc, ref} {
					p := NewPool("/Common/start")
					m := NewMember("/Common/10.9.0.1", 80)
					m.Ratio = 0
					p.Members = append(p.Members, m)
					c.Pools[p.Name] = p
					c.Virtuals["/Common/vs"] = &Virtual{Name: "/Common/vs", Destination: netip.MustParseAddrPort("10.8.0.1:80")}
				}
			}
			var d Defaults
			for step := range 200 {
				edit := randomEdit(rng)
				errInc := edit.apply(inc)
				errRef := edit.apply(ref)
				if (errInc == nil) != (errRef == nil) {
					t.Fatalf("step %d %s: error %v, reference %v", step, edit.what, errInc, errRef)
				}
				if errInc != nil {
					continue
				}
				d.Edited(inc, edit.ref)
				ref.ApplyDefaults()
				if reflect.DeepEqual(ref, inc) {
					continue
				}
				if diff := cmp.Diff(ref, inc, opts...); diff != "" {
					t.Fatalf("step %d %s: Defaults differs from ApplyDefaults (-want +got):\n%s", step, edit.what, diff)
				}
			}
		})
	}
}

// randomEdit is one edit of a random script.
type randEdit struct {
	what  string
	ref   Ref
	apply func(c *Config) error
}

func randomEdit(rng *rand.Rand) randEdit {
	// A few names, so edits meet: a member's node is one of 12, half of
	// them named by their address.
	nodeName := func() string {
		i := rng.IntN(12)
		if i < 6 {
			return fmt.Sprintf("/Common/10.0.0.%d", i)
		}
		return fmt.Sprintf("/Common/srv%d", i)
	}
	member := func() Member {
		m := NewMember(nodeName(), uint16(80+rng.IntN(3)))
		if rng.IntN(3) == 0 {
			m.Address = netip.AddrFrom4([4]byte{10, 1, 0, byte(rng.IntN(12))})
		}
		if rng.IntN(4) == 0 {
			m.Ratio = 0
		}
		return m
	}
	pool := func(name string) *Pool {
		p := NewPool(name)
		for range rng.IntN(4) {
			p.Members = append(p.Members, member())
		}
		return p
	}
	poolName := fmt.Sprintf("/Common/p%d", rng.IntN(8))
	switch rng.IntN(9) {
	case 0, 1:
		p := pool(poolName)
		return randEdit{"create pool " + poolName, p.Ref(), func(c *Config) error { return c.Create(p) }}
	case 2:
		p := pool(poolName)
		return randEdit{"put pool " + poolName, p.Ref(), func(c *Config) error { return c.Put(p) }}
	case 3:
		m := member()
		r := Ref{Kind: KindPool, Name: poolName}
		return randEdit{"modify pool " + poolName + " add " + m.Name(), r, func(c *Config) error {
			return c.Modify(r, func(o Object) error {
				p := o.(*Pool)
				p.Members = append(p.Members, m)
				return nil
			})
		}}
	case 4:
		r := Ref{Kind: KindPool, Name: poolName}
		return randEdit{"delete pool " + poolName, r, func(c *Config) error { return c.Delete(r) }}
	case 5:
		n := NewNode(nodeName())
		n.Address = netip.AddrFrom4([4]byte{10, 2, 0, byte(rng.IntN(12))})
		if rng.IntN(2) == 0 {
			n.Ratio = 0
		}
		return randEdit{"put node " + n.Name, n.Ref(), func(c *Config) error { return c.Put(n) }}
	case 6:
		r := Ref{Kind: KindNode, Name: nodeName()}
		return randEdit{"delete node " + r.Name, r, func(c *Config) error { return c.Delete(r) }}
	case 7:
		if rng.IntN(2) == 0 {
			p := &Persistence{Name: fmt.Sprintf("/Common/pe%d", rng.IntN(3)), Type: PersistSourceAddr}
			return randEdit{"put persistence " + p.Name, p.Ref(), func(c *Config) error { return c.Put(p) }}
		}
		m := &Monitor{Name: fmt.Sprintf("/Common/m%d", rng.IntN(3)), Type: MonitorHTTP}
		return randEdit{"put monitor " + m.Name, m.Ref(), func(c *Config) error { return c.Put(m) }}
	default:
		v := NewVirtual(fmt.Sprintf("/Common/v%d", rng.IntN(4)))
		v.Destination = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 3, 0, byte(rng.IntN(4))}), 80)
		return randEdit{"put virtual " + v.Name, v.Ref(), func(c *Config) error { return c.Put(v) }}
	}
}
