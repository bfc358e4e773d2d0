package pemfile

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadOrCreate returns the configured PEM pair, or the self-signed one
// for names kept in stateDir as rest.crt and rest.key (made there at the
// first start), or, without a stateDir, a new one: the REST server's own.
func LoadOrCreate(certFile, keyFile, stateDir string, names ...string) (tls.Certificate, error) {
	if certFile != "" || keyFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return c, fmt.Errorf("certificate %s, key %s: %w", certFile, keyFile, err)
		}
		return c, nil
	}
	if stateDir == "" {
		certPEM, keyPEM, err := SelfSigned(names...)
		if err != nil {
			return tls.Certificate{}, err
		}
		return tls.X509KeyPair(certPEM, keyPEM)
	}
	certFile, keyFile = filepath.Join(stateDir, "rest.crt"), filepath.Join(stateDir, "rest.key")
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err == nil {
		return c, nil
	}
	_, cerr := os.Stat(certFile)
	_, kerr := os.Stat(keyFile)
	if !errors.Is(cerr, fs.ErrNotExist) || !errors.Is(kerr, fs.ErrNotExist) {
		return c, fmt.Errorf("kept certificate %s: %w (remove both files to make a new one)", certFile, err)
	}
	certPEM, keyPEM, err := SelfSigned(names...)
	if err != nil {
		return c, err
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return c, err
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return c, err
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return c, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}
