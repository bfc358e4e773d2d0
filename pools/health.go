package pools

import "sync/atomic"

// HealthState is what the monitors last concluded about a member.
type HealthState uint32

// Health states. A member with no monitor stays HealthUnchecked and counts as
// available; HealthDisabled is a monitor's recv-disable match: the member
// keeps its connections and persisted clients but takes no new ones.
const (
	HealthUnchecked HealthState = iota
	HealthChecking              // monitored, no verdict yet: not available
	HealthUp
	HealthDown
	HealthDisabled
)

var healthNames = [...]string{"unchecked", "checking", "up", "down", "disabled"}

func (s HealthState) String() string {
	if int(s) < len(healthNames) {
		return healthNames[s]
	}
	return "unknown"
}

// Health is a member's monitor-driven availability: written by the monitor
// engine on a transition, read by the dataplane for every new connection.
// It packs the state and the monotonic time (ns) it was entered into one
// word so readers never see a torn pair. It is kept by member identity
// across configuration applies.
type Health struct {
	v     atomic.Uint64
	dr    atomic.Uint32 // dynamic ratio a monitor reported; 0 = none
	watch atomic.Pointer[HealthWatch]
}

// A HealthWatch is a Health's watcher (see SetWatch). Changed is called
// with the watch itself, so that one function serves every member and
// the watch says which member changed: a caller making many Healths (the
// dataplane, 100,000 members in one apply) allocates their watches
// together instead of a closure per member.
type HealthWatch struct {
	Changed      func(w *HealthWatch, from, to HealthState)
	Pool, Member string // the watched member, for Changed
}

// Set records a state entered at mono, a monotonic nanosecond time (the
// same clock the dataplane's Request.Now uses). Only the low 60 bits of mono
// are kept (about 36 years). When the state changes, the watcher (see
// Watch) is called before Set returns.
func (h *Health) Set(s HealthState, mono int64) {
	old := h.v.Swap(uint64(mono)<<4>>4 | uint64(s&0xf)<<60)
	if from := HealthState(old >> 60); from != s {
		if w := h.watch.Load(); w != nil {
			w.Changed(w, from, s)
		}
	}
}

// Watch registers fn to be called, in the goroutine calling Set, on every
// state change; nil removes it. There is one watcher: the dataplane's,
// which acts on a member's connections when it goes down. fn must not
// block.
func (h *Health) Watch(fn func(from, to HealthState)) {
	if fn == nil {
		h.watch.Store(nil)
		return
	}
	h.SetWatch(&HealthWatch{Changed: func(_ *HealthWatch, from, to HealthState) { fn(from, to) }})
}

// SetWatch is Watch with a HealthWatch the caller made; w must not change
// after, and nil removes the watcher.
func (h *Health) SetWatch(w *HealthWatch) { h.watch.Store(w) }

// Get returns the state and the monotonic time it was entered. A nil Health
// is unchecked since time 0.
func (h *Health) Get() (HealthState, int64) {
	if h == nil {
		return HealthUnchecked, 0
	}
	v := h.v.Load()
	return HealthState(v >> 60), int64(v << 4 >> 4)
}

// State returns the state alone.
func (h *Health) State() HealthState {
	s, _ := h.Get()
	return s
}

// SetDynamicRatio records the member's dynamic ratio as measured by a
// monitor (for dynamic-ratio-member); 0 clears it, so the member's
// configured Ratio applies again.
func (h *Health) SetDynamicRatio(r uint32) { h.dr.Store(r) }

// DynamicRatio returns the ratio SetDynamicRatio recorded, 0 for none. A nil
// Health has none.
func (h *Health) DynamicRatio() uint32 {
	if h == nil {
		return 0
	}
	return h.dr.Load()
}
