package main

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSummarize(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		in   []float64
		want summary
	}{
		{name: "odd", in: []float64{3, 1, 2}, want: summary{Median: 2, Min: 1, Max: 3, N: 3}},
		{name: "even", in: []float64{4, 1, 3, 2}, want: summary{Median: 2.5, Min: 1, Max: 4, N: 4}},
		{name: "one", in: []float64{7}, want: summary{Median: 7, Min: 7, Max: 7, N: 1}},
		{name: "NaN skipped", in: []float64{nan, 5, 1, nan, 3}, want: summary{Median: 3, Min: 1, Max: 5, N: 3}},
		{name: "none", in: nil, want: summary{Median: nan, Min: nan, Max: nan}},
		{name: "all NaN", in: []float64{nan}, want: summary{Median: nan, Min: nan, Max: nan}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			got := summarize(in)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("summarize(%v) mismatch (-want +got):\n%s", tc.in, diff)
			}
			if diff := cmp.Diff(tc.in, in, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("summarize changed its input:\n%s", diff)
			}
		})
	}
}

func TestRatios(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		a, b []float64
		want []float64
	}{
		{name: "per round", a: []float64{10, 20, 30}, b: []float64{20, 20, 10}, want: []float64{0.5, 1, 3}},
		{name: "zero divisor", a: []float64{1, 2}, b: []float64{0, 4}, want: []float64{nan, 0.5}},
		{name: "uneven", a: []float64{1, 2, 3}, b: []float64{2}, want: []float64{0.5, nan, nan}},
		{name: "NaN input", a: []float64{nan}, b: []float64{1}, want: []float64{nan}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ratios(tc.a, tc.b)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("ratios mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// The median of per-round ratios is not the ratio of medians: a round where
// both sides dipped together must not count as a dip of one of them.
func TestMedianOfPerRoundRatios(t *testing.T) {
	lbx := []float64{100, 50, 100}
	peer := []float64{200, 100, 200}
	got := summarize(ratios(lbx, peer))
	want := summary{Median: 0.5, Min: 0.5, Max: 0.5, N: 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}
