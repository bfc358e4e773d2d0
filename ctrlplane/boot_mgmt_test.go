package ctrlplane

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The VM's management keys: a bad address or gateway is refused naming
// the key; good ones load.
func TestBootMgmtKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "boot.yaml")
	for _, tc := range []struct{ yaml, wantErr string }{
		{"mgmt:\n  address: 10.0.0.5\n", `mgmt.address "10.0.0.5": want ADDR/LEN`},
		{"mgmt:\n  gateway: gw\n", `mgmt.gateway "gw": want an address`},
		{"mgmt:\n  adress: 10.0.0.5/24\n", `unknown key "mgmt.adress"`},
		{"mgmt:\n  interface: eth1\n  address: 10.0.0.5/24\n  gateway: 10.0.0.1\n", ""},
	} {
		if err := os.WriteFile(file, []byte(tc.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := LoadBoot(file, nil)
		if tc.wantErr == "" {
			if err != nil || b.Mgmt.Interface != "eth1" || b.Mgmt.Address != "10.0.0.5/24" || b.Mgmt.Gateway != "10.0.0.1" {
				t.Errorf("%q: %+v, %v", tc.yaml, b, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%q: %v, want %s", tc.yaml, err, tc.wantErr)
		}
	}
}
