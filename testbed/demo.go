package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Get sends one HTTP request from host to url with curl (a new connection
// each time) and returns the server name from the response, or an error.
func (tb *Testbed) Get(ctx context.Context, host, url string) (string, error) {
	c, err := tb.Command(host, "curl", "-sS", "--max-time", "3", url)
	if err != nil {
		return "", err
	}
	out, err := c.Output()
	if err != nil {
		return "", err
	}
	return ServerName(string(out)), nil
}

// ServerName extracts the server=NAME field of an emulated server's answer.
func ServerName(body string) string {
	for _, f := range strings.Fields(body) {
		if v, ok := strings.CutPrefix(f, "server="); ok {
			return v
		}
	}
	return ""
}

// Burst sends n requests and counts answers per server; failures count
// under "(failed)".
func (tb *Testbed) Burst(ctx context.Context, host, url string, n int) map[string]int {
	counts := map[string]int{}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		name, err := tb.Get(ctx, host, url)
		if err != nil || name == "" {
			name = "(failed)"
		}
		counts[name]++
	}
	return counts
}

func printCounts(w io.Writer, counts map[string]int) {
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %3d\n", n, counts[n])
	}
}

// Demo is `make demo`: bring the testbed up, send traffic through the VIP,
// show the virtual's counters, break a server and recover, tear down.
func Demo(ctx context.Context, w io.Writer) (err error) {
	tb, err := Up(Options{Log: w})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(w, "\n== tearing the testbed down")
		err = errors.Join(err, tb.Down())
	}()
	url := "http://" + tb.Topo.VIP.String() + "/"
	app := tb.Client()
	step := func(title string) { fmt.Fprintf(w, "\n== %s\n", title) }

	step("30 requests from client to " + url + " (round robin over 3 servers)")
	counts := tb.Burst(ctx, "client", url, 30)
	printCounts(w, counts)
	if counts["(failed)"] > 0 || len(counts) != 3 {
		return fmt.Errorf("demo: expected all three servers to answer every request, got %v", counts)
	}

	step("show ltm virtual /Common/vs_http")
	out, err := app.Exec("show ltm virtual /Common/vs_http")
	if err != nil {
		return err
	}
	fmt.Fprint(w, out)

	step("failure: server2's HTTP service stops")
	if err := tb.StopServer("server2"); err != nil {
		return err
	}
	counts = tb.Burst(ctx, "client", url, 9)
	printCounts(w, counts)
	fmt.Fprintln(w, "  (no health monitor yet: every third connection still goes to server2 and is refused)")

	step("operator takes server2 out: modify ltm pool web_pool members delete { 198.18.2.12:80 }")
	if _, err := app.Exec("modify ltm pool web_pool members delete { 198.18.2.12:80 }"); err != nil {
		return err
	}
	counts = tb.Burst(ctx, "client", url, 30)
	printCounts(w, counts)
	if counts["(failed)"] > 0 || counts["server2"] > 0 {
		return fmt.Errorf("demo: expected server1 and server3 to answer every request, got %v", counts)
	}
	fmt.Fprintln(w, "  survived: every request answered by the remaining members")

	step("show ltm pool /Common/web_pool")
	out, err = app.Exec("show ltm pool /Common/web_pool")
	if err != nil {
		return err
	}
	fmt.Fprint(w, out)
	return nil
}

// StopServer stops one emulated server process (started by this testbed).
func (tb *Testbed) StopServer(name string) error {
	for _, p := range tb.State.Procs {
		if p.Name == name && isOurs(p) {
			return stop(p.PID, tb.cmds[p.PID])
		}
	}
	return fmt.Errorf("testbed: no running server %q", name)
}
