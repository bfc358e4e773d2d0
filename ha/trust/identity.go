package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"lbx/internal/atomicfile"
)

// Identity loads the device's key and certificate from dir, generating
// and keeping them at the first start (dir empty: a new pair, kept
// nowhere).
func Identity(dir, device string) (tls.Certificate, error) {
	if dir != "" {
		crt, key := filepath.Join(dir, "device.crt"), filepath.Join(dir, "device.key")
		c, err := tls.LoadX509KeyPair(crt, key)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return tls.Certificate{}, fmt.Errorf("device certificate %s: %w", crt, err)
		}
		certPEM, keyPEM, err := newIdentity(device)
		if err != nil {
			return tls.Certificate{}, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return tls.Certificate{}, fmt.Errorf("device certificate: %w", err)
		}
		if err := atomicfile.Write(key, keyPEM, 0o600); err != nil {
			return tls.Certificate{}, fmt.Errorf("device key: %w", err)
		}
		if err := atomicfile.Write(crt, certPEM, 0o644); err != nil {
			return tls.Certificate{}, fmt.Errorf("device certificate: %w", err)
		}
		return tls.X509KeyPair(certPEM, keyPEM)
	}
	certPEM, keyPEM, err := newIdentity(device)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// newIdentity makes an ECDSA P-256 key and a self-signed certificate
// naming the device, valid 20 years.
func newIdentity(device string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("device key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("device certificate: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: device, OrganizationalUnit: []string{"lbx HA device"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(20, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("device certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("device key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

// Fingerprint is a certificate's SHA-256 fingerprint, as BIG-IP shows
// one: colon-separated upper-case hex.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}
