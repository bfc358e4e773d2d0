package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
)

var virtualFields = fields[config.Virtual]{
	"description": func(x *config.Virtual, v json.RawMessage) (err error) { x.Description, err = str(v); return },
	"destination": func(x *config.Virtual, v json.RawMessage) error {
		s, err := str(v)
		if err != nil {
			return err
		}
		d, err := config.ParseDestination(s)
		if err != nil {
			return err
		}
		x.Destination = d
		return nil
	},
	"mask": func(x *config.Virtual, v json.RawMessage) error {
		s, err := str(v)
		if err != nil || s == "" {
			return err
		}
		if s == "any" {
			s = "0.0.0.0"
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("%q: not an address mask", s)
		}
		x.Mask = a
		return nil
	},
	"ipProtocol": func(x *config.Virtual, v json.RawMessage) error {
		var n uint8
		if err := json.Unmarshal(v, &n); err == nil {
			x.Protocol = config.Protocol(n)
			return nil
		}
		s, err := word(v, "tcp", "udp", "any")
		switch s {
		case "tcp":
			x.Protocol = config.ProtocolTCP
		case "udp":
			x.Protocol = config.ProtocolUDP
		case "any":
			x.Protocol = config.ProtocolAny
		}
		return err
	},
	"pool": func(x *config.Virtual, v json.RawMessage) (err error) { x.Pool, err = fullName(v); return },
	"profiles": func(x *config.Virtual, v json.RawMessage) error {
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil && !isNull(v) {
			return fmt.Errorf("want a list of profiles")
		}
		x.Profiles = nil
		for _, it := range items {
			var p struct {
				Name, Partition, Context string
			}
			if err := json.Unmarshal(it, &p.Name); err != nil {
				if err := json.Unmarshal(it, &p); err != nil {
					return fmt.Errorf("want a profile name or {name, context}")
				}
			}
			name := p.Name
			if p.Partition != "" && !strings.HasPrefix(name, "/") {
				name = "/" + p.Partition + "/" + name
			}
			full, err := config.FullName(name)
			if err != nil {
				return fmt.Errorf("profile %q: %w", p.Name, err)
			}
			switch p.Context {
			case "", "all":
				p.Context = ""
			case "clientside", "serverside":
			default:
				return fmt.Errorf("profile %s: context %q: want all, clientside or serverside", full, p.Context)
			}
			x.Profiles = append(x.Profiles, config.Profile{Name: full, Context: p.Context})
		}
		slices.SortFunc(x.Profiles, func(a, b config.Profile) int { return strings.Compare(a.Name, b.Name) })
		return nil
	},
	"sourceAddressTranslation": func(x *config.Virtual, v json.RawMessage) error {
		var s struct{ Type, Pool string }
		if err := json.Unmarshal(v, &s); err != nil && !isNull(v) {
			return fmt.Errorf("want {type, pool}")
		}
		x.SNAT, x.SNATPool = config.SNATNone, ""
		switch s.Type {
		case "", "none":
		case "automap":
			x.SNAT = config.SNATAutomap
		case "snat":
			p, err := config.FullName(s.Pool)
			if err != nil {
				return fmt.Errorf("pool %q: %w", s.Pool, err)
			}
			x.SNAT, x.SNATPool = config.SNATSnatpool, p
		default:
			return fmt.Errorf("type %q: want automap, snat or none", s.Type)
		}
		return nil
	},
	"ipForward": func(x *config.Virtual, v json.RawMessage) error {
		b, err := boolean(v)
		x.IPForward = b
		return err
	},
	"enabled": func(x *config.Virtual, v json.RawMessage) error {
		b, err := boolean(v)
		x.Disabled = !b
		return err
	},
	"disabled": func(x *config.Virtual, v json.RawMessage) error {
		b, err := boolean(v)
		x.Disabled = b
		return err
	},
	"translateAddress": func(x *config.Virtual, v json.RawMessage) (err error) {
		x.TranslateAddress, err = enabledWord(v)
		return
	},
	"translatePort":   func(x *config.Virtual, v json.RawMessage) (err error) { x.TranslatePort, err = enabledWord(v); return },
	"mirror":          func(x *config.Virtual, v json.RawMessage) (err error) { x.Mirror, err = enabledWord(v); return },
	"connectionLimit": func(x *config.Virtual, v json.RawMessage) (err error) { x.ConnectionLimit, err = u32(v); return },
	"persist": func(x *config.Virtual, v json.RawMessage) error {
		var items []struct {
			Name, Partition, TmDefault string
		}
		if err := json.Unmarshal(v, &items); err != nil && !isNull(v) {
			return fmt.Errorf("want a list of {name, tmDefault}")
		}
		x.Persist = nil
		for _, it := range items {
			name := it.Name
			if it.Partition != "" && !strings.HasPrefix(name, "/") {
				name = "/" + it.Partition + "/" + name
			}
			full, err := config.FullName(name)
			if err != nil {
				return fmt.Errorf("persist %q: %w", it.Name, err)
			}
			x.Persist = append(x.Persist, config.PersistRef{Name: full, Default: it.TmDefault == "yes" || len(items) == 1})
		}
		slices.SortFunc(x.Persist, func(a, b config.PersistRef) int { return strings.Compare(a.Name, b.Name) })
		return nil
	},
	"fallbackPersistence": func(x *config.Virtual, v json.RawMessage) (err error) {
		x.FallbackPersistence, err = fullName(v)
		return
	},
	"source":        onlyDefault[config.Virtual]("0.0.0.0/0", "::/0"),
	"policies":      onlyDefault[config.Virtual](),
	"rules":         onlyDefault[config.Virtual](),
	"vlans":         onlyDefault[config.Virtual](),
	"vlansDisabled": onlyDefault[config.Virtual]("true"),
	"rateLimit":     onlyDefault[config.Virtual]("disabled", "0"),
	"rateLimitMode": onlyDefault[config.Virtual]("object"),
	"metadata":      setMetadata,
	"name":          nil, "partition": nil, "fullPath": nil, "kind": nil, "generation": nil, "selfLink": nil,
	"profilesReference": nil, "policiesReference": nil, "poolReference": nil, "creationTime": nil, "lastModifiedTime": nil,
	"autoLasthop": nil, "cmpEnabled": nil, "gtmScore": nil, "l2Forward": nil,
	"mobileAppTunnel": nil, "nat64": nil, "serviceDownImmediateAction": nil, "sourcePort": nil, "synCookieStatus": nil,
	"vsIndex": nil, "appService": nil, "addressStatus": nil, "reject": nil, "internal": nil, "stateless": nil,
}

