package config

import (
	"fmt"
	"math"
	"strconv"
)

// Range is the values a numeric property may take.
type Range struct{ Lo, Hi uint32 }

// Check reports a value outside the range the way every dialect prints it.
func (r Range) Check(v uint32) error {
	if v < r.Lo || v > r.Hi {
		return fmt.Errorf("want a number from %d to %d", r.Lo, r.Hi)
	}
	return nil
}

// PropRange is the range of a numeric property of an object of kind k, the
// one place the model's limits are written: the tmsh property tables read
// their ranges from it, and Validate checks objects built in code (the REST
// API, the Alteon dialect) against it. A property it does not know takes
// any uint32. Dialects may be stricter where the product they mimic is
// (Alteon's inter 1-600).
func PropRange(k Kind, prop string) Range {
	all := Range{0, math.MaxUint32}
	switch k {
	case KindNode, KindMember:
		switch prop {
		case "ratio":
			return Range{1, 100}
		case "priority-group":
			return Range{0, 65535}
		}
	case KindPool:
		switch prop {
		case "min-active-members", "reselect-tries":
			return Range{0, 65535}
		}
	case KindMonitor:
		switch prop {
		case "interval":
			return Range{1, 86400}
		case "up-interval":
			return Range{0, 86400}
		case "timeout":
			return Range{1, math.MaxUint32}
		case "alteon-retry", "alteon-restr":
			return Range{0, 1000}
		}
	}
	return all
}

// checkProp reports v of prop on obj when it is outside its range.
func checkProp(obj Ref, kind Kind, prop string, v uint32, add func(Ref, string, error)) {
	if err := PropRange(kind, prop).Check(v); err != nil {
		add(obj, prop+" "+strconv.FormatUint(uint64(v), 10), err)
	}
}
