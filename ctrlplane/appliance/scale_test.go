package appliance_test

import (
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"lbx/ctrlplane/appliance"
)

// scaleScript is the bench's scale push (bench/scale.go): n virtual
// servers on 198.18.1.100 from port 20000, each with its own pool of per
// members, nodes in 198.19.0.0/16 (on no segment: nothing is sent to
// them) × ports 80 and 8080.
func scaleScript(n, per int) string {
	var b strings.Builder
	k := 0
	for i := range n {
		fmt.Fprintf(&b, "create ltm pool /Common/scale_%d members add {", i)
		for range per / 2 {
			a := netip.AddrFrom4([4]byte{198, 19, byte(k / 250), byte(k%250 + 1)})
			k++
			fmt.Fprintf(&b, " %s:80 %s:8080", a, a)
		}
		b.WriteString(" }\n")
		fmt.Fprintf(&b, "create ltm virtual /Common/scale_vs_%d destination 198.18.1.100:%d ip-protocol tcp pool /Common/scale_%d\n", i, 20000+i, i)
	}
	return b.String()
}

// A UDP stream through an installed virtual loses nothing while a large
// configuration is pushed and applied beside it (issue 15, "a running
// stream loses no packet during the apply"): every datagram sent before,
// during and after the push is echoed back, by the same server (the
// stream's flow and its member survive the install), and afterwards every
// pushed virtual and member is installed. Datagrams are paced and counted,
// not timed: the stream runs until the push has answered and then for as
// many datagrams again as went before it.
func TestApplyScaleKeepsStream(t *testing.T) {
	const virtuals, perPool = 2000, 10
	tb := newTestbed(t, testbedConfig(t))
	conn, err := tb.client.DialUDP(netip.MustParseAddrPort("198.18.1.100:7"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	// The receiver records each echo's sequence number and server.
	var mu sync.Mutex
	got := map[int]string{}
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		buf := make([]byte, 256)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return // closed
			}
			var server string
			var seq int
			if _, err := fmt.Sscanf(string(buf[:n]), "%s seq=%d", &server, &seq); err != nil {
				t.Errorf("echo %q: %v", buf[:n], err)
				continue
			}
			mu.Lock()
			got[seq] = server
			mu.Unlock()
		}
	}()
	received := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}

	// The sender sends one datagram per millisecond tick (a tick missed
	// is not made up for), until stop is closed.
	stop := make(chan struct{})
	sentc := make(chan int, 1)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		seq := 0
		defer func() { sentc <- seq }()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := fmt.Fprintf(conn, "seq=%d", seq); err != nil {
				t.Errorf("send %d: %v", seq, err)
				return
			}
			seq++
		}
	}()

	// The stream is flowing: its first 100 echoes are back.
	waitFor(t, "the first 100 echoes", func() bool { return received() >= 100 })
	if _, err := tb.app.Push(scaleScript(virtuals, perPool)); err != nil {
		close(stop)
		t.Fatalf("push: %v", err)
	}
	atPush := received()
	waitFor(t, "as many echoes after the push as before it", func() bool { return received() >= 2*atPush })
	close(stop)
	sent := <-sentc
	waitFor(t, fmt.Sprintf("all %d echoes", sent), func() bool { return received() >= sent })
	conn.Close()
	<-recvDone

	servers := map[string]int{}
	for seq := range sent {
		if s, ok := got[seq]; !ok {
			t.Errorf("datagram %d of %d: no echo", seq, sent)
		} else {
			servers[s]++
		}
	}
	if len(servers) != 1 {
		t.Errorf("the stream was answered by %v, want one server (its flow kept across the install)", servers)
	}
	t.Logf("%d datagrams, %d echoed before the push answered, all echoed by %v", sent, atPush, servers)

	prog := tb.app.Engine().Program()
	if n := len(prog.Virtuals); n != virtuals+2 {
		t.Errorf("%d virtuals installed, want %d", n, virtuals+2)
	}
	members := 0
	for i := range virtuals {
		p := tb.app.Engine().Pool(fmt.Sprintf("/Common/scale_%d", i))
		if p == nil {
			t.Fatalf("pool /Common/scale_%d is not installed", i)
		}
		members += len(p.Members)
	}
	if members != virtuals*perPool {
		t.Errorf("%d scale members installed, want %d", members, virtuals*perPool)
	}
}

// pushAllocsPerMember pushes the scale script of n virtuals into a new
// appliance and returns the allocations (count) the push made per member.
func pushAllocsPerMember(t *testing.T, n int) float64 {
	t.Helper()
	app := oneArmed(t, appliance.Config{})
	t.Cleanup(func() { app.Close() })
	script := scaleScript(n, 10)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := app.Push(script); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := len(app.Engine().Program().Virtuals); got != n {
		t.Fatalf("%d virtuals installed, want %d", got, n)
	}
	return float64(after.Mallocs-before.Mallocs) / float64(10*n)
}

// TestApplyWorkLinearInMembers holds the whole apply — parsing, checks,
// compile, install into the engine, monitor preparation — linear in what
// is pushed: the allocations per member of a push of 4,000 virtuals with
// 40,000 members stay within 1.5 times those of 1,000 with 10,000. It
// counts work, not time (the times are in docs/BENCHMARKS.md, "Applying
// 10,000 virtual servers").
func TestApplyWorkLinearInMembers(t *testing.T) {
	small := pushAllocsPerMember(t, 1000)
	large := pushAllocsPerMember(t, 4000)
	t.Logf("allocations per member: %.1f at 10k members, %.1f at 40k", small, large)
	if large > 1.5*small {
		t.Errorf("a push of 40k members allocates %.1f times per member, %.1f times as many as one of 10k (%.1f): the apply is not linear",
			large, large/small, small)
	}
}
