package config

import (
	"errors"
	"strconv"
	"strings"
)

// ProfileType is the type of an `ltm profile TYPE` object lbx runs.
type ProfileType uint8

// Profile types lbx knows: those of HTTP virtual servers.
const (
	ProfileHTTP ProfileType = iota
	ProfileOneConnect
	ProfileClientSSL
	ProfileServerSSL
	ProfileTypeCount
)

var profileTypeNames = [ProfileTypeCount]string{"http", "one-connect", "client-ssl", "server-ssl"}

// String returns the tmsh name of the type.
func (t ProfileType) String() string {
	if t < ProfileTypeCount {
		return profileTypeNames[t]
	}
	return "type-" + strconv.Itoa(int(t))
}

// Builtin is the full name of the type's built-in profile: /Common/http,
// /Common/oneconnect, /Common/clientssl, /Common/serverssl.
func (t ProfileType) Builtin() string {
	return "/" + CommonPartition + "/" + strings.ReplaceAll(t.String(), "-", "")
}

// LTMProfile is an `ltm profile http NAME` or `ltm profile one-connect
// NAME`: the settings of an HTTP virtual's proxy (package l7/proxy).
// Properties not set are inherited from defaults-from.
type LTMProfile struct {
	Name         string
	Type         ProfileType
	DefaultsFrom string // full name; ApplyDefaults sets the type's built-in
	Description  string

	// http
	InsertXFF       Opt[bool]   // insert-xforwarded-for
	HeaderInsert    Opt[string] // one "Name: value", "" for none
	HeaderErase     Opt[string] // a header name, "" for none
	RedirectRewrite Opt[string] // none, all, matching, nodes
	ServerAgentName Opt[string]
	MaxHeaderSize   Opt[uint32]
	MaxRequests     Opt[uint32] // 0: no limit

	// one-connect
	SourceMask          Opt[string] // an address mask; 0.0.0.0 shares among every client
	MaxReuse            Opt[uint32]
	MaxSize             Opt[uint32]
	IdleTimeoutOverride Opt[uint32] // seconds; 0 (disabled): the TCP idle timeout, 300 s

	// client-ssl, server-ssl: TLS. Cert and Key are PEM files on the
	// appliance (absolute paths; BIG-IP names sys file objects there),
	// "" for none; the key's content is never read into the
	// configuration, so it is never printed.
	Cert       Opt[string]
	Key        Opt[string]
	ServerName Opt[string] // client-ssl: the SNI name it serves, "" for any
	SNIDefault Opt[bool]   // client-ssl: the profile for clients without a matching SNI
	Extras
}

func (p *LTMProfile) Clone() *LTMProfile { x := *p; x.Extras = p.Extras.Clone(); return &x }

// Ref returns the Ref of a profile.
func (p *LTMProfile) Ref() Ref { return Ref{KindProfile, p.Type.String(), p.Name} }

func (p *LTMProfile) applyDefaults() {
	if p.DefaultsFrom == "" {
		p.DefaultsFrom = p.Type.Builtin()
	}
}

var builtinProfiles = map[string]*LTMProfile{
	"/Common/http": {
		Name: "/Common/http", Type: ProfileHTTP,
		InsertXFF: Some(false), HeaderInsert: Some(""), HeaderErase: Some(""), RedirectRewrite: Some("none"),
		ServerAgentName: Some("BigIP"), MaxHeaderSize: Some[uint32](32768), MaxRequests: Some[uint32](0),
	},
	"/Common/oneconnect": {
		Name: "/Common/oneconnect", Type: ProfileOneConnect,
		SourceMask: Some("0.0.0.0"), MaxReuse: Some[uint32](1000), MaxSize: Some[uint32](10000), IdleTimeoutOverride: Some[uint32](0),
	},
	"/Common/clientssl": {
		Name: "/Common/clientssl", Type: ProfileClientSSL,
		Cert: Some(""), Key: Some(""), ServerName: Some(""), SNIDefault: Some(false),
	},
	"/Common/serverssl": {
		Name: "/Common/serverssl", Type: ProfileServerSSL,
		Cert: Some(""), Key: Some(""), ServerName: Some(""), SNIDefault: Some(false),
	},
}

// BuiltinProfile returns a built-in profile, nil for none.
func BuiltinProfile(name string) *LTMProfile { return builtinProfiles[name] }

// LookupProfile finds a profile of the configuration or a built-in.
func (c *Config) LookupProfile(name string) *LTMProfile {
	if p := c.Profiles[name]; p != nil {
		return p
	}
	return BuiltinProfile(name)
}

// EffectiveProfile returns p with every property it does not set taken
// from its defaults-from chain, ending at its type's built-in.
func (c *Config) EffectiveProfile(p *LTMProfile) LTMProfile {
	x := *p
	seen := map[string]bool{p.Name: true}
	for q := c.LookupProfile(p.DefaultsFrom); q != nil && !seen[q.Name] && q.Type == p.Type; q = c.LookupProfile(q.DefaultsFrom) {
		seen[q.Name] = true
		x.inherit(q)
	}
	x.inherit(builtinProfiles[p.Type.Builtin()])
	return x
}

func (p *LTMProfile) inherit(q *LTMProfile) {
	inherit(&p.InsertXFF, q.InsertXFF)
	inherit(&p.HeaderInsert, q.HeaderInsert)
	inherit(&p.HeaderErase, q.HeaderErase)
	inherit(&p.RedirectRewrite, q.RedirectRewrite)
	inherit(&p.ServerAgentName, q.ServerAgentName)
	inherit(&p.MaxHeaderSize, q.MaxHeaderSize)
	inherit(&p.MaxRequests, q.MaxRequests)
	inherit(&p.SourceMask, q.SourceMask)
	inherit(&p.MaxReuse, q.MaxReuse)
	inherit(&p.MaxSize, q.MaxSize)
	inherit(&p.IdleTimeoutOverride, q.IdleTimeoutOverride)
	inherit(&p.Cert, q.Cert)
	inherit(&p.Key, q.Key)
	inherit(&p.ServerName, q.ServerName)
	inherit(&p.SNIDefault, q.SNIDefault)
}

// validateProfiles checks defaults-from chains and the values.
func validateProfiles(c *Config, add func(Ref, string, error)) {
	for _, p := range SortedValues(c.Profiles) {
		obj := p.Ref()
		checkDefaultsFrom(obj, p, "profile", ErrNoSuchProfile, c.LookupProfile, func(x *LTMProfile) (string, string, string) {
			return x.Name, x.Type.String(), x.DefaultsFrom
		}, add)
		e := c.EffectiveProfile(p)
		if p.HeaderInsert.Set && p.HeaderInsert.V != "" {
			if k, _, ok := cutColon(p.HeaderInsert.V); !ok || k == "" {
				add(obj, "header-insert "+strconv.Quote(p.HeaderInsert.V), errors.New("want \"Name: value\""))
			}
		}
		if p.SourceMask.Set {
			if _, err := MaskBits(p.SourceMask.V); err != nil {
				add(obj, "source-mask "+p.SourceMask.V, err)
			}
		}
		// cert and key: validateFiles.
		if p.Type == ProfileHTTP && e.MaxHeaderSize.V < 256 {
			add(obj, "max-header-size "+strconv.FormatUint(uint64(e.MaxHeaderSize.V), 10), errors.New("want at least 256"))
		}
	}
}

func cutColon(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			k := s[:i]
			for len(k) > 0 && (k[len(k)-1] == ' ' || k[len(k)-1] == '\t') {
				k = k[:len(k)-1]
			}
			return k, s[i+1:], true
		}
	}
	return "", "", false
}
