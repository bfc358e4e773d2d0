package pools

// Predictive methods (predictive-member, predictive-node) rank members like
// the observed methods (observed.go) but by where the connection count is
// heading: the score is the count linearly extrapolated one sample ahead,
//
//	score = max(0, s + (s - prev)) = max(0, 2s - prev)
//
// where s is this Tick's sample and prev the previous one (score = s on the
// first Tick). A member whose load is falling thus gets a higher ratio than
// its current count alone would give it, one whose load is rising a lower.
func predictScore(s, prev int64, primed bool) int64 {
	if !primed {
		return s
	}
	return max(0, 2*s-prev)
}
