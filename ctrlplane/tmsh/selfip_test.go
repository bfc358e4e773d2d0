package tmsh

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The boot config's self IPs are net self objects of the running config,
// listed but never saved; a config that declares one as it is loads, one
// that changes it is refused; after a restart they are there again.
func TestBootSelfsListedNotSaved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bigip.conf")
	s := newTestStoreAt(t, &fakeDataplane{}, path, nil)
	if err := s.Boot(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec("create net self s_extra address 10.9.0.2/24 vlan server"); err != nil {
		t.Fatal(err)
	}
	list, err := s.Exec("list net self")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"/Common/s_extra", "/Common/self_client", "/Common/self_server"} {
		if !strings.Contains(list, "net self "+name+" {") {
			t.Errorf("list net self lacks %s:\n%s", name, list)
		}
	}
	if _, err := s.Exec("save sys config"); err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(saved), "self_client") || !strings.Contains(string(saved), "net self /Common/s_extra") {
		t.Errorf("saved config: want s_extra and no boot self IP:\n%s", saved)
	}

	// The listing pushed back loads: the boot self IPs in it are as they are.
	if err := s.LoadText(list); err != nil {
		t.Errorf("load of `list net self`: %v", err)
	}
	changed := strings.Replace(list, "198.18.1.2/24", "198.18.1.9/24", 1)
	err = s.LoadText(changed)
	if want := "net self /Common/self_client: address 198.18.1.9/24: self IP of the boot config (selfips: address 198.18.1.2/24, port client): change it in the boot config and restart lbx"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("load changing a boot self IP:\n got: %v\nwant: %s", err, want)
	}

	s2 := newTestStoreAt(t, &fakeDataplane{}, path, nil)
	if err := s2.Boot(); err != nil {
		t.Fatal(err)
	}
	run := s2.Running()
	for _, name := range []string{"/Common/s_extra", "/Common/self_client", "/Common/self_server"} {
		if run.Selfs[name] == nil {
			t.Errorf("after restart: no net self %s", name)
		}
	}
	if sf := run.Selfs["/Common/self_client"]; sf == nil || !sf.Boot {
		t.Errorf("after restart: self_client %+v, want a boot self IP", sf)
	}
}
