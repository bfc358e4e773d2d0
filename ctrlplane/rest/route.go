package rest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
)

// op is what a request does: apply changes a transaction (nil for a
// read), result renders the answer from the configuration afterwards.
type op struct {
	apply  func(t *store.Txn) error
	result func(v *status.View) (any, error)
	// done: the request changed what it changes already (a policy
	// draft, which is not configuration); only result is left.
	done bool
	// committed, when set, runs once apply is committed.
	committed func()
}

func read(f func(v *status.View) (any, error)) op { return op{result: f} }

// emptyCollections are collections the clients read that lbx has nothing
// in: they answer 200 with empty items.
var emptyCollections = []string{
	"net/tunnels/gre", "net/tunnels/ipip", "net/tunnels/tunnel", "net/vlan", "net/route-domain",
	"ltm/message-routing/sip/profile/session", "ltm/message-routing/sip/profile/router",
	"ltm/rule", "ltm/snat", "ltm/nat", "ltm/data-group/internal",
	"ltm/profile/fasthttp", "ltm/profile/diameter",
	"ltm/profile/sip", "ltm/profile/http2", "ltm/profile/http-compression",
	"ltm/profile/web-acceleration", "ltm/profile/tcp-analytics", "ltm/profile/request-log",
	"ltm/profile/fastl4-pva", "ltm/profile/dns",
}

// builtinProfiles are the profiles lbx has, by collection.
var builtinProfiles = map[string][]string{
	"tcp": {"tcp"}, "udp": {"udp"}, "fastl4": {"fastL4"},
}

// route dispatches a request by its path.
func (s *Server) route(req *request) (int, any, error) {
	segs := req.segs
	if len(segs) == 0 {
		return 0, nil, errf(404, "Public URI path not registered: %s", req.path)
	}
	switch segs[0] {
	case "shared":
		switch {
		case len(segs) == 3 && segs[1] == "authn" && segs[2] == "login":
			return s.postLogin(req)
		case len(segs) == 4 && segs[1] == "authz" && segs[2] == "tokens":
			return s.tokenOp(req, segs[3])
		case len(segs) == 4 && segs[1] == "file-transfer" && segs[2] == "uploads":
			return s.fileOp(req, func() (any, error) { return s.uploads.Upload(segs[3], req.contentRange, req.body) })
		}
	case "tm":
		return s.routeTM(req)
	}
	return 0, nil, errf(404, "Public URI path not registered: %s", req.path)
}

func (s *Server) routeTM(req *request) (int, any, error) {
	segs := req.segs[1:]
	rest := strings.Join(segs, "/")
	switch {
	case rest == "transaction" || len(segs) == 2 && segs[0] == "transaction":
		return s.transaction(req, segs[1:])
	case rest == "util/bash":
		return s.bash(req)
	case rest == "sys/config":
		return s.sysConfig(req)
	case rest == "util/unix-rm":
		return s.fileOp(req, func() (any, error) { return s.uploads.UnixRm(req.body) })
	}
	o, err := s.resource(req, segs)
	if err != nil {
		return 0, nil, err
	}
	if o.apply == nil {
		if req.method != http.MethodGet && !o.done {
			return 0, nil, errMethod(req)
		}
		body, err := o.result(s.view())
		return 200, body, err
	}
	if req.txnID != 0 {
		return s.queue(req, o)
	}
	if err := s.commit(req, []op{o}); err != nil {
		return 0, nil, err
	}
	body, err := o.result(s.view())
	return 200, body, err
}

func (s *Server) view() *status.View { return status.New(s.cfg.Store.Running(), s.cfg.Status) }

// commit applies ops as one change, through the same validation and
// transactional apply as the CLI's: a guest changes nothing, an operator
// only the session and state of members and nodes.
func (s *Server) commit(req *request, ops []op) error {
	who := req.who
	action := req.method + " " + req.path
	if !who.Allows(config.RoleOperator) {
		return &config.AccessDeniedError{User: who.User, Role: who.Role, Need: config.RoleOperator, Action: action}
	}
	_, err := s.cfg.Store.Update(func(t *store.Txn) error {
		for _, o := range ops {
			if err := o.apply(t); err != nil {
				return err
			}
		}
		if !who.Admin() && !config.OperationalOnly(t.Original(), t.Config()) {
			return &config.AccessDeniedError{User: who.User, Role: who.Role, Need: config.RoleAdmin, Action: action, Why: config.OperatorWhy}
		}
		return nil
	})
	if err == nil {
		for _, o := range ops {
			if o.committed != nil {
				o.committed()
			}
		}
	}
	return err
}

