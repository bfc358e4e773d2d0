package pemfile

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

// testPair makes a self-signed certificate for key.
func testPair(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "www.example.com"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), DNSNames: []string{"www.example.com"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func ecKey(t testing.TB) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func encrypt(t testing.TB, typ string, der []byte, pass string) []byte {
	t.Helper()
	//lint:ignore SA1019 the test makes the traditional encrypted PEM that Key reads.
	b, err := x509.EncryptPEMBlock(rand.Reader, typ, der, []byte(pass), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(b)
}

func TestPairAndKeys(t *testing.T) {
	ec, ecPEM := ecKey(t)
	ecCert := testPair(t, ec)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaCert := testPair(t, rk)
	pkcs1 := x509.MarshalPKCS1PrivateKey(rk)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rk)
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	for _, tc := range []struct {
		name       string
		cert, key  []byte
		passphrase string
		want       error // nil: a working pair
	}{
		{"ec", ecCert, ecPEM, "", nil},
		{"rsa pkcs1", rsaCert, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: pkcs1}), "", nil},
		{"rsa pkcs8", rsaCert, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), "", nil},
		{"rsa encrypted", rsaCert, encrypt(t, "RSA PRIVATE KEY", pkcs1, "s3cret"), "s3cret", nil},
		{"ec encrypted", ecCert, encrypt(t, "EC PRIVATE KEY", ecDER, "s3cret"), "s3cret", nil},
		{"ec params first", ecCert, append([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"), ecPEM...), "", nil},
		{"wrong passphrase", rsaCert, encrypt(t, "RSA PRIVATE KEY", pkcs1, "s3cret"), "guess", ErrWrongPassphrase},
		{"no passphrase", rsaCert, encrypt(t, "RSA PRIVATE KEY", pkcs1, "s3cret"), "", ErrNeedPassphrase},
		{"passphrase for a plain key", ecCert, ecPEM, "x", ErrUnusedPassphrase},
		{"encrypted pkcs8", ecCert, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), "x", ErrEncryptedPKCS8},
		{"mismatch", rsaCert, ecPEM, "", ErrMismatch},
		{"key is a cert", ecCert, ecCert, "", ErrNotKey},
		{"cert is a key", ecPEM, ecPEM, "", ErrNotCert},
		{"not pem", []byte("hello"), ecPEM, "", ErrNotPEM},
		{"key not pem", ecCert, []byte("hello"), "", ErrNotPEM},
		{"garbage key", ecCert, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "", ErrNotKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pair, err := Pair(tc.cert, tc.key, tc.passphrase)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Pair: %v, want %v", err, tc.want)
			}
			if err != nil {
				if tc.passphrase != "" && strings.Contains(err.Error(), tc.passphrase) {
					t.Errorf("the error quotes the passphrase: %v", err)
				}
				return
			}
			if pair.Leaf == nil || len(pair.Certificate) != 1 || pair.PrivateKey == nil {
				t.Fatalf("pair %+v", pair)
			}
		})
	}
}

func TestHidden(t *testing.T) {
	h := Hidden([]byte("k"))
	if !strings.HasPrefix(h, "<hidden sha256:") || !Matches(h, []byte("k")) || Matches(h, []byte("j")) {
		t.Fatalf("Hidden %q", h)
	}
	hex, ok := ParseHidden(h)
	if !ok || "<hidden sha256:"+hex+">" != h {
		t.Fatalf("ParseHidden(%q) = %q, %v", h, hex, ok)
	}
	for _, bad := range []string{"", "<hidden>", "<hidden sha256:>", "<hidden sha256:" + strings.Repeat("G", 64) + ">", "<hidden sha256:" + strings.Repeat("A", 64) + ">", h[:len(h)-1]} {
		if _, ok := ParseHidden(bad); ok {
			t.Errorf("ParseHidden(%q) accepted", bad)
		}
	}
	if !IsHidden(HiddenPassphrase) || !IsHidden(h) || IsHidden("secret") {
		t.Error("IsHidden")
	}
	if got := Checksum([]byte("abc")); got != "SHA1:3:a9993e364706816aba3e25717850c26c9cd0d89d" {
		t.Errorf("Checksum = %s", got)
	}
}

// FuzzKey: Key and Certs never panic, and whatever Key accepts is a key
// whose public half Match accepts against itself.
func FuzzKey(f *testing.F) {
	ec, ecPEM := ecKey(f)
	f.Add(ecPEM, "")
	f.Add(testPair(f, ec), "")
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	f.Add(encrypt(f, "EC PRIVATE KEY", ecDER, "pw"), "pw")
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\n-----END ENCRYPTED PRIVATE KEY-----\n"), "")
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"), "x")
	f.Fuzz(func(t *testing.T, data []byte, pass string) {
		if k, err := Key(data, pass); err == nil && (k == nil || k.Public() == nil) {
			t.Fatal("nil key without an error")
		}
		if cs, err := Certs(data); err == nil && len(cs) == 0 {
			t.Fatal("no certificates without an error")
		}
		if p, err := Pair(data, data, pass); err == nil && p.Leaf == nil {
			t.Fatal("a pair without its leaf")
		}
		if h, ok := ParseHidden(string(data)); ok && "<hidden sha256:"+h+">" != string(data) {
			t.Fatalf("ParseHidden(%q) = %q", data, h)
		}
	})
}

func TestSelfSignedEncrypt(t *testing.T) {
	c, k, err := SelfSigned("a.example", "b.example")
	if err != nil {
		t.Fatal(err)
	}
	ek, err := Encrypt(k, "pw")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Pair(c, ek, "pw")
	if err != nil || p.Leaf.Subject.CommonName != "a.example" {
		t.Fatalf("Pair: %v", err)
	}
	if _, err := Pair(c, ek, "no"); !errors.Is(err, ErrWrongPassphrase) || Field(err) != "passphrase" {
		t.Fatalf("wrong passphrase: %v (field %s)", err, Field(err))
	}
}

// BenchmarkPair: what loading one profile's pair costs at apply, plain
// and with a traditional encrypted key.
func BenchmarkPair(b *testing.B) {
	c, k, err := SelfSigned("bench.example")
	if err != nil {
		b.Fatal(err)
	}
	ek, err := Encrypt(k, "pw")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		key  []byte
		pass string
	}{{"plain", k, ""}, {"encrypted", ek, "pw"}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Pair(c, tc.key, tc.pass); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
