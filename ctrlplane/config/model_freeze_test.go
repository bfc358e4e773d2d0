package config

import (
	"net/netip"
	"slices"
	"testing"
)

// A frozen configuration lists what an unfrozen one does, as new slices,
// and after thaw the lists follow the maps again.
func TestFreezeLists(t *testing.T) {
	c := &Config{}
	c.EnsureMaps()
	for i := range 50 {
		a := netip.AddrFrom4([4]byte{198, 19, 0, byte(200 - i)})
		n := NewNode("/Common/" + a.String())
		n.Address = a
		c.Nodes[n.Name] = n
		p := NewPool("/Common/p" + a.String())
		c.Pools[p.Name] = p
	}
	nodes, pools, virtuals := c.NodeList(), c.PoolList(), c.VirtualList()
	thaw := Freeze(c)
	if got := c.NodeList(); !slices.Equal(got, nodes) {
		t.Fatalf("frozen NodeList differs")
	}
	if got := c.PoolList(); !slices.Equal(got, pools) || !slices.Equal(c.VirtualList(), virtuals) {
		t.Fatalf("frozen PoolList or VirtualList differs")
	}
	l := c.NodeList()
	l[0] = nil // a caller's slice is its own
	if c.NodeList()[0] == nil {
		t.Fatal("NodeList of a frozen config returned a shared slice")
	}
	other := c.Clone() // another configuration is not frozen
	delete(other.Nodes, nodes[0].Name)
	if got := len(other.NodeList()); got != len(nodes)-1 {
		t.Fatalf("a clone of a frozen config lists %d nodes, want %d", got, len(nodes)-1)
	}
	thaw()
	thaw() // twice: nothing more
	delete(c.Nodes, nodes[0].Name)
	if got := c.NodeList(); len(got) != len(nodes)-1 || got[0] != nodes[1] {
		t.Fatalf("after thaw NodeList has %d nodes, want %d without the first", len(got), len(nodes)-1)
	}
}
