package tmsh

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lbx/internal/pemfile"
)

// A key given inline: list hides it, giving the hidden value back keeps
// it, save writes it to the filestore only, and a restart boots the same
// key (its profile still compiles); a listing pasted where the filestore
// lacks the key is refused naming the object.
func TestSysFileInlineRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bigip.conf")
	s := newTestStoreAt(t, &fakeDataplane{}, path, nil)
	if err := s.Boot(); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := pemfile.SelfSigned("rt.example")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := pemfile.Encrypt(keyPEM, "pw 1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push("create sys file ssl-cert rt.crt content \"" + string(certPEM) + "\"\n" +
		"create sys file ssl-key rt.key content \"" + string(enc) + "\" passphrase \"pw 1\"\n" +
		"create ltm profile client-ssl ssl_rt cert rt.crt key rt.key\n"); err != nil {
		t.Fatal(err)
	}
	hidden := pemfile.Hidden(enc)
	list, err := s.Exec("list sys file ssl-key rt.key")
	if err != nil || strings.Contains(list, "ENCRYPTED") || strings.Contains(list, "pw 1") || !strings.Contains(list, hidden) {
		t.Fatalf("list (%v):\n%s", err, list)
	}
	if _, err := s.Exec(`modify sys file ssl-key rt.key content "` + hidden + `" passphrase "<hidden>" description kept`); err != nil {
		t.Fatalf("modify with the hidden values: %v", err)
	}
	if k := s.Running().Files["/Common/rt.key"]; k.Content != string(enc) || k.Passphrase != "pw 1" || k.Description != "kept" {
		t.Fatalf("after modify: %+v", k)
	}
	if _, err := s.Exec("save sys config"); err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(path)
	if err != nil || strings.Contains(string(saved), "ENCRYPTED") || strings.Contains(string(saved), "pw 1") {
		t.Fatalf("saved (%v):\n%s", err, saved)
	}

	s2 := newTestStoreAt(t, &fakeDataplane{}, path, nil)
	if err := s2.Boot(); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if k := s2.Running().Files["/Common/rt.key"]; k == nil || k.Content != string(enc) || k.Passphrase != "pw 1" || s2.Running().Profiles["/Common/ssl_rt"] == nil {
		t.Fatalf("after restart: %+v", k)
	}
	if c := s2.Running().Files["/Common/rt.crt"]; c == nil || c.Content != string(certPEM) {
		t.Fatalf("certificate after restart: %+v", c)
	}

	other := newTestStoreAt(t, &fakeDataplane{}, filepath.Join(t.TempDir(), "bigip.conf"), nil)
	if err := other.Boot(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Push(list); err == nil || !strings.Contains(err.Error(), "sys file ssl-key /Common/rt.key") {
		t.Fatalf("a listing pushed to another unit: %v", err)
	}
}
