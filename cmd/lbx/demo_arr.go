package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lbx/testbed"
)

// The ARR nodes' virtuals, the members of the BIG-IP's arr_pool in the
// arr topology.
var arrNodes = []struct{ name, addr string }{{"arr1", "198.18.3.101"}, {"arr2", "198.18.3.102"}}

// arrDemo is `lbx demo arr`: the arr topology up, the seed paper's three
// scenarios shown step by step (routing, active/passive with a crash,
// active/active with a slowed node), the topology down. A scenario that
// does not turn out as the paper says is an error.
func arrDemo(ctx context.Context, w io.Writer, opts testbed.Options) (err error) {
	tb, down, err := upTopology("arr", w, opts)
	if err != nil {
		return err
	}
	defer down(&err)
	jarDir, err := os.MkdirTemp("", "lbx-arr-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(jarDir)
	jar := filepath.Join(jarDir, "jar")
	vip := "http://" + tb.Topo.VIP.String()
	step := func(title string) { fmt.Fprintf(w, "\n== %s\n", title) }
	get := func(args ...string) (string, error) {
		c, err := tb.Command("client", append([]string{"curl", "-sS", "--max-time", "5"}, args...)...)
		if err != nil {
			return "", err
		}
		out, err := c.Output()
		if err != nil {
			return "", err
		}
		return testbed.ServerName(string(out)), nil
	}
	// burst sends n requests and returns how many connections each ARR
	// node got (the BIG-IP's member counters) and the servers answering.
	burst := func(n int, args ...string) (map[string]uint64, map[string]int, error) {
		_, before, err := arrPoolStatus(tb)
		if err != nil {
			return nil, nil, err
		}
		servers := map[string]int{}
		for range n {
			s, err := get(args...)
			if err != nil {
				return nil, nil, err
			}
			servers[s]++
		}
		_, after, err := arrPoolStatus(tb)
		for k := range after {
			after[k] -= before[k]
		}
		return after, servers, err
	}
	show := func(nodes map[string]uint64, servers map[string]int) {
		fmt.Fprintf(w, "  ARR nodes (BIG-IP member connections): arr1 %d, arr2 %d\n  content servers: %v\n", nodes["arr1"], nodes["arr2"], servers)
	}
	if err := waitARR(ctx, tb, "up", "up", 20*time.Second); err != nil {
		return err
	}

	step("scenario 3, routing: each URL, host and user agent through the BIG-IP and either ARR node")
	for _, c := range []struct {
		what, want string
		args       []string
	}{
		{"GET /img/logo.jpg", "static", []string{vip + "/img/logo.jpg"}},
		{"GET /site.css", "static", []string{vip + "/site.css"}},
		{"GET /static/index.html", "static", []string{vip + "/static/index.html"}},
		{"GET /cart.aspx", "app", []string{vip + "/cart.aspx"}},
		{"Host: shop.example", "shop", []string{"-H", "Host: shop.example", vip + "/cart.aspx"}},
		{"User-Agent: iPhone", "mobile", []string{"-A", "Mozilla/5.0 (iPhone)", vip + "/cart.aspx"}},
	} {
		s, err := get(c.args...)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %-24s -> %s\n", c.what, s)
		if !strings.HasPrefix(s, c.want) {
			return fmt.Errorf("demo arr: %s reached %q, want a %s server", c.what, s, c.want)
		}
	}

	step("scenario 1, active/passive: arr_pool priority groups arr2 2, arr1 1, min-active-members 1")
	cmd := "modify ltm pool arr_pool min-active-members 1 members modify { 198.18.3.101:80 { priority-group 1 } 198.18.3.102:80 { priority-group 2 } }"
	fmt.Fprintf(w, "  bigip# %s\n", cmd)
	if _, err := tb.Client().Exec(cmd); err != nil {
		return err
	}
	nodes, servers, err := burst(10, vip+"/cart.aspx")
	if err != nil {
		return err
	}
	show(nodes, servers)
	if nodes["arr2"] != 10 {
		return fmt.Errorf("demo arr: active/passive sent %v, want all 10 to arr2", nodes)
	}
	pinned, err := get("-c", jar, "-b", jar, vip+"/cart.aspx")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  a client takes the ARRAffinity cookie: pinned to %s\n", pinned)
	step("arr2 crashes (SIGKILL); the BIG-IP's http monitor (interval 1 s, timeout 4 s) notices")
	if err := tb.CrashApplianceNamed("arr2"); err != nil {
		return err
	}
	start := time.Now()
	if err := waitARR(ctx, tb, "", "down", 12*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(w, "  arr2 marked down after %s\n", time.Since(start).Round(100*time.Millisecond))
	nodes, servers, err = burst(6, "-b", jar, vip+"/cart.aspx")
	if err != nil {
		return err
	}
	show(nodes, servers)
	if nodes["arr1"] != 6 || servers[pinned] != 6 {
		return fmt.Errorf("demo arr: after the failover %v and %v, want all on arr1 and %s", nodes, servers, pinned)
	}
	fmt.Fprintf(w, "  the cookie client still reaches %s, now through arr1\n", pinned)
	step("arr2 boots again and, its priority group higher, takes the traffic back")
	if err := tb.BootApplianceNamed("arr2"); err != nil {
		return err
	}
	if err := waitARR(ctx, tb, "", "up", 20*time.Second); err != nil {
		return err
	}
	nodes, servers, err = burst(6, "-b", jar, vip+"/cart.aspx")
	if err != nil {
		return err
	}
	show(nodes, servers)
	if nodes["arr2"] != 6 {
		return fmt.Errorf("demo arr: after arr2 came back %v, want all on arr2", nodes)
	}

	step("scenario 2, active/active: priority groups off, arr2 slowed by 50 ms each way (lbx testbed fault arr2 delay 50ms)")
	cmd = "modify ltm pool arr_pool min-active-members 0 members modify { 198.18.3.101:80 { priority-group 0 } 198.18.3.102:80 { priority-group 0 } }"
	fmt.Fprintf(w, "  bigip# %s\n", cmd)
	if _, err := tb.Client().Exec(cmd); err != nil {
		return err
	}
	if err := tb.Delay("arr2", 50*time.Millisecond); err != nil {
		return err
	}
	for _, method := range []string{"observed-member", "fastest-app-response", "predictive-member"} {
		if _, err := tb.Client().Exec("modify ltm pool arr_pool load-balancing-mode " + method); err != nil {
			return err
		}
		_, before, err := arrPoolStatus(tb)
		if err != nil {
			return err
		}
		c, err := tb.Command("client", "wrk", "-t1", "-c4", "-d5s", "-H", "Connection: close", vip+"/cart.aspx")
		if err != nil {
			return err
		}
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("wrk: %w\n%s", err, out)
		}
		_, after, err := arrPoolStatus(tb)
		if err != nil {
			return err
		}
		a1, a2 := after["arr1"]-before["arr1"], after["arr2"]-before["arr2"]
		fmt.Fprintf(w, "  %-21s 5 s of wrk: arr1 %5d connections, arr2 (slow) %5d\n", method, a1, a2)
		if a2*10 >= a1*7 {
			return fmt.Errorf("demo arr: %s gave the slow arr2 %d connections and arr1 %d, want arr2 under 70 %% of arr1", method, a2, a1)
		}
	}
	return tb.ClearFault("arr2")
}

// arrPoolStatus reads the BIG-IP's arr_pool: each ARR node's status and
// total connections.
func arrPoolStatus(tb *testbed.Testbed) (status map[string]string, conns map[string]uint64, err error) {
	out, err := tb.Client().ShowJSON("show ltm pool arr_pool")
	if err != nil {
		return nil, nil, err
	}
	var pools []struct {
		Members []struct {
			Address string `json:"address"`
			Status  string `json:"status"`
			Traffic struct {
				TotalConns uint64 `json:"total_conns"`
			} `json:"traffic"`
		} `json:"members"`
	}
	if err := json.Unmarshal([]byte(out), &pools); err != nil || len(pools) != 1 {
		return nil, nil, fmt.Errorf("show ltm pool arr_pool: %v: %s", err, out)
	}
	status, conns = map[string]string{}, map[string]uint64{}
	for _, m := range pools[0].Members {
		for _, n := range arrNodes {
			if n.addr == m.Address {
				status[n.name], conns[n.name] = m.Status, m.Traffic.TotalConns
			}
		}
	}
	return status, conns, nil
}

// waitARR waits, bounded, until arr1 and arr2 have the given monitor
// status ("" for either).
func waitARR(ctx context.Context, tb *testbed.Testbed, arr1, arr2 string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		st, _, err := arrPoolStatus(tb)
		if err != nil {
			return err
		}
		if (arr1 == "" || st["arr1"] == arr1) && (arr2 == "" || st["arr2"] == arr2) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("demo arr: ARR nodes %v after %s, want arr1 %q arr2 %q", st, limit, arr1, arr2)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// upTopology brings the built-in topology name up for a demo, logging to
// w; down, deferred with the demo's error, tears it down and joins the
// teardown's error to it.
func upTopology(name string, w io.Writer, opts testbed.Options) (tb *testbed.Testbed, down func(*error), err error) {
	t, err := testbed.LoadTopology(name)
	if err != nil {
		return nil, nil, err
	}
	opts.Topology, opts.Log = &t, w
	if tb, err = testbed.Up(opts); err != nil {
		return nil, nil, err
	}
	return tb, func(err *error) {
		fmt.Fprintln(w, "\n== tearing the testbed down")
		*err = errors.Join(*err, tb.Down())
	}, nil
}
