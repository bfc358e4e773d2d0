package prealloc

import "maps"

// Grown returns m, or a copy of it sized for n entries when n is more than
// twice what it holds, so that adding them does not grow it step by step.
// A smaller addition is left to grow m itself.
func Grown[K comparable, V any](m map[K]V, n int) map[K]V {
	if n <= 2*len(m) {
		return m
	}
	out := make(map[K]V, n)
	maps.Copy(out, m)
	return out
}

// Take hands out the next value of *free, a new slice of n values first
// when it is empty: a batch of new objects (a pool's new members' state)
// costs one allocation, not one each. A value keeps its whole slice alive,
// so n should be about the batch's size.
func Take[T any](free *[]T, n int) *T {
	if len(*free) == 0 {
		*free = make([]T, max(n, 1))
	}
	v := &(*free)[0]
	*free = (*free)[1:]
	return v
}
