// Package spareproc gives a process that runs Go code on one P (GOMAXPROCS
// 1: lbx pinned to one core, or a one-CPU machine) a second P while the
// control plane does heavy work — a pushed script parsed, validated,
// compiled and installed — so that the dataplane's receive goroutines do
// not wait behind it.
//
// On one P, Go's scheduler switches goroutines itself: it preempts a busy
// goroutine only every 10 ms and, while one is busy, looks for goroutines
// the network woke only about as often. An apply of 100,000 members is
// seconds of such work; the receive goroutines waited up to tens of
// milliseconds at a time behind it, long enough for a TAP device's queue
// (500 frames: 25 ms at 20k packets/s) to overflow, and the bench's stream
// lost 17 % of its packets during the push. With a second P, the receive
// goroutine that the network wakes runs on a thread of its own, which the
// kernel wakes when the frame arrives and shares the core with fairly
// (docs/BENCHMARKS.md, "Applying 10,000 virtual servers").
//
// Hold takes the second P, if the process has one P, until its release is
// called; holds nest and overlap, and the last release gives the P back:
// GOMAXPROCS returns to the runtime's default, which follows the CPU
// affinity again. Outside holds the dataplane keeps its one P, the setting
// its throughput was measured with. GOMAXPROCS set in the environment is
// the operator's choice, and Hold leaves it alone.
//
// A hold also raises the garbage collector's target to HeavyGCPercent
// (GOGC 400) and the last release restores the previous one: an apply of
// 100,000 members allocates about 300 MB in one go, and at GOGC 100 the
// collector marked the growing heap six or seven times during it, its
// idle-priority workers running on the spare P and so taking the apply's
// core. At 400 it runs once or twice; the heap peaks about 100 MB higher
// for that push. GOGC set in the environment, or a target already higher,
// is left alone.
//
// Background lowers the kernel priority of the calling goroutine's thread
// for the rest of that goroutine's life (the control socket's goroutine of
// a large request), so that on a shared core a woken receive thread wins.
//
// Changing GOMAXPROCS stops the world for microseconds; a hold is for work
// of milliseconds and more (an apply, a pushed script), never per packet.
package spareproc
