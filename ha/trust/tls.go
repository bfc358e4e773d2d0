package trust

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
)

// Accept decides on the certificate (DER) the other side presented: nil
// accepts it.
type Accept func(raw []byte) error

// Pinned accepts only pin.
func Pinned(pin []byte) Accept {
	return func(raw []byte) error {
		if !bytes.Equal(raw, pin) {
			return fmt.Errorf("the peer presented certificate %s, not the trusted one %s", Fingerprint(raw), Fingerprint(pin))
		}
		return nil
	}
}

// verify is the VerifyConnection of both configurations: the other
// side's leaf certificate goes to accept (nil: any).
func verify(accept Accept) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the peer presented no certificate")
		}
		if accept == nil {
			return nil
		}
		return accept(cs.PeerCertificates[0].Raw)
	}
}

// ClientConfig is the TLS configuration towards a peer: TLS 1.3, this
// unit's certificate, and the peer's taken when accept returns nil (nil:
// any, as the trust step takes it on first use).
func ClientConfig(cert tls.Certificate, accept Accept) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		// The chain is not verified against CAs: the peer's certificate
		// is pinned, checked by accept.
		InsecureSkipVerify: true,
		VerifyConnection:   verify(accept),
	}
}

// ServerConfig is the TLS configuration a unit serves peers with: TLS
// 1.3, this unit's certificate, a client certificate required and taken
// when accept returns nil (nil: any; the caller decides per request, as
// config sync's trust step must take an unknown one).
func ServerConfig(cert tls.Certificate, accept Accept) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		ClientAuth:       tls.RequireAnyClientCert,
		VerifyConnection: verify(accept),
	}
}
