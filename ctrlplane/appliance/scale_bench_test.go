package appliance_test

import (
	"syscall"
	"testing"
	"time"

	"lbx/ctrlplane/appliance"
)

// BenchmarkApplyScale pushes the bench's scale script (bench/scale.go:
// 10,000 virtual servers, each with its own pool of ten members over
// 50,000 nodes; 20,000 lines) into a new appliance over porttest ports,
// as the control socket's push does (tmsh Dialect.Push: statements,
// checks, compile, install into the engine, monitor plan). Only the push
// is timed, and cpu-ns/op is the process's CPU time over it; each
// iteration starts from an empty appliance. Profile it so
// (docs/BENCHMARKS.md, "Applying 10,000 virtual servers"):
//
//	go test -run '^$' -bench ApplyScale -benchmem -count 5 -cpuprofile cpu.out ./ctrlplane/appliance
func BenchmarkApplyScale(b *testing.B) {
	const virtuals, perPool = 10_000, 10
	script := scaleScript(virtuals, perPool)
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		app := oneArmed(b, appliance.Config{})
		b.StartTimer()
		before := processCPU(b)
		if _, err := app.Push(script); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU(b) - before
		b.StopTimer()
		if got := len(app.Engine().Program().Virtuals); got != virtuals {
			b.Fatalf("%d virtuals installed, want %d", got, virtuals)
		}
		if err := app.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// processCPU is the process's user and system CPU time so far: the
// push's goroutines, the engine's and the garbage collector's alike.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
