package main

import (
	"math"
	"slices"
)

// summary is the spread of one quantity over the rounds.
type summary struct {
	Median, Min, Max float64
	N                int
}

// summarize returns the median, min and max of xs, ignoring NaN (a round
// whose ratio is undefined). With no value left every field is NaN.
func summarize(xs []float64) summary {
	v := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		nan := math.NaN()
		return summary{Median: nan, Min: nan, Max: nan}
	}
	slices.Sort(v)
	n := len(v)
	med := v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return summary{Median: med, Min: v[0], Max: v[n-1], N: n}
}

// ratios divides a by b round by round: a[i]/b[i]. A round where either
// side is missing or b is not positive gives NaN, which summarize skips.
func ratios(a, b []float64) []float64 {
	n := max(len(a), len(b))
	out := make([]float64, n)
	for i := range out {
		if i >= len(a) || i >= len(b) || b[i] <= 0 || math.IsNaN(a[i]) || math.IsNaN(b[i]) {
			out[i] = math.NaN()
			continue
		}
		out[i] = a[i] / b[i]
	}
	return out
}
