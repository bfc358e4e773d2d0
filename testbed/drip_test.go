package testbed

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestDrip(t *testing.T) {
	srv := httptest.NewServer(identityHandler("s1"))
	defer srv.Close()
	get := func(ctx context.Context, query string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/drip?"+query, nil)
		if err != nil {
			return nil, err
		}
		return srv.Client().Do(req)
	}

	t.Run("lines", func(t *testing.T) {
		resp, err := get(t.Context(), "n=5&ms=20")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Server") != "s1" {
			t.Fatalf("status %d, X-Server %q", resp.StatusCode, resp.Header.Get("X-Server"))
		}
		sc := bufio.NewScanner(resp.Body)
		var got []string
		var times []time.Time
		for sc.Scan() {
			got = append(got, sc.Text())
			times = append(times, time.Now())
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 {
			t.Fatalf("got %d lines, want 5: %q", len(got), got)
		}
		for i, l := range got {
			if want := fmt.Sprintf("server=s1 i=%d", i+1); l != want {
				t.Errorf("line %d: %q, want %q", i, l, want)
			}
		}
		// Each line is flushed on its own, after its pause: the lines
		// arrive spread over at least the 4 pauses of 20 ms.
		if d := times[4].Sub(times[0]); d < 4*20*time.Millisecond {
			t.Errorf("5 lines with 20 ms pauses arrived within %s", d)
		}
	})

	t.Run("client goes away", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		resp, err := get(ctx, "n=100000&ms=10000")
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "server=s1 i=1\n" {
			t.Fatalf("first line %q, %v", line, err)
		}
		cancel()
		resp.Body.Close()
		// srv.Close (deferred) waits for the handler: it must end with
		// the request rather than after 100000 × 10 s.
	})

	for _, q := range []string{"", "n=0&ms=1", "n=100001&ms=1", "n=1&ms=10001", "n=1&ms=-1", "n=x&ms=1", "n=1"} {
		t.Run("bad "+q, func(t *testing.T) {
			resp, err := get(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("/drip?%s: status %d, want 400", q, resp.StatusCode)
			}
		})
	}
}
