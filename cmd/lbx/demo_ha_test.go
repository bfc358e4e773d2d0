package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"lbx/testbed"
)

// `lbx demo ha` brings the ha topology up, moves traffic-group-1 by `run
// sys failover standby` and by kill -9 while a long transfer runs through
// the mirrored VIP, and fails if the transfer breaks or a unit does not
// take over; its output shows each step.
func TestHADemo(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("lbx demo ha needs root (network namespaces)")
		}
		t.Skip("lbx demo ha needs root (network namespaces)")
	}
	for _, tool := range []string{"curl", "wrk"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (.ci/run installs it)", tool)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "lbx")
	if out, err := exec.Command("go", "build", "-o", bin, "lbx/cmd/lbx").CombinedOutput(); err != nil {
		t.Fatalf("build lbx: %v\n%s", err, out)
	}
	var out bytes.Buffer
	err := haDemo(t.Context(), &out, testbed.Options{Binary: bin, StateDir: filepath.Join(dir, "state"), Socket: filepath.Join(dir, "lbx.sock")})
	t.Logf("lbx demo ha:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	// Compared with the blanks of the aligned columns squeezed.
	text := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{
		"lbx1: ACTIVE streaming to its peer: yes",
		"lbx2: STANDBY",
		"lbx2's web_pool has it",
		"lbx1: run sys failover standby",
		"lbx2: kill -9",
		"the transfer survived: all 100 lines in order",
		"a new request answered",
		"tearing the testbed down",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
}
