package trust

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The identity is made once and read back from its directory; a
// directory-less one is new each time.
func TestIdentityKept(t *testing.T) {
	dir := t.TempDir()
	a, err := Identity(dir, "lbx1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Identity(dir, "lbx1")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Certificate[0], b.Certificate[0]) {
		t.Error("the second load made a new certificate")
	}
	leaf, err := x509.ParseCertificate(a.Certificate[0])
	if err != nil || leaf.Subject.CommonName != "lbx1" {
		t.Errorf("certificate: %v, CN %q, want lbx1", err, leaf.Subject.CommonName)
	}
	c, err := Identity("", "lbx1")
	if err != nil || bytes.Equal(c.Certificate[0], a.Certificate[0]) {
		t.Errorf("directory-less identity: %v, the same certificate %v", err, err == nil)
	}
	if fp := Fingerprint(a.Certificate[0]); !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(fp) {
		t.Errorf("fingerprint %q", fp)
	}
}

// A real TLS 1.3 exchange over loopback: both sides pinned to each
// other's certificate pass; a client with another certificate is refused
// by the server, and a client pinned to another one refuses the server.
func TestPinnedMutualTLS(t *testing.T) {
	srvCert, _ := Identity("", "srv")
	cliCert, _ := Identity("", "cli")
	other, _ := Identity("", "other")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 3)
	go func() {
		for range 3 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := tls.Server(c, ServerConfig(srvCert, Pinned(cliCert.Certificate[0])))
			tc.SetDeadline(time.Now().Add(5 * time.Second))
			err = tc.Handshake()
			if err == nil {
				_, err = tc.Write([]byte{1})
			}
			done <- err
			tc.Close()
		}
	}()
	dial := func(cert tls.Certificate, pin []byte) error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), ClientConfig(cert, Pinned(pin)))
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		var b [1]byte
		_, err = c.Read(b[:])
		return err
	}
	if err := dial(cliCert, srvCert.Certificate[0]); err != nil || <-done != nil {
		t.Fatalf("pinned both ways: %v", err)
	}
	if err := dial(other, srvCert.Certificate[0]); err == nil || !strings.Contains(err.Error(), "bad certificate") {
		t.Errorf("another client certificate: %v, want bad certificate", err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "not the trusted one") {
		t.Errorf("server side: %v, want the pin's refusal", err)
	}
	if err := dial(cliCert, other.Certificate[0]); err == nil || !strings.Contains(err.Error(), "not the trusted one") {
		t.Errorf("server not the pinned one: %v, want the pin's refusal", err)
	}
	<-done
}