// resource builds the op of a /mgmt/tm/ configuration resource.
func (s *Server) resource(req *request, segs []string) (op, error) {
	rest := strings.Join(segs, "/")
	if slices.Contains(emptyCollections, rest) {
		return read(func(*status.View) (any, error) { return collection(req, rest, nil) }), nil
	}
	switch {
	case rest == "sys":
		return read(func(*status.View) (any, error) { return sysRoot(), nil }), nil
	case rest == "sys/provision":
		return read(func(*status.View) (any, error) { return collection(req, rest, provision()) }), nil
	case rest == "cli/version":
		return read(func(*status.View) (any, error) { return cliVersion(), nil }), nil
	case len(segs) >= 2 && len(segs) <= 3 && segs[0] == "ltm" && segs[1] == "virtual-address":
		return s.virtualAddress(req, segs[2:])
	case len(segs) >= 3 && len(segs) <= 4 && segs[0] == "ltm" && segs[1] == "profile" && isProfileType(segs[2]):
		typ, _ := profileType(segs[2])
		return s.profile(req, typ, segs[3:])
	case len(segs) == 3 && segs[0] == "ltm" && segs[1] == "profile":
		names := builtinProfiles[segs[2]]
		if names == nil {
			break
		}
		return read(func(*status.View) (any, error) { return collection(req, rest, profileItems(segs[2], names)) }), nil
	case len(segs) >= 2 && segs[0] == "ltm" && segs[1] == "node":
		return s.node(req, segs[2:])
	case len(segs) >= 2 && segs[0] == "ltm" && segs[1] == "pool":
		return s.pool(req, segs[2:])
	case len(segs) >= 2 && segs[0] == "ltm" && segs[1] == "virtual":
		return s.virtual(req, segs[2:])
	case len(segs) >= 2 && segs[0] == "ltm" && segs[1] == "policy":
		return s.policy(req, segs[2:])
	case len(segs) >= 3 && segs[0] == "ltm" && segs[1] == "persistence":
		return s.persistence(req, segs[2], segs[3:])
	case len(segs) >= 3 && segs[0] == "sys" && segs[1] == "file":
		return s.sysFile(req, segs[2], segs[3:])
	case len(segs) >= 3 && segs[0] == "ltm" && segs[1] == "monitor":
		return s.monitor(req, segs[2], segs[3:])
	}
	return op{}, errf(404, "Public URI path not registered: %s", req.path)
}

// link is an object's or collection's selfLink.
func link(path string) string { return "https://localhost/mgmt/tm/" + path + "?ver=" + Version }

// tilde writes a full name as an id: /Common/web → ~Common~web.
func tilde(name string) string { return strings.ReplaceAll(name, "/", "~") }

// objName reads an id (~Common~web, or web in Common) as a full name.
func objName(id string) (string, error) {
	name := id
	if strings.HasPrefix(id, "~") {
		name = strings.ReplaceAll(id, "~", "/")
	}
	full, err := config.FullName(name)
	if err != nil {
		return "", errf(400, "Object id %q: %v", id, err)
	}
	return full, nil
}

// envelope is what every object has.
func envelope(kind, path, name string) map[string]any {
	return map[string]any{
		"kind": kind, "name": config.BaseName(name), "partition": config.CommonPartition,
		"fullPath": name, "generation": 1, "selfLink": link(path),
	}
}

