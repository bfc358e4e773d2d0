// Package pools owns load-balancing decisions: the runtime form of a pool,
// its members and their availability, the load-balancing methods (one per
// file, behind the small selector interface), priority-group activation,
// slow ramp, and the persistence table with BIG-IP cookie encoding.
//
// It is pure logic: no I/O, no goroutines, no imports from the rest of lbx.
//
// Lifecycle: the control plane's compile validates one PoolConfig per pool
// (PoolConfig.Validate) and puts it, never to be written again, into the
// dataplane's Program. The dataplane builds the Pool with NewPool from a
// copy of it with the runtime attachments filled in, reads it concurrently,
// and keeps it — selection state included — across applies that leave its
// PoolConfig Equal. Live state is kept by identity outside the Pool and
// shared through pointers, so an apply that rebuilds a pool does not reset
// it: Health (written by the monitors), MemberStats and NodeStats
// (written by the dataplane), OperState (a node's runtime disable by the
// operator, Alteon's /oper/slb/dis; written by the control plane), and
// the PersistTable (one per appliance, written by Pick). Inside a Pool the only
// state that changes after build is atomic (the rotation cursor, slow-ramp
// counters, sampled weights) plus the Maglev table, rebuilt under a mutex
// when the member set changes, and Tick's samples, under a mutex.
//
// The dataplane calls, per new connection, Pool.Pick (or Pool.Select
// without persistence) with a per-goroutine Scratch; its flow table counts
// open connections in MemberStats and NodeStats, and it reports response
// times to both with ObserveRTT. About once a second it calls Pool.Tick
// for every pool and PersistTable.Expire. Selection does not allocate in steady
// state and takes no lock (except the Maglev rebuild and the persistence
// table's per-shard mutex).
package pools
