package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// historyLimit is how many lines the shell keeps and loads back.
const historyLimit = 500

// secretWords mark a line that carries a secret (`create auth user u
// password p`, `encrypted-password`, an Alteon passphrase, a `sys file
// ssl-key` given its PEM inline): it is run, but never written to the
// history file nor kept for recall.
var secretWords = []string{"password", "passwd", "passphrase", "pswd", "secret", "private key"}

// hasSecret reports whether line may carry a secret.
func hasSecret(line string) bool {
	l := strings.ToLower(line)
	for _, w := range secretWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// history is the shell's history file, ~/.lbx_history: mode 0600, one
// line per command, lines with secrets never written. The shell records
// lines itself rather than through readline, which creates its file with
// mode 0666 less the umask and records every line.
type history struct {
	f *os.File
}

// openHistory opens (creating) the history file at path with mode 0600 and
// returns the lines to offer for recall. A file an older lbx wrote is made
// 0600, and any line of it that carries a secret is removed.
func openHistory(path string) (*history, []string, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("history %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("history %s: %w", path, err)
	}
	var lines []string
	dropped := false
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if hasSecret(sc.Text()) {
			dropped = true
			continue
		}
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		f.Close()
		return nil, nil, fmt.Errorf("history %s: %w", path, err)
	}
	if len(lines) > historyLimit {
		lines, dropped = lines[len(lines)-historyLimit:], true
	}
	if dropped {
		f.Close()
		if err := rewriteHistory(path, lines); err != nil {
			return nil, nil, err
		}
		if f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0); err != nil {
			return nil, nil, fmt.Errorf("history %s: %w", path, err)
		}
	}
	return &history{f: f}, lines, nil
}

// rewriteHistory replaces the file at path with lines, mode 0600.
func rewriteHistory(path string, lines []string) error {
	err := replaceFile(path, func(f *os.File) error {
		w := bufio.NewWriter(f)
		for _, l := range lines {
			w.WriteString(l + "\n")
		}
		return w.Flush()
	})
	if err != nil {
		return fmt.Errorf("history %s: %w", path, err)
	}
	return nil
}

// replaceFile replaces the file at path whole with what write writes, mode
// 0600: into a temporary file beside it, then renamed over it.
func replaceFile(path string, write func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	err = errors.Join(write(tmp), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// record appends line unless it carries a secret; it reports whether it
// did, so the caller keeps the same lines for recall.
func (h *history) record(line string) bool {
	if line == "" || hasSecret(line) {
		return false
	}
	if h != nil && h.f != nil {
		h.f.WriteString(line + "\n") // best effort, as readline's own
	}
	return true
}

func (h *history) close() error {
	if h == nil || h.f == nil {
		return nil
	}
	return h.f.Close()
}
