package filexfer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestUploadChunks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "up")
	d := New(dir)
	data := bytes.Repeat([]byte("0123456789"), 25)
	for start := 0; start < len(data); start += 64 {
		end := min(start+64, len(data))
		ans, err := d.Upload("a.crt", fmt.Sprintf("%d-%d/%d", start, end-1, len(data)), data[start:end])
		if err != nil {
			t.Fatal(err)
		}
		if ans["remainingByteCount"] != int64(len(data)-end) {
			t.Fatalf("remaining %v after %d", ans["remainingByteCount"], end)
		}
	}
	got, ok, err := d.Read("file:///var/config/rest/downloads/a.crt")
	if err != nil || !ok || !bytes.Equal(got, data) {
		t.Fatalf("Read: %v %v %d bytes", ok, err, len(got))
	}
	if fi, _ := os.Stat(filepath.Join(dir, "a.crt")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	// Starting again at 0 replaces the file.
	if _, err := d.Upload("a.crt", "", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := d.Read("/var/config/rest/downloads/a.crt"); string(got) != "new" {
		t.Fatalf("after a new upload: %q", got)
	}
	for _, tc := range []struct {
		name, rng string
		chunk     string
		code      int
	}{
		{"../x", "", "a", 400},
		{"x", "5-5/10", "a", 400}, // does not continue the file
		{"x", "0-1/2", "a", 400},  // chunk size
		{"x", "1-0/2", "", 400},
		{"x", "0-0/2000000000", "a", 413},
		{"x", "junk", "a", 400},
	} {
		var fe *Error
		if _, err := d.Upload(tc.name, tc.rng, []byte(tc.chunk)); !errors.As(err, &fe) || fe.Code != tc.code {
			t.Errorf("Upload(%q, %q): %v, want %d", tc.name, tc.rng, err, tc.code)
		}
	}
	if _, ok, _ := d.Read("file:/etc/lbx/www.crt"); ok {
		t.Error("a path outside the uploads read as one")
	}
	if _, ok, _ := d.Read("file:/var/config/rest/downloads/../x"); ok {
		t.Error("a dot path read as an upload")
	}
	if _, err := d.UnixRm([]byte(`{"command":"run","utilCmdArgs":"/var/config/rest/downloads/a.crt"}`)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := d.Read("/var/config/rest/downloads/a.crt"); !ok || err == nil {
		t.Fatalf("read after unix-rm: %v", err)
	}
	if _, err := d.UnixRm([]byte(`{"command":"run","utilCmdArgs":"/etc/passwd"}`)); err == nil {
		t.Fatal("unix-rm /etc/passwd accepted")
	}
	if _, err := New("").Upload("a", "", []byte("x")); err == nil {
		t.Fatal("an upload with no directory accepted")
	}
}

// FuzzRange: Range never panics, and what it accepts is a chunk of the
// size given inside a bounded file.
func FuzzRange(f *testing.F) {
	for _, s := range []string{"", "0-9/10", "bytes 0-0/1", "5-4/3", "-1-2/3", "0-1048575/1048576", "1-2/", "9223372036854775807-9223372036854775807/9223372036854775807"} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, h string, n int) {
		if n < 0 || n > MaxFile {
			return
		}
		start, end, total, err := Range(h, n)
		if err != nil {
			return
		}
		if start < 0 || end-start+1 != int64(n) || total <= end || total > MaxFile {
			t.Fatalf("Range(%q, %d) = %d, %d, %d", h, n, start, end, total)
		}
	})
}
