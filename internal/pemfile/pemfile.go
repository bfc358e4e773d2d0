package pemfile

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The errors Certs, Key and Pair return, wrapped; callers add the object
// and field.
var (
	ErrNotPEM           = errors.New("not PEM (no -----BEGIN ...----- block)")
	ErrNotCert          = errors.New("not a certificate")
	ErrNotKey           = errors.New("not a private key")
	ErrNeedPassphrase   = errors.New("the key is encrypted and no passphrase is given")
	ErrWrongPassphrase  = errors.New("wrong passphrase")
	ErrEncryptedPKCS8   = errors.New("encrypted PKCS#8 (BEGIN ENCRYPTED PRIVATE KEY) is not supported: give the key unencrypted or in traditional encrypted PEM (openssl rsa|ec -aes256)")
	ErrMismatch         = errors.New("the key does not match the certificate")
	ErrUnusedPassphrase = errors.New("a passphrase is given but the key is not encrypted")
)

// MaxSize bounds the PEM text of one object: a long chain is a few tens of
// kilobytes.
const MaxSize = 1 << 20

// Certs parses a PEM certificate chain: one or more CERTIFICATE blocks,
// the server's first. Text around the blocks is ignored, as openssl
// ignores it; a block of another type is refused.
func Certs(data []byte) ([]*x509.Certificate, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxSize)
	}
	var out []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: PEM block %d is %q, want CERTIFICATE", ErrNotCert, len(out)+1, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: PEM block %d: %v", ErrNotCert, len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, ErrNotPEM
	}
	return out, nil
}

// Key parses a PEM private key: PKCS#1 RSA, SEC 1 EC or PKCS#8 (RSA,
// ECDSA, Ed25519), unencrypted or in traditional encrypted PEM
// (Proc-Type: 4,ENCRYPTED, DEK-Info), which passphrase decrypts. Blocks
// before the key that are not keys (EC PARAMETERS) are skipped. A
// passphrase given for an unencrypted key is refused, so that a saved
// passphrase always means something.
func Key(data []byte, passphrase string) (crypto.Signer, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxSize)
	}
	rest := data
	seen := false
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		seen = true
		switch {
		case b.Type == "ENCRYPTED PRIVATE KEY":
			return nil, ErrEncryptedPKCS8
		case b.Type == "EC PARAMETERS":
			continue
		case !strings.HasSuffix(b.Type, "PRIVATE KEY"):
			return nil, fmt.Errorf("%w: PEM block is %q, want a PRIVATE KEY", ErrNotKey, b.Type)
		}
		der := b.Bytes
		//lint:ignore SA1019 traditional PEM encryption is what BIG-IP's keys and openssl's -aes256 use; it is read, never written.
		encrypted := x509.IsEncryptedPEMBlock(b)
		switch {
		case encrypted && passphrase == "":
			return nil, ErrNeedPassphrase
		case !encrypted && passphrase != "":
			return nil, ErrUnusedPassphrase
		case encrypted:
			//lint:ignore SA1019 see above: reading traditional encrypted PEM.
			d, err := x509.DecryptPEMBlock(b, []byte(passphrase))
			if err != nil {
				if errors.Is(err, x509.IncorrectPasswordError) {
					return nil, ErrWrongPassphrase
				}
				return nil, fmt.Errorf("%w: %v", ErrNotKey, err)
			}
			der = d
		}
		k, err := parseDER(b.Type, der)
		if err != nil {
			if encrypted {
				// A wrong passphrase usually decrypts to garbage with a
				// valid padding by chance.
				return nil, ErrWrongPassphrase
			}
			return nil, fmt.Errorf("%w: %v", ErrNotKey, err)
		}
		return k, nil
	}
	if seen {
		return nil, fmt.Errorf("%w: no PRIVATE KEY block", ErrNotKey)
	}
	return nil, ErrNotPEM
}

func parseDER(typ string, der []byte) (crypto.Signer, error) {
	var k any
	var err error
	switch typ {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(der)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(der)
	default:
		return nil, fmt.Errorf("PEM block %q: unknown key type", typ)
	}
	if err != nil {
		return nil, errors.New("the key's contents do not parse")
	}
	switch s := k.(type) {
	case *rsa.PrivateKey:
		return s, nil
	case *ecdsa.PrivateKey:
		return s, nil
	case ed25519.PrivateKey:
		return s, nil
	}
	return nil, fmt.Errorf("key type %T is not supported", k)
}

// Pair builds a TLS certificate from a PEM chain and key and checks that
// the key is the first certificate's.
func Pair(certPEM, keyPEM []byte, passphrase string) (tls.Certificate, error) {
	certs, err := Certs(certPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cert: %w", err)
	}
	key, err := Key(keyPEM, passphrase)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("key: %w", err)
	}
	if err := Match(certs[0], key); err != nil {
		return tls.Certificate{}, err
	}
	out := tls.Certificate{PrivateKey: key, Leaf: certs[0]}
	for _, c := range certs {
		out.Certificate = append(out.Certificate, c.Raw)
	}
	return out, nil
}

// Match reports whether key is the private key of cert's public key.
func Match(cert *x509.Certificate, key crypto.Signer) error {
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return ErrMismatch
	}
	return nil
}

// Fingerprint names data by its SHA-256: "sha256:HEX".
func Fingerprint(data []byte) string {
	h := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(h[:])
}

// Hidden is what is printed in place of key material: "<hidden
// sha256:HEX>", enough to compare two keys and nothing to use one.
func Hidden(data []byte) string { return "<hidden " + Fingerprint(data) + ">" }

// HiddenPassphrase is what is printed in place of a passphrase. It carries
// no fingerprint: a passphrase is guessable from its hash.
const HiddenPassphrase = "<hidden>"

// ParseHidden reads a Hidden value back: the hex SHA-256 it names.
func ParseHidden(s string) (string, bool) {
	h, ok := strings.CutPrefix(s, "<hidden sha256:")
	if !ok {
		return "", false
	}
	h, ok = strings.CutSuffix(h, ">")
	if !ok || len(h) != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(h); err != nil || strings.ToLower(h) != h {
		return "", false
	}
	return h, true
}

// IsHidden reports whether s is a Hidden value or HiddenPassphrase.
func IsHidden(s string) bool {
	_, ok := ParseHidden(s)
	return ok || s == HiddenPassphrase
}

// Matches reports whether hidden is the Hidden value of data.
func Matches(hidden string, data []byte) bool {
	return hidden == Hidden(data)
}

// Checksum is BIG-IP's sys file checksum, "SHA1:SIZE:HEX", which Ansible's
// bigip_ssl_certificate and bigip_ssl_key compare with the SHA-1 of the
// content they would upload.
func Checksum(data []byte) string {
	h := sha1.Sum(data)
	return "SHA1:" + strconv.Itoa(len(data)) + ":" + hex.EncodeToString(h[:])
}

// Field is the sys file property an error of Key is about: "passphrase"
// for a missing, wrong or needless passphrase, else "content".
func Field(err error) string {
	if errors.Is(err, ErrWrongPassphrase) || errors.Is(err, ErrNeedPassphrase) || errors.Is(err, ErrUnusedPassphrase) {
		return "passphrase"
	}
	return "content"
}
