package localstack

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"lbx/dataplane"
)

// SetSelfs changes the stack's addresses while it runs: a connection
// leaves from the new address, a removed one is no source any more, and a
// refused change keeps the addresses the stack had.
func TestSetSelfs(t *testing.T) {
	app, srv := pair(t)
	ln, err := srv.ListenTCP(netip.MustParseAddrPort("10.9.0.2:8080"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dst := netip.MustParseAddrPort("10.9.0.2:8080")
	dialFrom := func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := app.DialTCP(ctx, dst)
		if err != nil {
			return "", err
		}
		defer c.Close()
		sc, err := ln.Accept()
		if err != nil {
			return "", err
		}
		defer sc.Close()
		return netip.MustParseAddrPort(sc.RemoteAddr().String()).Addr().String(), nil
	}

	moved := []netip.Prefix{netip.MustParsePrefix("10.9.0.5/24"), netip.MustParsePrefix("10.8.0.1/16")}
	if err := app.SetSelfs(moved); err != nil {
		t.Fatal(err)
	}
	if got := app.Selfs(); !slices.Equal(got, moved) {
		t.Errorf("Selfs = %v, want %v", got, moved)
	}
	if from, err := dialFrom(); err != nil || from != "10.9.0.5" {
		t.Errorf("dial after SetSelfs: from %q, %v; want from 10.9.0.5", from, err)
	}

	if err := app.SetSelfs([]netip.Prefix{netip.MustParsePrefix("2001:db8::1/64")}); err == nil {
		t.Error("SetSelfs with an IPv6 address: no error")
	}
	if got := app.Selfs(); !slices.Equal(got, moved) {
		t.Errorf("after a refused SetSelfs: Selfs = %v, want %v kept", got, moved)
	}

	if err := app.SetSelfs([]netip.Prefix{netip.MustParsePrefix("10.8.0.1/16")}); err != nil {
		t.Fatal(err)
	}
	if _, err := dialFrom(); !errors.Is(err, dataplane.ErrNoRoute) {
		t.Errorf("dial with no self IP on the network: %v, want ErrNoRoute", err)
	}
}
