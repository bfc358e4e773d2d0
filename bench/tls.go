package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lbx/testbed"
)

// certFiles are the one certificate every TLS contender serves: an ECDSA
// P-256 self-signed certificate made for the run, as PEM files (Cert and
// Key for lbx's client-ssl profile, PEM both in one file for HAProxy).
type certFiles struct{ Cert, Key, PEM string }

// writeCert makes the run's certificate in dir.
func writeCert(dir string) (certFiles, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return certFiles{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "lbx-bench"},
		DNSNames:     []string{"lbx-bench"},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return certFiles{}, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return certFiles{}, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	f := certFiles{Cert: filepath.Join(dir, "bench.crt"), Key: filepath.Join(dir, "bench.key"), PEM: filepath.Join(dir, "bench.pem")}
	for _, w := range []struct {
		path string
		b    []byte
	}{{f.Cert, certPEM}, {f.Key, keyPEM}, {f.PEM, append(append([]byte{}, certPEM...), keyPEM...)}} {
		if err := os.WriteFile(w.path, w.b, 0o600); err != nil {
			return certFiles{}, err
		}
	}
	return f, nil
}

// tlsParams is what one TLS handshake negotiated.
type tlsParams struct{ Version, Suite, Group string }

func (p tlsParams) String() string { return p.Version + ", " + p.Suite + ", " + p.Group }

// parseSClient reads `openssl s_client -brief`'s summary:
//
//	Protocol version: TLSv1.3
//	Ciphersuite: TLS_AES_128_GCM_SHA256
//	Server Temp Key: X25519, 253 bits
func parseSClient(out string) (tlsParams, error) {
	var p tlsParams
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Protocol version":
			p.Version = v
		case "Ciphersuite":
			p.Suite = v
		case "Server Temp Key", "Negotiated TLS1.3 group":
			g, _, _ := strings.Cut(v, ",")
			p.Group = g
		}
	}
	if p.Version == "" || p.Suite == "" || p.Group == "" {
		return p, fmt.Errorf("openssl s_client: no protocol, ciphersuite or key exchange group in %q", out)
	}
	return p, nil
}

// checkTLS makes one handshake with t's TLS port from the client, with
// OpenSSL's default client settings (wrk's library and defaults), and
// returns what was negotiated; it must be the bench's pinned parameters,
// so that every contender does the same cryptographic work.
func checkTLS(ctx context.Context, tb *testbed.Testbed, t target) (tlsParams, error) {
	c, err := tb.Command("client", "openssl", "s_client", "-brief", "-connect", fmt.Sprintf("%s:%d", t.L7, tlsPort))
	if err != nil {
		return tlsParams{}, err
	}
	c.Stdin = strings.NewReader("")
	var out strings.Builder
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		return tlsParams{}, err
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		c.Process.Kill()
		<-done
		return tlsParams{}, fmt.Errorf("%s: openssl s_client: no answer in 10s", t.Name)
	case <-ctx.Done():
		c.Process.Kill()
		<-done
		return tlsParams{}, ctx.Err()
	}
	p, perr := parseSClient(out.String())
	if perr != nil {
		return p, fmt.Errorf("%s: %w (exit: %v)", t.Name, perr, err)
	}
	if want := (tlsParams{tlsVersion, tlsSuite, tlsGroup}); p != want {
		return p, fmt.Errorf("%s negotiated %s, want %s", t.Name, p, want)
	}
	return p, nil
}
