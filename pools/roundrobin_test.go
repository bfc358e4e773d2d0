package pools

import (
	"sync"
	"testing"
)

func TestRoundRobinOrder(t *testing.T) {
	var rr RoundRobin
	var got []int
	for range 7 {
		got = append(got, rr.Pick(3))
	}
	want := []int{0, 1, 2, 0, 1, 2, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pick order = %v, want %v", got, want)
		}
	}
	if i := rr.Pick(0); i != -1 {
		t.Fatalf("Pick(0) = %d, want -1", i)
	}
}

func TestRoundRobinConcurrentEvenShare(t *testing.T) {
	var rr RoundRobin
	const workers, each = 4, 3000
	counts := make([][3]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				counts[w][rr.Pick(3)]++
			}
		}()
	}
	wg.Wait()
	var total [3]int
	for _, c := range counts {
		for i := range c {
			total[i] += c[i]
		}
	}
	for i, c := range total {
		if c != workers*each/3 {
			t.Fatalf("member %d got %d picks, want exactly %d (totals %v)", i, c, workers*each/3, total)
		}
	}
}

func TestPoolSelectEmpty(t *testing.T) {
	var p *Pool
	if _, ok := p.Select(); ok {
		t.Fatal("nil pool selected a member")
	}
	p = &Pool{Name: "p", Selector: &RoundRobin{}}
	if _, ok := p.Select(); ok {
		t.Fatal("empty pool selected a member")
	}
}
