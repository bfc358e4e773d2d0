package compile

import (
	"time"

	"lbx/ctrlplane/config"
	"lbx/dataplane"
)

// Built-in profiles of HTTP virtuals, with BIG-IP's defaults.
const (
	profileHTTP       = "/Common/http"
	profileOneConnect = "/Common/oneconnect"
)

// builtinHTTP is /Common/http: insert-xforwarded-for disabled, no header
// edits, redirect-rewrite none, server-agent-name BigIP, max-header-size
// 32768.
func builtinHTTP() *dataplane.L7 {
	return &dataplane.L7{RedirectRewrite: "none", ServerAgent: "BigIP", MaxHeaderSize: 32768}
}

// builtinOneConnect is /Common/oneconnect: source-mask 0.0.0.0 (every
// client shares), max-reuse 1000, max-size 10000, and idle connections
// closed after the server side's TCP idle timeout (300 s).
func builtinOneConnect() *dataplane.L7OneConnect {
	return &dataplane.L7OneConnect{SourceMask: 0, MaxReuse: 1000, MaxSize: 10000, IdleTimeout: 300 * time.Second}
}

// compileL7 returns the layer-7 spec of a virtual with an http profile,
// nil for a layer-4 virtual. config.Validate checked the profiles (http
// needs tcp; one-connect needs http).
func compileL7(v *config.Virtual, warn func(obj config.Ref, prop, what string)) *dataplane.L7 {
	var l7 *dataplane.L7
	oc := false
	for _, p := range v.Profiles {
		switch p.Name {
		case profileHTTP:
			l7 = builtinHTTP()
		case profileOneConnect:
			oc = true
		}
	}
	if l7 == nil {
		return nil
	}
	if oc {
		l7.OneConnect = builtinOneConnect()
	}
	obj := config.Ref{Kind: config.KindVirtual, Name: v.Name}
	if v.SNAT != config.SNATAutomap {
		warn(obj, "source-address-translation", "server-side connections of an HTTP virtual leave from the self IP on the member's network, as with automap")
	}
	return l7
}
