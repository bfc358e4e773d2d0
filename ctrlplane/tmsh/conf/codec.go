package conf

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/internal/atomicfile"
	"lbx/internal/pemfile"
)

// Codec reads and writes bigip.conf for the store, and config sync's
// payload.
//
// A sys file ssl-key given inline prints its content as `<hidden
// sha256:HEX>` and its passphrase as `<hidden>`, in bigip.conf as in list.
// So that the saved file still loads, Format keeps the key material in
// Filestore, one file per key named by that fingerprint (HEX.pem) and its
// passphrase beside it (HEX.pass; a key read from a source-path keeps its
// passphrase under the path's hash), mode 0600 in a 0700 directory, as
// BIG-IP keeps keys under /config/filestore with bigip.conf naming them;
// Parse reads them back. Entries are never deleted (the previous
// bigip.conf.bak may name them).
type Codec struct {
	// Filestore is the key material's directory. Empty: Format refuses
	// a configuration with a key or passphrase inline, Parse leaves
	// hidden values as they are (validation refuses them).
	Filestore string
	// Reveal prints keys and passphrases in full and needs no
	// filestore: config sync's payload, which travels only over the
	// trust domain's mutually authenticated TLS and is never shown.
	Reveal bool
}

// Parse reads bigip.conf text, with the line each object is defined at,
// reading hidden key material back from the filestore.
func (k Codec) Parse(text string) (*config.Config, map[string]int, error) {
	c, lines, err := parseConfig(text)
	if err != nil {
		return c, lines, err
	}
	if err := k.Restore(c); err != nil {
		return nil, nil, err
	}
	return c, lines, nil
}

// Restore replaces the hidden values of c's keys by the filestore's
// (none without a Filestore: validation refuses hidden values).
func (k Codec) Restore(c *config.Config) error {
	if k.Filestore == "" {
		return nil
	}
	return k.restore(c)
}

// FilestoreFor is where the keys of a configuration saved at savedPath
// are kept: filestore/ beside it ("" when nothing is saved).
func FilestoreFor(savedPath string) string {
	if savedPath == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(savedPath), "filestore")
}

// Format prints a configuration as bigip.conf, keeping inline key
// material in the filestore first (unless Reveal).
func (k Codec) Format(c *config.Config) (string, error) {
	if k.Reveal {
		return formatWith(c, "", false, true), nil
	}
	if err := k.keep(c); err != nil {
		return "", err
	}
	return Text(c), nil
}

// passName is the filestore name of f's passphrase.
func passName(f *config.SysFile) string {
	src := []byte(f.Content)
	if f.Content == "" {
		src = []byte("source-path\x00" + f.SourcePath)
	}
	h := sha256.Sum256(src)
	return hex.EncodeToString(h[:]) + ".pass"
}

func pemName(content string) string {
	h := sha256.Sum256([]byte(content))
	return hex.EncodeToString(h[:]) + ".pem"
}

// keep writes the key material of c's keys to the filestore.
func (k Codec) keep(c *config.Config) error {
	for _, f := range config.SortedValues(c.Files) {
		if f.Type != config.FileSSLKey || f.Content == "" && f.Passphrase == "" {
			continue
		}
		if k.Filestore == "" {
			return fmt.Errorf("%s: a key inline and no filestore to keep it in", f.Ref())
		}
		if err := os.MkdirAll(k.Filestore, 0o700); err != nil {
			return fmt.Errorf("filestore: %w", err)
		}
		if f.Content != "" {
			if err := keepFile(filepath.Join(k.Filestore, pemName(f.Content)), f.Content); err != nil {
				return fmt.Errorf("%s content: %w", f.Ref(), err)
			}
		}
		if f.Passphrase != "" {
			if err := keepFile(filepath.Join(k.Filestore, passName(f)), f.Passphrase); err != nil {
				return fmt.Errorf("%s passphrase: %w", f.Ref(), err)
			}
		}
	}
	return nil
}

// keepFile writes data to path unless it holds it already.
func keepFile(path, data string) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, []byte(data)) {
		return nil
	}
	return atomicfile.Write(path, []byte(data), 0o600)
}

// restore replaces the hidden values of c's keys by the filestore's.
func (k Codec) restore(c *config.Config) error {
	var errs []error
	for _, f := range config.SortedValues(c.Files) {
		if h, ok := pemfile.ParseHidden(f.Content); ok {
			data, err := os.ReadFile(filepath.Join(k.Filestore, h+".pem"))
			switch {
			case errors.Is(err, fs.ErrNotExist):
				errs = append(errs, fmt.Errorf("%s content %s: not in this unit's filestore %s (a hidden key loads only where it was saved)", f.Ref(), f.Content, k.Filestore))
				continue
			case err != nil:
				errs = append(errs, fmt.Errorf("%s content: filestore: %w", f.Ref(), err))
				continue
			case !pemfile.Matches(f.Content, data):
				errs = append(errs, fmt.Errorf("%s content %s: the filestore's copy has another fingerprint", f.Ref(), f.Content))
				continue
			}
			f.Content = string(data)
		}
		if f.Passphrase == pemfile.HiddenPassphrase && !pemfile.IsHidden(f.Content) {
			data, err := os.ReadFile(filepath.Join(k.Filestore, passName(f)))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s passphrase: not in this unit's filestore %s: %w", f.Ref(), k.Filestore, pathless(err)))
				continue
			}
			f.Passphrase = string(data)
		}
	}
	return errors.Join(errs...)
}

func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// formatWith is FormatModule, printing keys in full when reveal is set.
func formatWith(c *config.Config, module string, all, reveal bool) string {
	var b strings.Builder
	for _, k := range Kinds {
		if module != "" && k.Module != module {
			continue
		}
		for _, name := range k.Stored(c) {
			if f := c.Files[name]; reveal && k.ConfigKind == config.KindSysFile && f != nil {
				printSysFileSecrets(&b, f, all, true)
				continue
			}
			k.Print(&b, c, name, all)
		}
	}
	for _, u := range c.Unknown {
		if module != "" && !strings.HasPrefix(u.Header, module+" ") {
			continue
		}
		b.WriteString(u.Text)
		b.WriteByte('\n')
	}
	return b.String()
}
