// Package monitors owns health monitoring logic: monitor specs (Spec), the
// BIG-IP and Alteon timing semantics, rules that combine several monitors
// on one member, the probe scheduler, and per-member probe traces. It
// decides when to probe and what the verdicts mean; sending probes is a
// Prober's job. The crafted-packet and local-stack probers live with the
// dataplane and plug in through the Prober interface; this package brings
// the external-program prober (ExternalProber) and a scripted fake
// (FakeProber). It imports nothing else from lbx: the glue turns Changes
// into pools.Health (Checking, Up, Down, Disabled map one to one; a member
// without a check is "unchecked").
//
// # Lifecycle
//
// New starts a Scheduler with no checks. Update replaces the whole set of
// checks (one per monitored member, keyed by identity) after validating it,
// all or nothing; monitors whose Spec is Equal to the running one keep
// their state, timing and trace, so an apply does not reset health. Every
// transition of a member's combined state is passed to Config.OnChange and
// logged (only transitions are logged, never probes). Status, Statuses,
// Trace, LastProbe and ProbeLatencies (each monitor's histogram of probe
// durations, kept on the loop as results arrive) read the state; Resume
// lifts manual-resume holds.
// Close stops everything and waits.
//
// # Goroutines
//
// One loop goroutine owns all state and runs every event: timer expiries,
// probe results, Update and Resume. Probes run on a pool of worker
// goroutines, started as probes need them up to Config.MaxConcurrent and
// kept until Close, so their stacks stay grown (at most MaxConcurrent
// probes run at once; the rest queue), each probe with a context whose
// deadline is the probe's own: under BIG-IP semantics min(current interval,
// Timeout), so probes of one monitor never overlap; under Alteon semantics
// Timeout (the next probe waits for the previous one). Results go back to
// the loop. Time comes from a clock.Clock: tests use clock.Manual with
// AdvanceSettled and Scheduler.WaitIdle to step deterministically.
//
// # BIG-IP semantics (Spec.Alteon false)
//
//   - A member starts checking (not available). Its first probe is delayed
//     by StaggerOffset, a hash of key and monitor within one interval.
//   - Probes start every Interval, every UpInterval while up and passing.
//   - Down when no Success or Disable verdict arrived for Timeout: at
//     last answer + Timeout, or start + Timeout if none. Failures alone
//     never mark down early. While up with UpInterval > Interval the
//     skipped probes do not count: the deadline moves by UpInterval-Interval.
//   - A Success brings a checking or down member up; with TimeUntilUp, only
//     once successes have run uninterrupted that long (a Failure or
//     Disable restarts the streak; judged as each probe arrives).
//     TimeUntilUp does not delay disabled -> up.
//   - Disable (recv-disable matched) makes the member disabled: it keeps
//     its connections and takes no new ones; a Success brings it back up.
//   - ManualResume: a member that goes down after having been up or
//     disabled stays down, whatever its probes say, until Resume; it then
//     comes up at once if its last verdict allows (and TimeUntilUp has been
//     served), or at the next good probe. A member that never came up does
//     not need a resume.
//
// # Alteon semantics (Spec.Alteon true)
//
// Probes start every Interval, each waits at most Timeout. The first
// verdict decides a checking member (success: up, failure: down); after
// that Retries consecutive failures take it down and Restore consecutive
// successes bring it back. UpInterval and TimeUntilUp do not apply;
// Disable and ManualResume work as above.
//
// # Rules
//
// A member's monitors combine as Rule.Min 0 ("and"): down if any is down,
// else checking if any is checking, else disabled if any is disabled, else
// up; or "min N of": up when at least N are up, disabled when at least N
// are up or disabled, checking while the checking ones could still make N,
// down otherwise.
//
// # Close handling of tcp probes
//
// Spec.CloseCheck tells a tcp Prober how to judge a RST in answer to its
// FIN after a completed handshake (IIS 7.0 does this): CloseLenient
// passes, CloseLegacy fails with ReasonRSTAfterFIN as Alteon firmware
// before 23.2.9 did.
package monitors
