package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"lbx/ctrlplane/ctlsock"
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

	step("health monitor: ltm monitor http web_http (interval 1, timeout 3) on web_pool")
	if err := demoExec(app,
		`create ltm monitor http web_http defaults-from http interval 1 timeout 3 send "GET / HTTP/1.0\r\n\r\n" recv "server="`,
		"modify ltm pool web_pool monitor web_http slow-ramp-time 0",
	); err != nil {
		return err
	}
	if err := waitStatus(ctx, app, "web_pool", "/Common/198.18.2.12:80", "up", 15*time.Second); err != nil {
		return err
	}

	step("failure: server2's HTTP service stops")
	if err := tb.StopServer("server2"); err != nil {
		return err
	}
	start := time.Now()
	if err := waitStatus(ctx, app, "web_pool", "/Common/198.18.2.12:80", "down", 10*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(w, "  the monitor marked server2 down after %s\n", time.Since(start).Round(100*time.Millisecond))
	if err := show(w, app, "show ltm pool /Common/web_pool members"); err != nil {
		return err
	}
	counts = tb.Burst(ctx, "client", url, 30)
	printCounts(w, counts)
	if counts["(failed)"] > 0 || counts["server2"] > 0 {
		return fmt.Errorf("demo: expected server1 and server3 to answer every request, got %v", counts)
	}
	fmt.Fprintln(w, "  survived: every request answered by the remaining members")

	step("recovery: server2 restarts")
	if err := tb.StartServer("server2"); err != nil {
		return err
	}
	if err := waitStatus(ctx, app, "web_pool", "/Common/198.18.2.12:80", "up", 15*time.Second); err != nil {
		return err
	}
	printCounts(w, tb.Burst(ctx, "client", url, 30))

	step("the IIS 7.0 story: an IIS host answers the tcp monitor's FIN with RST,ACK")
	if err := demoExec(app,
		"create ltm node /Common/198.18.2.14 address 198.18.2.14",
		"create ltm monitor tcp iis_tcp defaults-from tcp interval 1 timeout 3",
		"create ltm pool iis_pool monitor iis_tcp slow-ramp-time 0 members add { 198.18.2.14:80 }",
		"create ltm virtual vs_iis destination 198.18.1.100:81 ip-protocol tcp pool iis_pool source-address-translation { type automap }",
	); err != nil {
		return err
	}
	const iis = "/Common/198.18.2.14:80"
	if err := waitStatus(ctx, app, "iis_pool", iis, "up", 15*time.Second); err != nil {
		return err
	}
	fmt.Fprintln(w, "  close-check lenient (the default): the member is up")
	if err := show(w, app, "show ltm monitor-trace iis_pool 198.18.2.14:80"); err != nil {
		return err
	}
	step("modify ltm monitor tcp iis_tcp close-check legacy  (Alteon firmware before 23.2.9)")
	if err := demoExec(app, "modify ltm monitor tcp iis_tcp close-check legacy"); err != nil {
		return err
	}
	if err := waitStatus(ctx, app, "iis_pool", iis, "down", 10*time.Second); err != nil {
		return err
	}
	if err := show(w, app, "show ltm monitor-trace iis_pool 198.18.2.14:80"); err != nil {
		return err
	}
	step("modify ltm monitor tcp iis_tcp close-check lenient")
	if err := demoExec(app, "modify ltm monitor tcp iis_tcp close-check lenient"); err != nil {
		return err
	}
	if err := waitStatus(ctx, app, "iis_pool", iis, "up", 10*time.Second); err != nil {
		return err
	}
	fmt.Fprintln(w, "  the IIS member is up again")
	return show(w, app, "show ltm pool /Common/iis_pool members")
}

func demoExec(app *ctlsock.Client, cmds ...string) error {
	for _, c := range cmds {
		if _, err := app.Exec(c); err != nil {
			return fmt.Errorf("demo: %s: %w", c, err)
		}
	}
	return nil
}

func show(w io.Writer, app *ctlsock.Client, cmd string) error {
	out, err := app.Exec(cmd)
	if err != nil {
		return err
	}
	fmt.Fprint(w, out)
	return nil
}

// waitStatus waits, bounded, until show ltm pool gives the member status.
func waitStatus(ctx context.Context, app *ctlsock.Client, pool, member, want string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		out, err := app.Exec("show ltm pool " + pool + " members")
		if err != nil {
			return err
		}
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) >= 3 && f[0] == member && f[2] == want {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: member %s of %s not %s after %s:\n%s", member, pool, want, limit, out)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
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