// collection answers a collection with the query options applied:
// $filter=partition eq X, $skip, $top and $select.
func collection(req *request, path string, items []map[string]any) (map[string]any, error) {
	kind := "tm:" + strings.ReplaceAll(path, "/", ":")
	kind += ":" + path[strings.LastIndexByte(path, '/')+1:] + "collectionstate"
	if f := req.query.Get("$filter"); f != "" {
		w := strings.Fields(f)
		if len(w) != 3 || w[0] != "partition" || w[1] != "eq" {
			return nil, errf(400, "Query parameter $filter %q: only \"partition eq NAME\" is supported.", f)
		}
		items = slices.DeleteFunc(items, func(it map[string]any) bool { return it["partition"] != w[2] })
	}
	skip, err := queryInt(req, "$skip")
	if err != nil {
		return nil, err
	}
	items = items[min(skip, len(items)):]
	if top, err := queryInt(req, "$top"); err != nil {
		return nil, err
	} else if req.query.Has("$top") {
		items = items[:min(top, len(items))]
	}
	if sel := req.query.Get("$select"); sel != "" {
		keys := strings.Split(sel, ",")
		for i, it := range items {
			x := map[string]any{}
			for _, k := range keys {
				if v, ok := it[k]; ok {
					x[k] = v
				}
			}
			items[i] = x
		}
	}
	if items == nil {
		items = []map[string]any{}
	}
	return map[string]any{"kind": kind, "selfLink": link(path), "items": items}, nil
}

func queryInt(req *request, key string) (int, error) {
	v := req.query.Get(key)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errf(400, "Query parameter %s %q: want a number >= 0.", key, v)
	}
	return n, nil
}

func expand(req *request) bool { return req.query.Get("expandSubcollections") == "true" }

func sysRoot() map[string]any {
	items := []map[string]any{}
	for _, p := range []string{"provision", "config", "version"} {
		items = append(items, map[string]any{"reference": map[string]any{"link": link("sys/" + p)}})
	}
	return map[string]any{"kind": "tm:sys:syscollectionstate", "selfLink": "https://localhost/mgmt/tm/sys?ver=" + Version, "items": items}
}

func provision() []map[string]any {
	var out []map[string]any
	for _, m := range []string{"afm", "apm", "asm", "avr", "gtm", "ltm"} {
		level := "none"
		if m == "ltm" {
			level = "nominal"
		}
		o := envelope("tm:sys:provision:provisionstate", "sys/provision/"+m, m)
		o["name"], o["fullPath"] = m, m
		delete(o, "partition")
		o["level"], o["cpuRatio"], o["diskRatio"], o["memoryRatio"] = level, 0, 0, 0
		out = append(out, o)
	}
	return out
}

func cliVersion() map[string]any {
	entry := func(d string) map[string]any { return map[string]any{"description": d} }
	return map[string]any{
		"kind": "tm:cli:version:versionstats", "selfLink": link("cli/version"),
		"entries": map[string]any{
			"https://localhost/mgmt/tm/cli/version/0": map[string]any{
				"nestedStats": map[string]any{"entries": map[string]any{
					"active": entry(Version), "latest": entry(Version), "supported": entry("12.0.0 12.1.0 13.0.0 13.1.0 14.0.0 14.1.0 15.0.0 15.1.0"),
				}},
			},
		},
	}
}

func profileItems(coll string, names []string) []map[string]any {
	var out []map[string]any
	for _, n := range names {
		full := "/Common/" + n
		o := envelope("tm:ltm:profile:"+coll+":"+coll+"state", "ltm/profile/"+coll+"/"+tilde(full), full)
		o["defaultsFrom"] = ""
		out = append(out, o)
	}
	return out
}

func isProfileType(s string) bool { _, ok := profileType(s); return ok }

// itemOp is the operation on one object of a typed collection (a monitor,
// profile or persistence profile of one type) named by seg, the path
// segment after the collection (segs counts them: more than one is not a
// path iControl REST has). get renders the object by name; modify applies
// a PATCH or PUT body to it inside the transaction.
func itemOp(req *request, seg string, segs int, kind config.Kind, typ string, get func(name string) func(*status.View) (any, error), modify func(t *store.Txn, ref config.Ref, b body) error) (op, error) {
	if segs > 1 {
		return op{}, errf(404, "Public URI path not registered: %s", req.path)
	}
	name, err := objName(seg)
	if err != nil {
		return op{}, err
	}
	ref := config.Ref{Kind: kind, Type: typ, Name: name}
	switch req.method {
	case http.MethodGet:
		return read(get(name)), nil
	case http.MethodPatch, http.MethodPut:
		b, err := parseBody(req.body)
		if err != nil {
			return op{}, err
		}
		return op{apply: func(t *store.Txn) error { return modify(t, ref, b) }, result: get(name)}, nil
	case http.MethodDelete:
		return op{apply: func(t *store.Txn) error { return t.Delete(ref) }, result: func(*status.View) (any, error) { return nil, nil }}, nil
	}
	return op{}, errMethod(req)
}
