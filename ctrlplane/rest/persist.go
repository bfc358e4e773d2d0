package rest

import (
	"net/http"
	"slices"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
)

// otherPersistTypes are BIG-IP persistence types lbx has not: their
// collections answer empty.
var otherPersistTypes = []string{"dest-addr", "ssl", "msrdp", "sip", "host"}

// persistence serves GET /mgmt/tm/ltm/persistence/TYPE[/ID], read only:
// the built-in profile of the type and the configured ones (created and
// changed with tmsh).
func (s *Server) persistence(req *request, typName string, segs []string) (op, error) {
	coll := "ltm/persistence/" + typName
	if req.method != http.MethodGet {
		return op{}, errf(400, "Persistence profiles over REST: %v (use tmsh).", config.ErrNotSupportedYet)
	}
	var typ config.PersistType
	found := false
	for t := range config.PersistTypeCount {
		if t.String() == typName {
			typ, found = t, true
		}
	}
	if !found {
		if slices.Contains(otherPersistTypes, typName) && len(segs) == 0 {
			return read(func(*status.View) (any, error) { return collection(req, coll, nil) }), nil
		}
		return op{}, errf(404, "Public URI path not registered: %s", req.path)
	}
	render := func(p *config.Persistence) map[string]any {
		o := envelope("tm:ltm:persistence:"+typName+":"+typName+"state", coll+"/"+tilde(p.Name), p.Name)
		if p.DefaultsFrom != "" {
			o["defaultsFrom"] = p.DefaultsFrom
		}
		o["description"] = p.Description
		return o
	}
	all := func(c *config.Config) []*config.Persistence {
		out := []*config.Persistence{config.BuiltinPersist(typ.Builtin())}
		for _, name := range c.Names(config.KindPersistence, typName) {
			out = append(out, c.Persistence[name])
		}
		return out
	}
	if len(segs) == 0 {
		return read(func(v *status.View) (any, error) {
			var items []map[string]any
			for _, p := range all(v.Config()) {
				items = append(items, render(p))
			}
			return collection(req, coll, items)
		}), nil
	}
	if len(segs) > 1 {
		return op{}, errf(404, "Public URI path not registered: %s", req.path)
	}
	name, err := objName(segs[0])
	if err != nil {
		return op{}, err
	}
	return read(func(v *status.View) (any, error) {
		for _, p := range all(v.Config()) {
			if p.Name == name {
				return render(p), nil
			}
		}
		return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindPersistence, Type: typName, Name: name}}
	}), nil
}
