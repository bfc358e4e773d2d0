package tmsh

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/tmsh/conf"

	"lbx/pools"
)

// persistRecordCommands list and delete the dataplane's persistence
// records. They change no configuration (so they run at once, also inside
// a transaction) and take the same filters:
//
//	show ltm persistence persist-records [client-addr ADDR] [pool NAME] [virtual NAME]
//	delete ltm persistence persist-records [client-addr ADDR] [pool NAME] [virtual NAME]
var persistRecordCommands = []Command{
	{Verb: "show", Module: "ltm", Kind: "persistence persist-records", Args: persistFilterArgs,
		Help: "persistence records: client, virtual, pool, member, age, expiry", ReadOnly: true, run: runShowPersistRecords},
	{Verb: "delete", Module: "ltm", Kind: "persistence persist-records", Args: persistFilterArgs,
		Help: "delete persistence records (all, or those the filters match)", ReadOnly: true, run: runDeletePersistRecords},
}

const persistFilterArgs = "[client-addr ADDR] [pool NAME] [virtual NAME]"

// readPersistFilter reads the filters of the persist-records commands.
func readPersistFilter(verb string, args *conf.Cursor) (pools.PersistFilter, error) {
	var f pools.PersistFilter
	for !args.Done() {
		t := args.Next()
		what := verb + " ltm persistence persist-records"
		switch {
		case t.IsWord("client-addr"):
			v, err := args.Value("client-addr")
			if err != nil {
				return f, err
			}
			a, err := netip.ParseAddr(v.Text)
			if err != nil {
				return f, conf.LineErrorf(v.Line, "%s: client-addr %q: not an IP address", what, v.Text)
			}
			f.Client = a
		case t.IsWord("pool"), t.IsWord("virtual"):
			v, err := args.Value(t.Text)
			if err != nil {
				return f, err
			}
			n, err := config.FullName(v.Text)
			if err != nil {
				return f, conf.LineErrorf(v.Line, "%s: %s %q: %w", what, t.Text, v.Text, err)
			}
			if t.Text == "pool" {
				f.Pool = n
			} else {
				f.Virtual = n
			}
		default:
			return f, conf.LineErrorf(t.Line, "%s: unexpected %s, want client-addr, pool or virtual", what, t.Describe())
		}
	}
	return f, nil
}

func runShowPersistRecords(x *execCtx, _ *Command, args *conf.Cursor) (string, error) {
	f, err := readPersistFilter("show", args)
	if err != nil {
		return "", err
	}
	if x.src.Persist == nil {
		return "", errors.New("show ltm persistence persist-records: this dataplane keeps no persistence records")
	}
	var b strings.Builder
	b.WriteString("Sys::Persistent Connections\n")
	fmt.Fprintf(&b, "%-15s %-18s %-24s %-24s %-26s %6s %8s\n", "Mode", "Value", "Virtual", "Pool", "Member", "Age", "Expires")
	n := 0
	for _, r := range x.src.Persist.PersistRecords(f) {
		n++
		expires := "never"
		if r.Remaining >= 0 {
			expires = fmtSeconds(r.Remaining)
		}
		fmt.Fprintf(&b, "%-15s %-18s %-24s %-24s %-26s %6s %8s\n", r.Mode, r.Value, r.Virtual, r.Pool, r.Member, fmtSeconds(r.Age), expires)
	}
	fmt.Fprintf(&b, "Total records returned: %d\n", n)
	return b.String(), nil
}

func fmtSeconds(d time.Duration) string { return fmt.Sprintf("%ds", int64(d/time.Second)) }

func runDeletePersistRecords(x *execCtx, _ *Command, args *conf.Cursor) (string, error) {
	f, err := readPersistFilter("delete", args)
	if err != nil {
		return "", err
	}
	if x.src.Persist == nil {
		return "", errors.New("delete ltm persistence persist-records: this dataplane keeps no persistence records")
	}
	n := x.src.Persist.DeletePersistRecords(f)
	return fmt.Sprintf("Deleted %d persistence records\n", n), nil
}
