package testbed

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"lbx/ctrlplane/ctlsock"
)

// stream keeps one keep-alive HTTP connection from the client to the VIP
// busy with requests until stopped (bounded in count and time), recording
// every answer's server and the first error.
type stream struct {
	stop     chan struct{}
	done     chan struct{}
	progress chan struct{} // signalled after every answer or the error
	mu       sync.Mutex
	servers  map[string]int
	n        int
	err      error
}

func startStream(t *testing.T, tb *Testbed) *stream {
	t.Helper()
	conn := dialVIP(t, tb)
	s := &stream{stop: make(chan struct{}), done: make(chan struct{}), progress: make(chan struct{}, 1), servers: map[string]int{}}
	go func() {
		defer close(s.done)
		defer conn.Close()
		r := bufio.NewReader(conn)
		deadline := time.Now().Add(60 * time.Second)
		for i := 0; i < 5000 && time.Now().Before(deadline); i++ {
			select {
			case <-s.stop:
				return
			default:
			}
			line, err := oneRequest(conn, r)
			s.mu.Lock()
			if err != nil {
				s.err = fmt.Errorf("request %d on the streaming connection: %w", i, err)
			} else {
				s.servers[ServerName(line)]++
				s.n++
			}
			s.mu.Unlock()
			select {
			case s.progress <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return s
}

// waitFor waits until the stream has answered more requests, woken by each
// answer; it fails on a stream error or after 5 s without reaching them.
func (s *stream) waitFor(t *testing.T, more int) {
	t.Helper()
	s.mu.Lock()
	target := s.n + more
	s.mu.Unlock()
	timeout := time.After(5 * time.Second)
	for {
		s.mu.Lock()
		n, err := s.n, s.err
		s.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if n >= target {
			return
		}
		select {
		case <-s.progress:
		case <-s.done:
			s.mu.Lock()
			n, err = s.n, s.err
			s.mu.Unlock()
			if err == nil && n < target {
				t.Fatalf("stream ended after %d answers, want %d", n, target)
			}
		case <-timeout:
			t.Fatalf("stream did not reach %d answers in 5s", target)
		}
	}
}

// finish stops the stream and checks it never failed and stayed on one
// server.
func (s *stream) finish(t *testing.T) {
	t.Helper()
	close(s.stop)
	<-s.done
	if s.err != nil {
		t.Fatal(s.err)
	}
	if len(s.servers) != 1 {
		t.Errorf("streaming connection answered by %v; want one server throughout", s.servers)
	}
}

// While a client streams requests through the VIP: a pushed file with an
// error changes nothing; a good push adding a virtual and modifying another
// pool takes effect without disturbing the stream.
func TestIntegrationPushWhileStreaming(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	before, err := app.Exec("list ltm")
	if err != nil {
		t.Fatal(err)
	}
	st := startStream(t, tb)
	st.waitFor(t, 10)

	bad := strings.Join([]string{
		"create ltm pool /Common/p_new members add { 198.18.2.12:80 }",
		"create ltm virtual /Common/vs_new destination 198.18.1.101:80 ip-protocol tcp pool /Common/p_new",
		"modify ltm pool /Common/udp_pool members add { 198.18.2.99:99999 }",
		"",
	}, "\n")
	_, err = app.Push(bad)
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("push with a bad port: %v (want an error at line 3)", err)
	}
	st.waitFor(t, 10)
	if after, err := app.Exec("list ltm"); err != nil || after != before {
		t.Fatalf("a failed push changed the config (%v):\n%s", err, after)
	}
	if got := curlErr(tb, "http://198.18.1.101/"); got == nil {
		t.Fatal("the virtual of a failed push answers")
	}

	good := strings.Replace(bad, "198.18.2.99:99999", "198.18.2.13:9", 1)
	if _, err := app.Push(good); err != nil {
		t.Fatalf("good push: %v", err)
	}
	st.waitFor(t, 10)
	if got := ServerName(curl(t, tb, "http://198.18.1.101/")); got != "server2" {
		t.Errorf("pushed virtual answered by %q, want server2", got)
	}
	st.waitFor(t, 10)
	st.finish(t)
}

func curlErr(tb *Testbed, url string) error {
	c, err := tb.Command("client", "curl", "-sS", "--max-time", "2", url)
	if err != nil {
		return err
	}
	_, err = c.Output()
	return err
}

// A kill -9 right after save sys config, and a reboot, restore exactly the
// saved configuration.
func TestIntegrationCrashAfterSaveRestoresSavedConfig(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	execAll(t, app,
		"create ltm pool /Common/saved_pool members add { 198.18.2.12:80 198.18.2.13:80 }",
		"create ltm virtual /Common/vs_saved destination 198.18.1.102:80 ip-protocol tcp pool /Common/saved_pool source-address-translation { type automap }",
		"delete ltm virtual /Common/vs_udp",
		"save sys config",
	)
	saved, err := app.Exec("list ltm")
	if err != nil {
		t.Fatal(err)
	}
	// Not saved: must not survive the crash.
	if _, err := app.Exec("create ltm pool /Common/unsaved_pool"); err != nil {
		t.Fatal(err)
	}
	if err := tb.CrashAppliance(); err != nil {
		t.Fatal(err)
	}
	if err := tb.BootAppliance(); err != nil {
		t.Fatal(err)
	}
	got, err := app.Exec("list ltm")
	if err != nil {
		t.Fatal(err)
	}
	if got != saved {
		t.Fatalf("after crash and reboot the config differs from the saved one:\n--- saved\n%s\n--- after reboot\n%s", saved, got)
	}
	if _, err := os.Stat(filepath.Join(tb.State.Dir, "bigip.conf.bak")); err != nil {
		t.Errorf("no backup of the previous saved config: %v", err)
	}
	// And it carries traffic again.
	if got := ServerName(curl(t, tb, "http://198.18.1.102/")); got != "server2" && got != "server3" {
		t.Errorf("restored virtual answered by %q", got)
	}
}

// execAll runs commands one by one on the appliance, failing the test at
// the first error.
func execAll(t *testing.T, app *ctlsock.Client, cmds ...string) {
	t.Helper()
	for _, cmd := range cmds {
		if _, err := app.Exec(cmd); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
}
