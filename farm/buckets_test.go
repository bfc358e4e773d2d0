package farm

import (
	"fmt"
	"net/netip"
	"testing"
)

func names(n int) []string {
	var m []string
	for i := range n {
		m = append(m, fmt.Sprintf("10.0.0.%d:7946", i+1))
	}
	return m
}

// reference is the plainest rendezvous hash: for each bucket, compute
// every member's weight and keep the largest.
func reference(members []string) [Buckets]string {
	var owner [Buckets]string
	for b := range Buckets {
		var bestW uint64
		for _, m := range members {
			var s uint64 = 0xcbf29ce484222325
			for _, c := range []byte(m) {
				s ^= uint64(c)
				s *= 0x100000001b3
			}
			w := mix64(s ^ (uint64(b)+1)*0x9e3779b97f4a7c15)
			if owner[b] == "" || w > bestW || (w == bestW && m < owner[b]) {
				owner[b], bestW = m, w
			}
		}
	}
	return owner
}

// Assign agrees with the reference, whatever the members' order; a join
// moves only buckets to the joiner, a leave only the leaver's buckets;
// shares of 2 to 8 members stay within a third of the even share.
func TestAssign(t *testing.T) {
	for n := 1; n <= 8; n++ {
		m := names(n)
		got := Assign(m)
		rev := append([]string(nil), m...)
		for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		if got != reference(m) || Assign(rev) != got {
			t.Fatalf("%d members: Assign differs from the reference or depends on order", n)
		}
		even := Buckets / n
		for name, s := range Share(got) {
			if n > 1 && (s < even*2/3 || s > even*4/3) {
				t.Errorf("%d members: %s owns %d buckets, even share %d", n, name, s, even)
			}
		}
		if len(Share(got)) != n {
			t.Errorf("%d members: only %d own buckets", n, len(Share(got)))
		}
		if n == 1 {
			continue
		}
		// Leave: the last member goes.
		after := Assign(m[:n-1])
		for b := range Buckets {
			if got[b] != m[n-1] && after[b] != got[b] {
				t.Errorf("%d→%d members: bucket %d moved from %s to %s though its owner stayed", n, n-1, b, got[b], after[b])
			}
			// Read the other way, this is a join of m[n-1].
			if after[b] != got[b] && got[b] != m[n-1] {
				t.Errorf("join of %s: bucket %d moved between others", m[n-1], b)
			}
		}
	}
	if Assign(nil) != ([Buckets]string{}) {
		t.Error("no members own something")
	}
}

// BucketOf spreads addresses and, for on_port, ports of one address.
func TestBucketOf(t *testing.T) {
	seen := map[int]bool{}
	for i := range 1024 {
		seen[BucketOf(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 0, OnAddr)] = true
	}
	if len(seen) < Buckets*9/10 {
		t.Errorf("1024 addresses fill %d buckets", len(seen))
	}
	seen = map[int]bool{}
	a := netip.MustParseAddr("198.18.1.1")
	for p := 40000; p < 41024; p++ {
		seen[BucketOf(a, uint16(p), OnPort)] = true
	}
	if len(seen) < Buckets*9/10 {
		t.Errorf("1024 ports fill %d buckets", len(seen))
	}
	if BucketOf(a, 1, OnAddr) != BucketOf(a, 2, OnAddr) {
		t.Error("on_addr depends on the port")
	}
}
