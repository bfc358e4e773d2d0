package fragtrack

import (
	"sync"
	"testing"
)

var k1 = Key{Src: 0x0a000001, Dst: 0x0a000002, ID: 7, Proto: 17}

// later is one call of Later and what it must return.
type later struct {
	lo, hi    uint32
	more      bool
	at        int64
	want      Verdict
	val       int // checked when want is OK
	forgotten int
}

// TestTableLater: a datagram's later fragments are placed against its
// first, overlaps and malformed fragments are refused and poison the rest
// of the datagram, and a datagram is forgotten once complete or expired.
func TestTableLater(t *testing.T) {
	tests := []struct {
		name    string
		firstHi uint32 // 0: no first fragment
		steps   []later
		tracked int
	}{{
		name:    "in order, forgotten when complete",
		firstHi: 1480,
		steps:   []later{{lo: 1480, hi: 2960, more: true, want: OK, val: 42}, {lo: 2960, hi: 3011, want: OK, val: 42}},
		tracked: 0,
	}, {
		name:    "out of order after the first",
		firstHi: 1480,
		steps:   []later{{lo: 2960, hi: 3011, want: OK, val: 42}, {lo: 1480, hi: 2960, more: true, want: OK, val: 42}},
		tracked: 0,
	}, {
		name:    "no first fragment",
		steps:   []later{{lo: 1480, hi: 2960, more: true, want: NoFirst}},
		tracked: 0,
	}, {
		name:    "duplicate overlaps and poisons the datagram",
		firstHi: 1480,
		steps: []later{
			{lo: 1480, hi: 2960, more: true, want: OK, val: 42},
			{lo: 1480, hi: 2960, more: true, want: Overlap},
			{lo: 2960, hi: 3011, want: Overlap},
		},
		tracked: 1,
	}, {
		name:    "past the end a last fragment gave",
		firstHi: 1480,
		steps:   []later{{lo: 2960, hi: 3011, want: OK, val: 42}, {lo: 3011, hi: 3019, more: true, want: Malformed}},
		tracked: 1,
	}, {
		name:    "last fragment before data already seen",
		firstHi: 1480,
		steps:   []later{{lo: 2960, hi: 3000, more: true, want: OK, val: 42}, {lo: 1480, hi: 1488, want: Malformed}},
		tracked: 1,
	}, {
		name:    "too many holes",
		firstHi: 8,
		steps: func() []later {
			var s []later
			for i := range MaxHoles - 1 {
				lo := uint32(16 * (i + 1))
				s = append(s, later{lo: lo, hi: lo + 8, more: true, want: OK, val: 42})
			}
			return append(s, later{lo: 16 * MaxHoles, hi: 16*MaxHoles + 8, more: true, want: Malformed})
		}(),
		tracked: 1,
	}, {
		name:    "expired: forgotten and counted",
		firstHi: 1480,
		steps: []later{
			{lo: 1480, hi: 2960, more: true, at: int64(Timeout), want: OK, val: 42},
			{lo: 2960, hi: 3011, at: int64(Timeout) + 1, want: NoFirst, forgotten: 1},
		},
		tracked: 0,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tb Table[int]
			if tt.firstHi > 0 {
				if n, ok := tb.First(k1, tt.firstHi, 0, 42); !ok || n != 0 {
					t.Fatalf("First = %d, %v; want 0, true", n, ok)
				}
			}
			for i, s := range tt.steps {
				v, r, n := tb.Later(k1, s.lo, s.hi, s.more, s.at)
				if r != s.want || n != s.forgotten || r == OK && v != s.val {
					t.Fatalf("step %d: Later(%d, %d, %v) = %d, %d, %d; want %d, %d, %d", i, s.lo, s.hi, s.more, v, r, n, s.val, s.want, s.forgotten)
				}
			}
			if got := tb.Len(); got != tt.tracked {
				t.Errorf("%d datagrams tracked, want %d", got, tt.tracked)
			}
		})
	}
}

// TestTableFirst: a new first fragment under a tracked key (the id
// wrapped) replaces the old datagram and counts it; a full table refuses a
// new datagram until its datagrams expire; Sweep forgets the expired.
func TestTableFirst(t *testing.T) {
	var tb Table[int]
	tb.First(k1, 1480, 0, 1)
	if n, ok := tb.First(k1, 1480, 10, 2); !ok || n != 1 {
		t.Fatalf("second First under one key = %d, %v; want 1, true", n, ok)
	}
	if v, r, _ := tb.Later(k1, 1480, 1500, false, 20); r != OK || v != 2 {
		t.Fatalf("Later after the wrap = %d, %d; want 2, OK", v, r)
	}

	tb = Table[int]{}
	for i := range MaxDatagrams {
		if n, ok := tb.First(Key{Src: uint32(i), ID: uint16(i), Proto: 17}, 8, int64(i), i); !ok || n != 0 {
			t.Fatalf("datagram %d: First = %d, %v", i, n, ok)
		}
	}
	k := Key{Src: 1 << 20, Proto: 17}
	// Datagram 0 (first fragment at 0) has expired, and only it.
	if n, ok := tb.First(k, 8, int64(Timeout)+1, 0); !ok || n != 1 {
		t.Fatalf("First on a full table = %d, %v; want 1 forgotten, then room", n, ok)
	}
	if n, ok := tb.First(Key{Src: 2 << 20, Proto: 17}, 8, int64(Timeout)+1, 0); ok || n != 0 {
		t.Fatalf("First on a full table with nothing expired = %d, %v; want 0, false", n, ok)
	}
	// Datagrams 1 to 9 have expired.
	if got := tb.Sweep(int64(Timeout) + 10); got != 9 {
		t.Errorf("Sweep forgot %d, want 9", got)
	}
	if got := tb.Len(); got != MaxDatagrams-9 {
		t.Errorf("%d tracked after Sweep, want %d", got, MaxDatagrams-9)
	}
}

// TestTableConcurrent: First, Later and Sweep from several goroutines
// (run with -race) keep the table within its bound and consistent.
func TestTableConcurrent(t *testing.T) {
	var tb Table[int]
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				k := Key{Src: uint32(g), ID: uint16(i), Proto: 17}
				now := int64(i) // goroutines are not in step: nothing may expire
				tb.First(k, 8, now, i)
				if v, r, _ := tb.Later(k, 8, 16, false, now); r != OK || v != i {
					t.Errorf("goroutine %d datagram %d: Later = %d, %d", g, i, v, r)
					return
				}
				if i%100 == 0 {
					tb.Sweep(now)
				}
			}
		})
	}
	wg.Wait()
	if n := tb.Len(); n != 0 {
		t.Errorf("%d datagrams tracked after every one completed", n)
	}
}
