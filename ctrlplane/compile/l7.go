package compile

import (
	"strings"
	"time"

	"lbx/ctrlplane/config"
	"lbx/dataplane/l7spec"
)

// tcpIdleTimeout is the server side's TCP idle timeout, which closes idle
// one-connect connections when the profile has no idle-timeout-override.
const tcpIdleTimeout = 300 * time.Second

// compileL7 returns the layer-7 spec of a virtual with an http profile
// (ltm profile http, /Common/http's defaults for what it does not set),
// nil for a layer-4 virtual. config.Validate checked the profiles (one of
// each type; http needs tcp; one-connect needs http).
func compileL7(c *config.Config, v *config.Virtual, add func(obj config.Ref, prop string, err error), warn func(obj config.Ref, prop, what string)) *l7spec.Spec {
	var l7 *l7spec.Spec
	var oc *config.LTMProfile
	var client []l7spec.Cert
	var server *l7spec.Cert
	for _, p := range v.Profiles {
		lp := c.LookupProfile(p.Name)
		if lp == nil {
			continue
		}
		e := c.EffectiveProfile(lp)
		switch lp.Type {
		case config.ProfileHTTP:
			l7 = &l7spec.Spec{
				InsertXFF: e.InsertXFF.V, RedirectRewrite: e.RedirectRewrite.V, ServerAgent: e.ServerAgentName.V,
				MaxHeaderSize: int(e.MaxHeaderSize.V), MaxRequests: int(e.MaxRequests.V),
			}
			if h := strings.TrimSpace(e.HeaderInsert.V); h != "" {
				l7.HeaderInsert = []string{h}
			}
			if h := strings.TrimSpace(e.HeaderErase.V); h != "" {
				l7.HeaderErase = []string{h}
			}
		case config.ProfileOneConnect:
			oc = &e
		case config.ProfileClientSSL:
			ct := tlsCert(c, lp.Name, &e)
			ct.SNI, ct.Default = e.ServerName.V, e.SNIDefault.V
			client = append(client, ct)
		case config.ProfileServerSSL:
			ct := tlsCert(c, lp.Name, &e)
			server = &ct
		}
	}
	if l7 == nil {
		return nil
	}
	l7.ClientTLS, l7.ServerTLS = client, server
	obj := config.Ref{Kind: config.KindVirtual, Name: v.Name}
	if oc != nil {
		bits, err := config.MaskBits(oc.SourceMask.V)
		if err != nil {
			add(obj, "profiles "+oc.Name+" source-mask "+oc.SourceMask.V, err)
			return nil
		}
		l7.OneConnect = &l7spec.OneConnect{SourceMask: bits, MaxReuse: int(oc.MaxReuse.V), MaxSize: int(oc.MaxSize.V), IdleTimeout: tcpIdleTimeout}
		if oc.IdleTimeoutOverride.V > 0 {
			l7.OneConnect.IdleTimeout = time.Duration(oc.IdleTimeoutOverride.V) * time.Second
		}
	}
	if v.SNAT == config.SNATNone {
		warn(obj, "source-address-translation type none", "server-side connections of an HTTP virtual leave from the self IP on the member's network, as with automap (the proxy cannot send from the client's address)")
	}
	return l7
}

// tlsCert is a client-ssl or server-ssl profile's certificate and key:
// sys file ssl-cert and ssl-key objects, or file paths.
func tlsCert(c *config.Config, profile string, e *config.LTMProfile) l7spec.Cert {
	ct := l7spec.Cert{Profile: profile}
	ct.CertFile, ct.CertObj = c.ResolveFile(config.FileSSLCert, e.Cert.V)
	ct.KeyFile, ct.KeyObj = c.ResolveFile(config.FileSSLKey, e.Key.V)
	if f := c.FileObject(config.FileSSLCert, e.Cert.V); f != nil {
		ct.CertPEM = f.Content
	}
	if f := c.FileObject(config.FileSSLKey, e.Key.V); f != nil {
		ct.KeyPEM, ct.Passphrase = f.Content, f.Passphrase
	}
	return ct
}
