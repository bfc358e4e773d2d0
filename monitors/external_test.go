package monitors

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func script(t *testing.T, body string) string {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	path := filepath.Join(t.TempDir(), "mon.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExternalProber(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		prober  ExternalProber
		verdict Verdict
		reason  string
	}{
		{"exit 0 with output", `echo "up $1 $2 $NODE_IP $NODE_PORT $MON_TMPL_NAME $3 $EXTRA"`, ExternalProber{},
			Success, "output: up 198.18.2.11 80 198.18.2.11 80 /Common/ext arg1 x"},
		{"bigip mapped address", `echo "$1 $NODE_IP"`, ExternalProber{MappedIPv4: true},
			Success, "output: ::ffff:198.18.2.11 ::ffff:198.18.2.11"},
		{"exit 1", `echo up; echo "connect failed" >&2; exit 1`, ExternalProber{},
			Failure, "exit status 1: connect failed"},
		{"exit 0 silent", `exit 0`, ExternalProber{},
			Failure, "no output on stdout"},
		{"bounded output", `head -c 100000 /dev/zero | tr '\0' a`, ExternalProber{MaxOutput: 10},
			Success, "output: aaaaaaaaaa"},
		{"no lbx environment", `echo "[$LBX_SECRET]"`, ExternalProber{},
			Success, "output: []"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("LBX_SECRET", "s3cret")
			spec := &Spec{Name: "/Common/ext", Type: External, Run: script(t, tc.body), Args: []string{"arg1"}, Env: []string{"EXTRA=x"}}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			r := tc.prober.Probe(ctx, spec, member1)
			if r.Verdict != tc.verdict || r.Reason != tc.reason {
				t.Fatalf("got %v %q, want %v %q", r.Verdict, r.Reason, tc.verdict, tc.reason)
			}
			if r.Start.IsZero() || r.End.Before(r.Start) {
				t.Fatalf("times %v..%v", r.Start, r.End)
			}
		})
	}
}

func TestExternalProberMissingProgram(t *testing.T) {
	var p ExternalProber
	r := p.Probe(context.Background(), &Spec{Name: "/Common/ext", Type: External, Run: "/nonexistent/mon"}, member1)
	if r.Verdict != Failure || !strings.HasPrefix(r.Reason, "run /nonexistent/mon: ") {
		t.Fatalf("got %v %q", r.Verdict, r.Reason)
	}
}

// At the deadline the whole process group dies, including a child the
// script left running in the background.
func TestExternalProberKillsProcessGroupAtDeadline(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "child.pid")
	spec := &Spec{Name: "/Common/ext", Type: External, Env: []string{"PIDFILE=" + pidfile},
		Run: script(t, `sleep 600 & echo $! > "$PIDFILE"; sleep 600`)}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var p ExternalProber
	r := p.Probe(ctx, spec, member1)
	if r.Verdict != Failure || !strings.HasPrefix(r.Reason, "no answer within ") || !strings.HasSuffix(r.Reason, "(killed)") {
		t.Fatalf("got %v %q, want a killed timeout", r.Verdict, r.Reason)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The killed child is reaped by init (or lingers as a zombie); either
	// way it must not be running. The loop only bounds the wait.
	for i := 0; ; i++ {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if i == 500 {
			t.Fatalf("background child %d still alive: %s", pid, stat)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExternalProberCancelled(t *testing.T) {
	spec := &Spec{Name: "/Common/ext", Type: External, Run: script(t, `sleep 600`)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result)
	go func() {
		var p ExternalProber
		done <- p.Probe(ctx, spec, member1)
	}()
	cancel()
	if r := <-done; r.Verdict != Failure || r.Reason != "cancelled" {
		t.Fatalf("got %v %q, want cancelled", r.Verdict, r.Reason)
	}
}