// virtual serves /mgmt/tm/ltm/virtual[/ID[/stats|/profiles|/policies]].
func (s *Server) virtual(req *request, segs []string) (op, error) {
	const coll = "ltm/virtual"
	if len(segs) == 0 {
		switch req.method {
		case http.MethodGet:
			return read(func(v *status.View) (any, error) {
				var items []map[string]any
				for _, x := range v.Config().VirtualList() {
					items = append(items, virtualJSON(x, expand(req)))
				}
				return collection(req, coll, items)
			}), nil
		case http.MethodPost:
			b, name, err := createBody(req)
			if err != nil {
				return op{}, err
			}
			x := config.NewVirtual(name)
			if err := virtualFields.apply(x, b, coll); err != nil {
				return op{}, err
			}
			return op{
				apply:  func(t *store.Txn) error { return t.Create(x) },
				result: func(v *status.View) (any, error) { return getVirtual(v, name, false) },
			}, nil
		}
		return op{}, errMethod(req)
	}
	name, err := objName(segs[0])
	if err != nil {
		return op{}, err
	}
	ref := config.Ref{Kind: config.KindVirtual, Name: name}
	if len(segs) == 2 {
		switch segs[1] {
		case "stats":
			return read(func(v *status.View) (any, error) { return virtualStats(v, name) }), nil
		case "profiles", "policies":
			return read(func(v *status.View) (any, error) {
				x := v.Config().Virtuals[name]
				if x == nil {
					return nil, &config.NotFoundError{Ref: ref}
				}
				var items []map[string]any
				if segs[1] == "profiles" {
					items = profilesJSON(x)
				} else {
					items = virtualPoliciesJSON(x)
				}
				return collection(req, coll+"/"+tilde(name)+"/"+segs[1], items)
			}), nil
		}
	}
	if len(segs) > 1 {
		return op{}, errf(404, "Public URI path not registered: %s", req.path)
	}
	get := func(v *status.View) (any, error) { return getVirtual(v, name, expand(req)) }
	return objectOp(req, ref, virtualFields, coll, get)
}

func getVirtual(v *status.View, name string, exp bool) (any, error) {
	x := v.Config().Virtuals[name]
	if x == nil {
		return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindVirtual, Name: name}}
	}
	return virtualJSON(x, exp), nil
}

