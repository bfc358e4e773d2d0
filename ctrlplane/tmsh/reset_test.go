package tmsh

import (
	"strings"
	"testing"

	"lbx/ctrlplane/status"
	"lbx/ctrlplane/tmsh/conf"
)

func TestResetStats(t *testing.T) {
	const m1, m2 = "/Common/10.0.0.1:80", "/Common/10.0.0.2:80"
	type counts struct{ vs, m1, m2 uint64 } // packets in
	tests := []struct {
		name    string
		cmd     string
		want    counts
		wantErr string
	}{
		{name: "virtual by name", cmd: "reset-stats ltm virtual vs", want: counts{0, 5, 6}},
		{name: "every virtual", cmd: "reset-stats ltm virtual", want: counts{0, 5, 6}},
		{name: "pool", cmd: "reset-stats ltm pool web", want: counts{9, 0, 0}},
		{name: "node", cmd: "reset-stats ltm node 10.0.0.2", want: counts{9, 5, 0}},
		{name: "every node", cmd: "reset-stats ltm node", want: counts{9, 0, 0}},
		{name: "missing virtual", cmd: "reset-stats ltm virtual nope", want: counts{9, 5, 6}, wantErr: "01020036:3: The requested Virtual Server (/Common/nope) was not found."},
		{name: "missing pool", cmd: "reset-stats ltm pool nope", want: counts{9, 5, 6}, wantErr: "The requested Pool (/Common/nope) was not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dp := newTestStore(t, baseConf)
			vs := dp.VirtualStats("/Common/vs")
			s1, s2 := dp.Member("/Common/web", m1).Stats, dp.Member("/Common/web", m2).Stats
			vs.PktsIn.Add(9)
			vs.CurConns.Add(1)
			s1.PktsIn.Add(5)
			s2.PktsIn.Add(6)
			before, prog := conf.Text(s.Running()), dp.Program()
			out, err := s.Exec(tt.cmd)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
			} else if err != nil || out != "" {
				t.Fatalf("Exec(%q) = %q, %v", tt.cmd, out, err)
			}
			if got := (counts{vs.PktsIn.Load(), s1.PktsIn.Load(), s2.PktsIn.Load()}); got != tt.want {
				t.Errorf("packets in after %q = %+v, want %+v", tt.cmd, got, tt.want)
			}
			if vs.CurConns.Load() != 1 {
				t.Errorf("current connections = %d, want 1 kept", vs.CurConns.Load())
			}
			if conf.Text(s.Running()) != before || dp.Program() != prog {
				t.Error("reset-stats changed the configuration")
			}
			show, err := s.Exec("show ltm virtual vs")
			if err != nil {
				t.Fatal(err)
			}
			if want := "Packets In" + strings.Repeat(" ", 22-len("Packets In")) + strings.Repeat(" ", 18-len(conf.Utoa(tt.want.vs))) + conf.Utoa(tt.want.vs); !strings.Contains(show, want) {
				t.Errorf("show ltm virtual vs lacks %q:\n%s", want, show)
			}
		})
	}
	t.Run("dataplane without counters", func(t *testing.T) {
		s, _ := newTestStore(t, baseConf)
		d := New(s.st, status.Sources{})
		if _, err := d.Exec("reset-stats ltm virtual"); err == nil || !strings.Contains(err.Error(), "keeps no counters") {
			t.Fatalf("error = %v, want the dataplane to say it keeps no counters", err)
		}
	})
}
