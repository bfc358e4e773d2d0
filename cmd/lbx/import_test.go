package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportARR translates the sample applicationHost.config, pushes the
// tmsh into an appliance booted with the default config, and attaches the
// policy and the affinity profile to the HTTP virtual.
func TestImportARR(t *testing.T) {
	var out, errb bytes.Buffer
	sample := filepath.Join("..", "..", "ctrlplane", "arr", "testdata", "applicationHost.config")
	if err := run([]string{"import", "arr", sample}, nil, &out, &errb); err != nil {
		t.Fatalf("import arr: %v\n%s", err, errb.String())
	}
	if got := errb.String(); got != "import arr: 7 parts not translated (listed as # comments, with their lines)\n" {
		t.Errorf("stderr = %q", got)
	}
	text := out.String()
	for _, want := range []string{"# not translated:\n", "#   line 106: rule \"Internal only\"", "ltm policy /Common/arr_rules {", "ltm pool /Common/staticFarm {"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	script := filepath.Join(t.TempDir(), "arr.tmsh")
	if err := os.WriteFile(script, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := newDocAppliance(t)
	mustRun(t, "", "--socket", sock, "push", script)
	mustRun(t, "", "--socket", sock, "-c", "modify ltm virtual vs_http policies add { arr_rules } persist replace-all-with { appFarm_affinity }")
	got := mustRun(t, "", "--socket", sock, "-c", "list ltm virtual vs_http")
	if !strings.Contains(got, "policies {\n        /Common/arr_rules { }") || !strings.Contains(got, "/Common/appFarm_affinity") {
		t.Errorf("list ltm virtual vs_http:\n%s", got)
	}
	got = mustRun(t, "", "--socket", sock, "-c", "list ltm policy arr_rules")
	if strings.Count(got, "forward\n") != 7 {
		t.Errorf("list ltm policy arr_rules: want 7 forwarding rules:\n%s", got)
	}
	if _, err := lbx("", "--socket", sock, "-c", "delete ltm pool appFarm"); err == nil || !strings.Contains(err.Error(), "in use by a Policy (/Common/arr_rules)") {
		t.Errorf("delete ltm pool appFarm: %v, want in use by the policy", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "arr"}, "usage: lbx import arr"},
		{[]string{"import", "haproxy", sample}, "usage: lbx import arr"},
		{[]string{"import", "arr", "/nonexistent.config"}, "import arr: open /nonexistent.config"},
		{[]string{"import", "arr", "--policy", "bad name", sample}, `policy name "bad name"`},
		{[]string{"import", "arr", script}, "not XML"},
	} {
		err := run(tc.args, nil, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("lbx %v = %v, want %q", tc.args, err, tc.want)
		}
	}
}