func profilesJSON(x *config.Virtual) []map[string]any {
	items := []map[string]any{}
	for _, p := range x.Profiles {
		o := envelope("tm:ltm:virtual:profiles:profilesstate", "ltm/virtual/"+tilde(x.Name)+"/profiles/"+tilde(p.Name), p.Name)
		ctx := p.Context
		if ctx == "" {
			ctx = "all"
		}
		o["context"] = ctx
		items = append(items, o)
	}
	return items
}

func virtualJSON(x *config.Virtual, exp bool) map[string]any {
	path := "ltm/virtual/" + tilde(x.Name)
	o := envelope("tm:ltm:virtual:virtualstate", path, x.Name)
	o["description"] = x.Description
	o["destination"] = config.FormatDestination(x.Destination)
	if x.Mask.IsValid() {
		o["mask"] = x.Mask.String()
	}
	o["ipProtocol"] = x.Protocol.String()
	if x.IPForward {
		o["ipForward"] = true
	}
	if x.Pool != "" {
		o["pool"] = x.Pool
	}
	snat := map[string]any{"type": x.SNAT.String()}
	if x.SNAT == config.SNATSnatpool {
		snat["pool"] = x.SNATPool
	}
	o["sourceAddressTranslation"] = snat
	if x.Disabled {
		o["disabled"] = true
	} else {
		o["enabled"] = true
	}
	src := "0.0.0.0/0"
	if x.Destination.Addr().Is6() {
		src = "::/0"
	}
	o["source"] = src
	o["translateAddress"], o["translatePort"] = enabledDisabled(x.TranslateAddress), enabledDisabled(x.TranslatePort)
	o["mirror"] = enabledDisabled(x.Mirror)
	o["connectionLimit"], o["rateLimit"], o["rateLimitMode"] = x.ConnectionLimit, "disabled", "object"
	o["vlansDisabled"] = true
	if len(x.Persist) > 0 {
		var ps []map[string]any
		for _, p := range x.Persist {
			ps = append(ps, map[string]any{"name": config.BaseName(p.Name), "partition": config.CommonPartition, "tmDefault": yesNo(p.Default)})
		}
		o["persist"] = ps
	}
	if x.FallbackPersistence != "" {
		o["fallbackPersistence"] = x.FallbackPersistence
	}
	if md := metadata(x); md != nil {
		o["metadata"] = md
	}
	pr := map[string]any{"link": link(path + "/profiles"), "isSubcollection": true}
	if exp {
		pr["items"] = profilesJSON(x)
	}
	o["profilesReference"] = pr
	pol := map[string]any{"link": link(path + "/policies"), "isSubcollection": true}
	if exp {
		pol["items"] = virtualPoliciesJSON(x)
	}
	o["policiesReference"] = pol
	return o
}

// virtualAddress serves /mgmt/tm/ltm/virtual-address[/ID]: the addresses
// of the virtual servers, read only.
func (s *Server) virtualAddress(req *request, segs []string) (op, error) {
	const coll = "ltm/virtual-address"
	items := func(c *config.Config) []map[string]any {
		seen := map[netip.Addr]bool{}
		var out []map[string]any
		for _, x := range c.VirtualList() {
			a := x.Destination.Addr()
			if !a.IsValid() || seen[a] {
				continue
			}
			seen[a] = true
			name := "/Common/" + a.String()
			o := envelope("tm:ltm:virtual-address:virtual-addressstate", coll+"/"+tilde(name), name)
			mask, arp := config.HostMask(a), "enabled"
			if x.Mask.IsValid() && x.Mask != mask {
				// A network virtual's address: the appliance answers
				// neither ARP nor ping for it.
				mask, arp = x.Mask, "disabled"
			}
			o["address"], o["mask"] = a.String(), mask.String()
			if mask == netip.IPv4Unspecified() {
				o["address"], o["mask"] = "any", "any"
			}
			o["arp"], o["icmpEcho"], o["enabled"], o["autoDelete"] = arp, arp, "yes", "true"
			o["trafficGroup"] = "/Common/traffic-group-1"
			out = append(out, o)
		}
		return out
	}
	if req.method != http.MethodGet {
		return op{}, errf(400, "Virtual addresses follow the virtual servers' destinations: %v.", config.ErrNotSupportedYet)
	}
	if len(segs) == 0 {
		return read(func(v *status.View) (any, error) { return collection(req, coll, items(v.Config())) }), nil
	}
	name, err := objName(segs[0])
	if err != nil {
		return op{}, err
	}
	return read(func(v *status.View) (any, error) {
		for _, it := range items(v.Config()) {
			if it["fullPath"] == name {
				return it, nil
			}
		}
		return nil, errf(404, "01020036:3: The requested Virtual Address (%s) was not found.", name)
	}), nil
}
