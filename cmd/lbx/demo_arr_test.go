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

// `lbx demo arr` runs the seed paper's three scenarios on the arr topology
// and fails if one turns out otherwise; its output shows each step.
func TestARRDemo(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("lbx demo arr needs root (network namespaces)")
		}
		t.Skip("lbx demo arr needs root (network namespaces)")
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
	err := arrDemo(t.Context(), &out, testbed.Options{Binary: bin, StateDir: filepath.Join(dir, "state"), Socket: filepath.Join(dir, "lbx.sock")})
	t.Logf("lbx demo arr:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	// Compared with the blanks of the aligned columns squeezed.
	text := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{
		"GET /site.css -> static",
		"User-Agent: iPhone -> mobile1",
		"arr2 marked down after",
		"the cookie client still reaches app",
		"predictive-member",
		"tearing the testbed down",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
}
