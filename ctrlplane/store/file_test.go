package store

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"lbx/ctrlplane/compile"
	"lbx/ctrlplane/config"
)

// Issue 12 item 2: `load sys config file /dev/zero` grew memory without
// bound and a FIFO hung the control plane. Only regular files up to
// MaxConfigFile load; everything else is refused before any read.
func TestReadConfigFileRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "sparse.conf")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxConfigFile + 1); err != nil { // a hole: no disk used
		t.Fatal(err)
	}
	f.Close()
	atLimit := filepath.Join(dir, "limit.conf")
	if err := os.WriteFile(atLimit, []byte("ltm pool /Common/p { }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	long := "/tmp/" + strings.Repeat("n", 1<<20)
	tests := []struct {
		name, path string
		want       []string // substrings of the error; none: must load
	}{
		{"dev zero", "/dev/zero", []string{"/dev/zero: not a regular file (a character device)"}},
		{"fifo", fifo, []string{"fifo: not a regular file (a named pipe)"}},
		{"directory", dir, []string{"not a regular file (a directory)"}},
		{"oversized sparse", sparse, []string{"67108865 bytes", "64 MiB limit"}},
		{"missing", filepath.Join(dir, "none"), []string{"no such file"}},
		{"1 MB name", long, []string{"…(1048581 bytes)"}},
		{"regular", atLimit, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			type result struct {
				data []byte
				err  error
			}
			done := make(chan result, 1)
			go func() {
				data, err := ReadConfigFile(tc.path)
				done <- result{data, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("ReadConfigFile(%s) still running after 10 s", ShortName(tc.path))
			}
			if tc.want == nil {
				if r.err != nil || len(r.data) == 0 {
					t.Fatalf("ReadConfigFile = %d bytes, %v; want the file", len(r.data), r.err)
				}
				return
			}
			if r.err == nil {
				t.Fatalf("ReadConfigFile read %d bytes; want it refused", len(r.data))
			}
			for _, w := range tc.want {
				if !strings.Contains(r.err.Error(), w) {
					t.Errorf("error %q does not contain %q", r.err, w)
				}
			}
			if len(r.err.Error()) > 400 {
				t.Errorf("error is %d bytes long; want a short one", len(r.err.Error()))
			}
		})
	}
}

// The saved config is read the same way at boot: a FIFO at its path fails
// the boot at once instead of hanging it.
func TestBootRefusesFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "bigip.conf")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	s := New(&fakeDataplane{}, compile.NetConfig{}, nil, fifo, nil)
	done := make(chan error, 1)
	go func() { done <- s.Boot() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file (a named pipe)") {
			t.Fatalf("Boot from a FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Boot from a FIFO still running after 10 s")
	}
}

// blankCodec parses any text as an empty configuration; enough for what
// Boot does around the parse.
type blankCodec struct{}

func (blankCodec) Parse(string) (*config.Config, map[string]int, error) {
	return config.NewConfig(), nil, nil
}
func (blankCodec) Format(*config.Config) (string, error) { return "", nil }
func (blankCodec) Restore(*config.Config) error          { return nil }

// Issue 12 item 10: temporary files a crash during save left behind are
// removed at the next boot, and booting from no saved file or an empty one
// says so in the log.
func TestBootCleansUpAndSaysEmpty(t *testing.T) {
	tests := []struct {
		name    string
		saved   *string // nil: no saved file
		wantLog string
	}{
		{"missing", nil, `msg="no saved configuration file; starting empty"`},
		{"empty", ptr(""), `msg="saved configuration is empty; starting empty"`},
		{"comments only", ptr("# saved by lbx\n\n"), `msg="saved configuration is empty; starting empty"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			saved := filepath.Join(dir, "bigip.conf")
			if tc.saved != nil {
				os.WriteFile(saved, []byte(*tc.saved), 0o600)
			}
			leftovers := []string{".bigip.conf.tmp-123456", ".bigip.conf.bak.tmp-42"}
			for _, l := range leftovers {
				os.WriteFile(filepath.Join(dir, l), []byte("half a save"), 0o600)
			}
			keep := []string{".other.conf.tmp-1", "bigip.conf.tmp-notours"}
			for _, k := range keep {
				os.WriteFile(filepath.Join(dir, k), nil, 0o600)
			}
			os.Mkdir(filepath.Join(dir, ".bigip.conf.tmp-dir"), 0o700)
			keep = append(keep, ".bigip.conf.tmp-dir")

			var logs bytes.Buffer
			s := New(&fakeDataplane{}, compile.NetConfig{}, blankCodec{}, saved, slog.New(slog.NewTextHandler(&logs, nil)))
			if err := s.Boot(); err != nil {
				t.Fatal(err)
			}
			for _, l := range leftovers {
				if _, err := os.Stat(filepath.Join(dir, l)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s: still there after boot (%v)", l, err)
				}
				if !strings.Contains(logs.String(), "removed a temporary file left by an interrupted save") || !strings.Contains(logs.String(), l) {
					t.Errorf("log does not say %s was removed:\n%s", l, logs.String())
				}
			}
			for _, k := range keep {
				if _, err := os.Stat(filepath.Join(dir, k)); err != nil {
					t.Errorf("%s: removed, but it is not a save's leftover", k)
				}
			}
			if !strings.Contains(logs.String(), "level=INFO "+tc.wantLog) {
				t.Errorf("log does not contain %s:\n%s", tc.wantLog, logs.String())
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
