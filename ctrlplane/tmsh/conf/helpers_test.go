package conf

import (
	"net/netip"
	"testing"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctrltest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// cmpOpts compares Configs: netip values by ==, nil and empty alike.
var cmpOpts = []cmp.Option{
	cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}, netip.Prefix{}),
	cmpopts.EquateEmpty(),
}

// testNet is the testbed's self IPs, which the tests compile against.
var testNet = ctrltest.Net

func mustParse(t testing.TB, text string) *config.Config {
	t.Helper()
	c, err := ParseConfig(text)
	if err != nil {
		t.Fatalf("ParseConfig: %v\n%s", err, text)
	}
	return c
}

// DefaultConfigText is the testbed's default traffic config.
func DefaultConfigText() string { return ctrltest.DefaultConfigText() }
