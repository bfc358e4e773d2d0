package appliance_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"lbx/ctrlplane/appliance"
	"lbx/ctrlplane/ctlsock"
	"lbx/dataplane"
	"lbx/dataplane/porttest"
)

// New with a control socket serves commands on it, as `lbx run` does;
// Close removes the socket, closes the ports and leaves no goroutine.
func TestControlSocketAndClose(t *testing.T) {
	before := runtime.NumGoroutine()
	sw := porttest.NewSwitch()
	p, err := sw.Port(porttest.Config{Name: "lbx-ext", MAC: porttest.MustMAC("02:00:5e:00:00:01")})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "lbx.sock")
	app, err := appliance.New(appliance.Config{
		Ports:   []dataplane.Port{p},
		SelfIPs: []dataplane.SelfIP{{Name: "ext", Prefix: netip.MustParsePrefix("198.18.1.2/24"), Port: "lbx-ext"}},
		// Saved config not there yet: the appliance starts empty.
		SavedPath: filepath.Join(dir, "bigip.conf"),
		Socket:    sock,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &ctlsock.Client{Path: sock}
	if _, err := c.Exec("create ltm pool web members add { 198.18.1.11:80 }"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec("save sys config"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "bigip.conf")); err != nil || !strings.Contains(string(b), "ltm pool /Common/web") {
		t.Errorf("saved config (%v):\n%s", err, b)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if err := app.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("control socket still there after Close: %v", err)
	}
	if _, err := p.WriteBatch([][]byte{{0}}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("port after Close: %v, want net.ErrClosed", err)
	}
	waitGoroutines(t, before)

	// The saved config boots the next appliance.
	p2, err := sw.Port(porttest.Config{Name: "lbx-ext2", MAC: porttest.MustMAC("02:00:5e:00:00:02")})
	if err != nil {
		t.Fatal(err)
	}
	app, err = appliance.New(appliance.Config{Ports: []dataplane.Port{p2}, SavedPath: filepath.Join(dir, "bigip.conf")})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := app.Exec("list ltm pool web"); err != nil || !strings.Contains(out, "198.18.1.11:80") {
		t.Errorf("booted from the saved config: %v\n%s", err, out)
	}
	app.Close()
	waitGoroutines(t, before)
}

// A failing New undoes everything, ports included.
func TestNewFailsCleanly(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	broken := filepath.Join(dir, "bigip.conf")
	if err := os.WriteFile(broken, []byte("ltm pool /Common/p {\n    members {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		cfg   appliance.Config
		wants string
	}{
		{"no port", appliance.Config{}, "at least one port"},
		{"IPv6 self IP", appliance.Config{SelfIPs: []dataplane.SelfIP{{Name: "v6", Prefix: netip.MustParsePrefix("2001:db8::1/64"), Port: "lbx-ext"}}}, "only IPv4"},
		{"corrupt saved config", appliance.Config{SavedPath: broken}, broken},
		{"socket in a file", appliance.Config{Socket: filepath.Join(broken, "lbx.sock")}, "control socket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p *porttest.Port
			if tc.name != "no port" {
				var err error
				if p, _, err = porttest.Pipe(porttest.Config{Name: "lbx-ext", MAC: porttest.MustMAC("02:00:5e:00:00:01")}, porttest.Config{Name: "peer", MAC: porttest.MustMAC("02:00:5e:00:00:02")}); err != nil {
					t.Fatal(err)
				}
				tc.cfg.Ports = []dataplane.Port{p}
			}
			app, err := appliance.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wants) {
				t.Fatalf("New = %v, %v; want an error naming %q", app, err, tc.wants)
			}
			if p != nil {
				if _, err := p.WriteBatch([][]byte{{0}}); !errors.Is(err, net.ErrClosed) {
					t.Errorf("port after a failed New: %v, want it closed", err)
				}
			}
		})
	}
	waitGoroutines(t, before)
}
