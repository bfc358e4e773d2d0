package sshd

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// HostKeyFile is the host key's file name, kept next to the saved
// configuration.
const HostKeyFile = "ssh_host_ed25519_key"

// LoadOrCreateHostKey reads the host key at path (OpenSSH's private key
// format), or, when there is none, generates an ed25519 key and writes it
// there with mode 0600 (its directory too), so the appliance keeps its
// identity across restarts.
func LoadOrCreateHostKey(path string) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("ssh host key %s: %w", path, err)
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("ssh host key %s: %w", path, err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ssh host key %s: generate: %w", path, err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "lbx host key")
	if err != nil {
		return nil, fmt.Errorf("ssh host key %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("ssh host key %s: %w", path, err)
	}
	// O_EXCL: two appliances starting at once never overwrite each
	// other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ssh host key %s: %w", path, err)
	}
	if _, err := f.Write(pem.EncodeToMemory(blk)); err != nil {
		f.Close()
		return nil, fmt.Errorf("ssh host key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("ssh host key %s: %w", path, err)
	}
	return ssh.NewSignerFromKey(priv)
}
