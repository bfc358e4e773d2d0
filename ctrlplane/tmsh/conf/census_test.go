package conf

import "testing"

func TestCensus(t *testing.T) {
	tests := []struct {
		name                   string
		script                 string
		nodes, pools, virtuals int
	}{
		{"empty", "", 0, 0, 0},
		{"pool of one node on two ports", "create ltm pool /Common/p members add { 10.0.0.1:80 10.0.0.1:8080 }\n", 1, 1, 0},
		{"two nodes, one again later", "create ltm pool p members add { 10.0.0.1:80 10.0.0.2:80 10.0.0.1:443 }\n", 3, 1, 0},
		{"member bodies", "create ltm pool p members add { 10.0.0.1:80 { ratio 2 } 10.0.0.1:81 { priority-group 1 } }\n", 1, 1, 0},
		{"virtuals", "create ltm virtual v1 destination 10.1.1.1:80 pool p\ncreate ltm virtual v2 destination 10.1.1.1:81\n", 0, 0, 2},
		{"other commands are not counted", "modify ltm pool p members add { 10.0.0.9:80 }\ncreate ltm node n address 10.0.0.3\ncr ltm pool q\n", 0, 0, 0},
		{"the bench's shape", "create ltm pool /Common/scale_0 members add { 198.19.0.1:80 198.19.0.1:8080 198.19.0.2:80 198.19.0.2:8080 }\n" +
			"create ltm virtual /Common/scale_vs_0 destination 198.18.1.100:20000 ip-protocol tcp pool /Common/scale_0\n", 2, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stmts, err := Statements(tc.script)
			if err != nil {
				t.Fatal(err)
			}
			n, p, v := Census(stmts)
			if n != tc.nodes || p != tc.pools || v != tc.virtuals {
				t.Errorf("Census = %d nodes, %d pools, %d virtuals; want %d, %d, %d", n, p, v, tc.nodes, tc.pools, tc.virtuals)
			}
		})
	}
}

// FuzzCensus: whatever the script, the census counts at most one pool or
// virtual per statement and one node per word, and never panics.
func FuzzCensus(f *testing.F) {
	f.Add("create ltm pool p members add { 10.0.0.1:80 10.0.0.1:8080 }\ncreate ltm virtual v destination 10.1.1.1:80 pool p\n")
	f.Add("create ltm pool p members add { 2001:db8::1.80 { ratio 2 } : :80 a: }\n")
	f.Add("create ltm\ncreate\n")
	f.Fuzz(func(t *testing.T, src string) {
		stmts, err := Statements(src)
		if err != nil {
			return
		}
		words := 0
		for _, st := range stmts {
			words += len(st.Toks)
		}
		n, p, v := Census(stmts)
		if n < 0 || p < 0 || v < 0 || p+v > len(stmts) || n > words {
			t.Fatalf("Census = %d nodes, %d pools, %d virtuals of %d statements, %d tokens", n, p, v, len(stmts), words)
		}
	})
}
