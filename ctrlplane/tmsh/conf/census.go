package conf

import (
	"strings"

	"lbx/ctrlplane/config"
)

// Census estimates what a pushed script creates, for sizing the
// candidate's maps before its statements run (store.Txn.Reserve): the
// `create ltm pool` and `create ltm virtual` statements, and the nodes the
// pools' members may make — one per run of members on the same host
// (10.0.0.1:80 10.0.0.1:443 is one). Words are compared whole:
// abbreviated commands are not counted, and a count too high or too low
// costs only memory or map growth, never a different result.
func Census(stmts []Statement) (nodes, pools, virtuals int) {
	for _, st := range stmts {
		t := st.Toks
		if len(t) < 3 || !t[0].IsWord("create") || !t[1].IsWord("ltm") {
			continue
		}
		switch {
		case t[2].IsWord("virtual"):
			virtuals++
		case t[2].IsWord("pool"):
			pools++
			last := ""
			for _, m := range t[3:] {
				if m.Kind != TokWord || !strings.Contains(m.Text, ":") {
					continue // every member names a port after a ':' (or an IPv6 address)
				}
				if host, _, err := config.SplitAddrPort(m.Text); err == nil && host != last {
					nodes++
					last = host
				}
			}
		}
	}
	return nodes, pools, virtuals
}
