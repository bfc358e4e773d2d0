package testbed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// ServerOptions describe one emulated server process.
type ServerOptions struct {
	Name string // the identity every response carries
	HTTP string // HTTP listen address, e.g. ":80"; empty for none
	UDP  string // UDP echo listen address, e.g. ":7"; empty for none
}

// Serve runs an emulated server until ctx is done: an HTTP server whose
// every response names the server and the peer it saw (so tests can tell
// SNAT from no SNAT), and a UDP echo that prefixes the server name.
func Serve(ctx context.Context, o ServerOptions, logger *slog.Logger) error {
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.HTTP != "" {
		ln, err := net.Listen("tcp4", o.HTTP)
		if err != nil {
			return fmt.Errorf("server %s: http: %w", o.Name, err)
		}
		srv := &http.Server{
			Handler:           identityHandler(o.Name),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       60 * time.Second,
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("server %s: http: %w", o.Name, err)
			}
		}()
		go func() {
			defer wg.Done()
			<-ctx.Done()
			sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer scancel()
			srv.Shutdown(sctx)
		}()
	}
	if o.UDP != "" {
		pc, err := net.ListenPacket("udp4", o.UDP)
		if err != nil {
			return fmt.Errorf("server %s: udp: %w", o.Name, err)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-ctx.Done()
			pc.Close()
		}()
		go func() {
			defer wg.Done()
			buf := make([]byte, 65536)
			for {
				n, peer, err := pc.ReadFrom(buf)
				if err != nil {
					if ctx.Err() == nil {
						errc <- fmt.Errorf("server %s: udp: %w", o.Name, err)
					}
					return
				}
				reply := fmt.Appendf(nil, "%s %s", o.Name, buf[:n])
				if _, err := pc.WriteTo(reply, peer); err != nil {
					logger.Warn("udp echo", "peer", peer, "err", err)
				}
			}
		}()
	}
	logger.Info("emulated server up", "name", o.Name, "http", o.HTTP, "udp", o.UDP)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	wg.Wait()
	return err
}

// identityHandler answers every request with one line:
//
//	server=server1 addr=198.18.2.11:80 peer=198.18.2.2:40123
func identityHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		w.Header().Set("X-Server", name)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "server=%s addr=%v peer=%s\n", name, local, r.RemoteAddr)
	})
}

// waitListening waits until addr accepts TCP connections inside ns.
func waitListening(ns, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := withNS(ns, func() error {
			c, err := net.DialTimeout("tcp4", addr, 500*time.Millisecond)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %s: %w", addr, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
