package farm

import (
	"bytes"
	"context"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeScripts makes a module directory with bin/start_both and
// bin/stop_both of the given bodies.
func writeScripts(t *testing.T, start, stop string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"start_both": start, "stop_both": stop} {
		if err := os.WriteFile(filepath.Join(dir, "bin", name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// stop_both past nicestoptimeout is killed and stop_both force runs,
// itself bounded by forcestoptimeout; the scripts' output goes to the
// application log, what ran to the module log.
func TestScriptsStopTimeouts(t *testing.T) {
	dir := writeScripts(t, `echo "Running start_both $*"`, `echo "Running stop_both $*"
if [ "$1" = force ]; then echo forced; exit 0; fi
sleep 30`)
	app, err := os.Create(filepath.Join(t.TempDir(), "userlog.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	var modlog bytes.Buffer
	s := &scripts{dir: dir, out: app, nice: 300 * time.Millisecond, force: 5 * time.Second, log: log.New(&modlog, "", 0)}
	if err := s.run(context.Background(), "start_both"); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := s.stop(context.Background()); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if d := time.Since(began); d > 20*time.Second {
		t.Errorf("stop took %v: the nice stop was not cut", d)
	}
	b, _ := os.ReadFile(app.Name())
	if got := string(b); !strings.Contains(got, "Running start_both") || !strings.Contains(got, "Running stop_both \n") && !strings.Contains(got, "Running stop_both\n") || !strings.Contains(got, "Running stop_both force") || !strings.Contains(got, "forced") {
		t.Errorf("application log:\n%s", got)
	}
	if !strings.Contains(modlog.String(), "stop_both: killed after 300ms; force stop") {
		t.Errorf("module log:\n%s", modlog.String())
	}
	// A force stop past forcestoptimeout is an error, bounded too.
	dir = writeScripts(t, `true`, `sleep 30`)
	s = &scripts{dir: dir, out: app, nice: 200 * time.Millisecond, force: 200 * time.Millisecond, log: log.New(&modlog, "", 0)}
	if err := s.stop(context.Background()); err == nil || !strings.Contains(err.Error(), "killed after 200ms") {
		t.Errorf("stop past both bounds: %v", err)
	}
	// No module directory: nothing to run.
	if err := (&scripts{log: log.New(&modlog, "", 0)}).stop(context.Background()); err != nil {
		t.Errorf("no module: %v", err)
	}
	// A missing script is named.
	if err := (&scripts{dir: t.TempDir(), nice: time.Second, log: log.New(&modlog, "", 0)}).run(context.Background(), "start_both"); err == nil || !strings.Contains(err.Error(), "start_both") {
		t.Errorf("missing script: %v", err)
	}
}
