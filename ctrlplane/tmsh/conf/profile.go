package conf

import (
	"net/netip"
	"strings"

	"lbx/ctrlplane/config"
)

var (
	ph, po         = uint8(config.ProfileHTTP), uint8(config.ProfileOneConnect)
	pcs, pss       = uint8(config.ProfileClientSSL), uint8(config.ProfileServerSSL)
	pathHelpSuffix = ": a sys file object, or the absolute path of a PEM file on the appliance, none for none"

	// profileFields are the inheritable properties of ltm profile http and
	// one-connect, in name order.
	profileFields = []optField[config.LTMProfile]{
		optText("cert", "certificate chain (sys file ssl-cert)"+pathHelpSuffix, func(p *config.LTMProfile) *config.Opt[string] { return &p.Cert }).on(pcs, pss),
		optText("header-erase", "request header removed, none for no header", func(p *config.LTMProfile) *config.Opt[string] { return &p.HeaderErase }).on(ph),
		optText("header-insert", `request header added, "Name: value", none for no header`, func(p *config.LTMProfile) *config.Opt[string] { return &p.HeaderInsert }).on(ph),
		optUint("idle-timeout-override", "seconds an idle server connection is kept, 0 (disabled) for the TCP idle timeout", config.Range{Lo: 0, Hi: 86400},
			func(p *config.LTMProfile) *config.Opt[uint32] { return &p.IdleTimeoutOverride }).on(po),
		optSwitch("insert-xforwarded-for", "add X-Forwarded-For with the client address", func(p *config.LTMProfile) *config.Opt[bool] { return &p.InsertXFF }).on(ph),
		optText("key", "private key (sys file ssl-key)"+pathHelpSuffix, func(p *config.LTMProfile) *config.Opt[string] { return &p.Key }).on(pcs, pss),
		optUint("max-header-size", "bytes of request line and headers", config.Range{Lo: 256, Hi: 1 << 20},
			func(p *config.LTMProfile) *config.Opt[uint32] { return &p.MaxHeaderSize }).on(ph),
		optUint("max-requests", "requests per client connection, 0 for no limit", config.Range{Lo: 0, Hi: 1 << 31},
			func(p *config.LTMProfile) *config.Opt[uint32] { return &p.MaxRequests }).on(ph),
		optUint("max-reuse", "requests per server connection", config.Range{Lo: 1, Hi: 1 << 31},
			func(p *config.LTMProfile) *config.Opt[uint32] { return &p.MaxReuse }).on(po),
		optUint("max-size", "idle server connections kept", config.Range{Lo: 0, Hi: 1 << 31},
			func(p *config.LTMProfile) *config.Opt[uint32] { return &p.MaxSize }).on(po),
		optWord("redirect-rewrite", func(p *config.LTMProfile) *config.Opt[string] { return &p.RedirectRewrite }, "none", "all", "matching", "nodes").on(ph),
		optText("server-name", "the SNI host name the profile serves, none for any", func(p *config.LTMProfile) *config.Opt[string] { return &p.ServerName }).on(pcs),
		optText("server-agent-name", "Server header of the answers the appliance makes, none for no header", func(p *config.LTMProfile) *config.Opt[string] { return &p.ServerAgentName }).on(ph),
		optSwitch("sni-default", "the profile for clients whose SNI matches no other", func(p *config.LTMProfile) *config.Opt[bool] { return &p.SNIDefault }).on(pcs),
		{
			name: "source-mask", help: "client addresses sharing server connections: an address mask",
			parse: func(c *Cursor, p *config.LTMProfile) error {
				t, err := c.Value("source-mask")
				if err != nil {
					return err
				}
				a, err := netip.ParseAddr(t.Text)
				if err != nil || !a.Is4() {
					return LineErrorf(t.Line, "source-mask %q: not an IPv4 address mask", t.Text)
				}
				if _, err := config.MaskBits(a.String()); err != nil {
					return LineErrorf(t.Line, "source-mask %q: %v", t.Text, err)
				}
				p.SourceMask = config.Some(a.String())
				return nil
			},
			value:   func(p *config.LTMProfile) (string, bool) { return p.SourceMask.V, p.SourceMask.Set },
			inherit: inheritOpt(func(p *config.LTMProfile) *config.Opt[string] { return &p.SourceMask }),
			types:   1 << po,
		},
	}
)

func printProfile(b *strings.Builder, c *config.Config, p *config.LTMProfile, all bool) {
	eff := c.EffectiveProfile(p)
	printOpt(b, "ltm profile "+p.Type.String()+" "+p.Name, uint8(p.Type), profileFields, p, &eff, p.DefaultsFrom, p.Description, p.Extras, all)
}

// ProfileKinds are ltm profile http and ltm profile one-connect.
var ProfileKinds = func() []*ObjKind {
	var out []*ObjKind
	for t := range config.ProfileTypeCount {
		out = append(out, newKind(kindSpec[config.LTMProfile]{
			module: "ltm", kind: "profile " + t.String(), ckind: config.KindProfile, typ: t.String(), title: "Profile", plural: t.String() + " profiles",
			createArgs: "[defaults-from PROFILE] [PROPERTY …]",
			props: optProps(uint8(t), profileFields,
				func(p *config.LTMProfile) *string { return &p.DefaultsFrom }, func(p *config.LTMProfile) *string { return &p.Description }),
			objects: func(c *config.Config) map[string]*config.LTMProfile { return c.Profiles },
			newObj:  func(name string) *config.LTMProfile { return &config.LTMProfile{Name: name, Type: t} },
			match:   func(p *config.LTMProfile) bool { return p.Type == t },
			builtin: config.BuiltinProfile,
			print:   printProfile,
		}))
	}
	return out
}()
