package alteon

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// allocated is how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Lines are read one at a time and each is bounded, so 15 MB of line ends
// or one 15 MB line costs next to nothing; the lines' output is bounded.
func TestAlteonLimits(t *testing.T) {
	s, _ := newTestStore(t, "")
	const mb15 = 15 << 20
	newlines := strings.Repeat("\n", mb15)
	long := "/c/slb/real 1/name " + strings.Repeat("a ", mb15/2)
	newlinesThenLine := newlines + "/c/slb/real 1/rip 10.0.0.1"
	lineThenLong := "/c/slb/real 1/ena\n" + long
	tests := []struct {
		name     string
		run      func() (string, error)
		err      string
		maxAlloc uint64
	}{
		{name: "claims 15 MB of line ends", run: func() (string, error) { IsScript(newlines); return "", nil }, maxAlloc: 64 << 10},
		{name: "push 15 MB of line ends", run: func() (string, error) { return s.Push(newlines) }, maxAlloc: 256 << 10},
		{name: "exec 15 MB of line ends", run: func() (string, error) { return s.NewSession().Exec(newlinesThenLine) }, maxAlloc: 256 << 10},
		{name: "one 15 MB line", run: func() (string, error) { return s.NewSession().Exec(long) }, err: "line of 15728658 bytes: longer than the limit of 65536", maxAlloc: 64 << 10},
		{name: "one 15 MB line pushed", run: func() (string, error) { return s.Push(lineThenLong) }, err: "line 2: line of 15728658 bytes: longer than the limit of 65536", maxAlloc: 64 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, err = tt.run() })
			if tt.err == "" && err != nil {
				t.Fatalf("error %v", err)
			}
			if tt.err != "" && (err == nil || err.Error() != tt.err) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			if n > tt.maxAlloc {
				t.Errorf("allocated %d bytes, want at most %d", n, tt.maxAlloc)
			}
		})
	}
}

// `/cfg/dump` repeated stops at the output limit with an error naming it
// (shrunk to 1 MiB from MaxOutput to keep the test quick).
func TestAlteonOutputLimit(t *testing.T) {
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "/c/slb/real %d/ena/rip 10.%d.%d.%d\n", i+1, i/62500, i/250%250, i%250+1)
	}
	s, _ := newTestStore(t, "")
	s.maxOutput = 1 << 20
	if _, err := s.Push(b.String()); err != nil {
		t.Fatal(err)
	}
	dump, err := s.NewSession().Exec("/cfg/dump")
	if err != nil {
		t.Fatal(err)
	}
	n := s.maxOutput/len(dump) + 2
	text := strings.Repeat("/cfg/dump\n", n)
	if out, err := s.NewSession().Exec(text); err == nil || out != "" || err.Error() != fmt.Sprintf("line %d: the output passed the limit of 1 MiB for one request: stopped after this line; ask for less at a time", n-1) {
		t.Fatalf("exec of %d dumps: %d bytes, %v", n, len(out), err)
	}
	before := s.Version()
	if _, err := s.Push(text + "/c/slb/real 9999/ena/rip 10.9.9.9\n"); err == nil || !strings.Contains(err.Error(), "limit of 1 MiB") {
		t.Fatalf("push of %d dumps: %v", n, err)
	}
	if s.Version() != before {
		t.Error("a push stopped at the output limit applied")
	}
}
