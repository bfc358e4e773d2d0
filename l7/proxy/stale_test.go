package proxy

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Server connections a member closed while they waited in the one-connect
// pool (its keep-alive timeout) do not fail the next requests: the first
// reuse that finds one closed drops the member's other idle connections,
// and the request is retried on a new one, whatever their number.
func TestOneConnectStaleIdleConnections(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var open atomic.Int64
	idle := make(chan struct{}, 64)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				time.Sleep(100 * time.Millisecond) // the six requests overlap
			}
			fmt.Fprintln(w, "server=stale")
		}),
		IdleTimeout: 300 * time.Millisecond,
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				open.Add(1)
			case http.StateClosed:
				open.Add(-1)
				idle <- struct{}{}
			}
		},
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	m := l.Addr().(*net.TCPAddr).AddrPort()
	p, addr := startProxy(t, &Config{Virtual: "v", Pool: "p", OneConnect: &OneConnect{}}, backend{"p": newPool(t, "p", m)})

	// Six clients at once: six server connections, idle in the pool after.
	const n = 6
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			<-start
			_, err = io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			if err == nil {
				var b []byte
				b, err = io.ReadAll(c)
				if err == nil && len(b) < 12 || err == nil && string(b[:12]) != "HTTP/1.1 200" {
					err = fmt.Errorf("answer %q", b)
				}
			}
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	pooled := p.IdleServerConns()
	if pooled < 2 {
		t.Skipf("only %d server connections pooled: the clients did not overlap", pooled)
	}
	// The member closes every one of them.
	deadline := time.After(10 * time.Second)
	for closed := 0; closed < pooled; closed++ {
		select {
		case <-idle:
		case <-deadline:
			t.Fatalf("member closed %d of %d idle connections in 10s", closed, pooled)
		}
	}
	t.Logf("%d pooled server connections closed by the member", pooled)
	badBefore := p.Counters().BadGateway.Load()
	c := keepAliveClient()
	for i := range 3 {
		resp, body := get(t, c, "http://"+addr+"/")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d after the member closed %d pooled connections: %d %q", i, pooled, resp.StatusCode, body)
		}
	}
	if bad := p.Counters().BadGateway.Load() - badBefore; bad != 0 {
		t.Errorf("%d answers 502", bad)
	}
	if got := p.IdleServerConns(); got > 1 {
		t.Errorf("%d idle server connections after the retries, want the stale ones gone", got)
	}
}
