package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// relayDialTimeout bounds a connection attempt to the appliance (which may
// be booting: the client then sees the connection closed and retries).
const relayDialTimeout = 5 * time.Second

// Publish accepts connections on each of ls and relays each to the address
// at the same index of to, both ways, with half-closes passed on, until
// ctx ends. It then closes the listeners and the relayed connections and
// returns when every goroutine it started has ended.
func Publish(ctx context.Context, ls []net.Listener, to []string, log *slog.Logger) error {
	if len(ls) != len(to) {
		return fmt.Errorf("testbed publish: %d listeners for %d destinations", len(ls), len(to))
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{} // open relayed connections, both ends
		done  bool
	)
	track := func(c net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return false
		}
		conns[c] = struct{}{}
		return true
	}
	untrack := func(c net.Conn) {
		mu.Lock()
		delete(conns, c)
		mu.Unlock()
		c.Close()
	}
	for i, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := l.Accept()
				if err != nil {
					if ctx.Err() == nil {
						log.Error("publish: accept", "listen", l.Addr().String(), "err", err)
					}
					return
				}
				if !track(c) {
					c.Close()
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer untrack(c)
					d := net.Dialer{Timeout: relayDialTimeout}
					up, err := d.DialContext(ctx, "tcp", to[i])
					if err != nil {
						log.Warn("publish: dial", "to", to[i], "err", err)
						return
					}
					if !track(up) {
						up.Close()
						return
					}
					defer untrack(up)
					relay(c, up)
				}()
			}
		}()
	}
	<-ctx.Done()
	mu.Lock()
	done = true
	for c := range conns {
		c.Close()
	}
	mu.Unlock()
	var errs []error
	for _, l := range ls {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// relay copies a to b and b to a; the end of one direction is passed on
// as a half-close, and relay returns when both directions have ended.
func relay(a, b net.Conn) {
	var wg sync.WaitGroup
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			dst.Close()
		}
	}
	wg.Add(2)
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
}
