package rest

import (
	"encoding/json"
	"fmt"
	"net/http"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
)

// nodeFields are the node properties a POST, PUT or PATCH may carry.
var nodeFields = fields[config.Node]{
	"description":     func(n *config.Node, v json.RawMessage) (err error) { n.Description, err = str(v); return },
	"ratio":           func(n *config.Node, v json.RawMessage) (err error) { n.Ratio, err = ratio(v); return },
	"connectionLimit": func(n *config.Node, v json.RawMessage) (err error) { n.ConnectionLimit, err = u32(v); return },
	"monitor":         func(n *config.Node, v json.RawMessage) (err error) { n.Monitor, err = monitorRule(v); return },
	"session":         func(n *config.Node, v json.RawMessage) (err error) { n.Session, err = session(v); return },
	"state":           func(n *config.Node, v json.RawMessage) (err error) { n.State, err = state(v); return },
	"address": func(n *config.Node, v json.RawMessage) error {
		a, err := addr(v)
		if err != nil {
			return err
		}
		if n.Address.IsValid() && n.Address != a {
			return fmt.Errorf("%s: the address of node %s cannot be changed (delete and create the node)", a, n.Name)
		}
		n.Address = a
		return nil
	},
	"fqdn":         noFQDN[config.Node]("nodes"),
	"rateLimit":    onlyDefault[config.Node]("disabled", "0"),
	"dynamicRatio": onlyDefault[config.Node]("1"),
	"logging":      onlyDefault[config.Node]("disabled"),
	"ephemeral":    onlyDefault[config.Node]("false"),
	"name":         nil, "partition": nil, "fullPath": nil, "kind": nil, "generation": nil, "selfLink": nil,
	"status": nil, "appService": nil,
}

// node serves /mgmt/tm/ltm/node[/ID[/stats]].
func (s *Server) node(req *request, segs []string) (op, error) {
	const coll = "ltm/node"
	if len(segs) == 0 {
		switch req.method {
		case http.MethodGet:
			return read(func(v *status.View) (any, error) {
				var items []map[string]any
				for _, n := range v.Config().NodeList() {
					items = append(items, nodeJSON(v, n))
				}
				return collection(req, coll, items)
			}), nil
		case http.MethodPost:
			b, name, err := createBody(req)
			if err != nil {
				return op{}, err
			}
			n := config.NewNode(name)
			if err := nodeFields.apply(n, b, coll); err != nil {
				return op{}, err
			}
			if !n.Address.IsValid() {
				return op{}, errf(400, "Node %s: address is required (FQDN nodes are not supported yet).", name)
			}
			return op{
				apply:  func(t *store.Txn) error { return t.Create(n) },
				result: func(v *status.View) (any, error) { return getNode(v, name) },
			}, nil
		}
		return op{}, errMethod(req)
	}
	name, err := objName(segs[0])
	if err != nil {
		return op{}, err
	}
	ref := config.Ref{Kind: config.KindNode, Name: name}
	if len(segs) == 2 && segs[1] == "stats" {
		return read(func(v *status.View) (any, error) { return nodeStats(v, name) }), nil
	}
	if len(segs) > 1 {
		return op{}, errf(404, "Public URI path not registered: %s", req.path)
	}
	get := func(v *status.View) (any, error) { return getNode(v, name) }
	return objectOp(req, ref, nodeFields, coll, get)
}

// objectOp answers GET, PATCH and PUT (both merge: go-bigip's PUTs are
// partial) and DELETE on one object whose edits are its fields alone.
func objectOp[T any, PT interface {
	*T
	config.Object
}](req *request, ref config.Ref, fs fields[T], coll string, get func(*status.View) (any, error)) (op, error) {
	switch req.method {
	case http.MethodGet:
		return read(get), nil
	case http.MethodPatch, http.MethodPut:
		b, err := parseBody(req.body)
		if err != nil {
			return op{}, err
		}
		return op{apply: func(t *store.Txn) error {
			return t.Modify(ref, func(o config.Object) error {
				x, ok := o.(PT)
				if !ok {
					return fmt.Errorf("%s: not a %T", ref.Name, x)
				}
				return fs.apply((*T)(x), b, coll)
			})
		}, result: get}, nil
	case http.MethodDelete:
		return op{apply: func(t *store.Txn) error { return t.Delete(ref) }, result: func(*status.View) (any, error) { return nil, nil }}, nil
	}
	return op{}, errMethod(req)
}

// createBody reads a POST's body and the name of the object it creates.
func createBody(req *request) (body, string, error) {
	b, err := parseBody(req.body)
	if err != nil {
		return nil, "", err
	}
	name, err := bodyName(b)
	return b, name, err
}

// bodyName reads a POST's name (with its partition, when given apart) as
// a full name.
func bodyName(b body) (string, error) {
	name, err := rawName(b)
	if err != nil {
		return "", err
	}
	full, err := config.FullName(name)
	if err != nil {
		return "", errf(400, "Invalid value for property \"name\" %q: %v", name, err)
	}
	return full, nil
}

// rawName reads a POST's name, prefixed with its partition when that is
// given apart.
func rawName(b body) (string, error) {
	raw, ok := b["name"]
	if !ok {
		return "", errf(400, "The property name is required.")
	}
	name, err := str(raw)
	if err != nil {
		return "", errf(400, "Invalid value for property \"name\": %v", err)
	}
	if p, ok := b["partition"]; ok && name != "" && name[0] != '/' {
		part, err := str(p)
		if err != nil {
			return "", errf(400, "Invalid value for property \"partition\": %v", err)
		}
		if part != "" {
			name = "/" + part + "/" + name
		}
	}
	return name, nil
}

func getNode(v *status.View, name string) (any, error) {
	n := v.Config().Nodes[name]
	if n == nil {
		return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindNode, Name: name}}
	}
	return nodeJSON(v, n), nil
}

// nodeMonitorState is a node's monitor state: unchecked without a
// monitor engine's verdict.
func nodeMonitorState(v *status.View, n *config.Node) string {
	if h := v.Sources().Health; h != nil && len(n.Monitor.Names) > 0 {
		if st, ok := h.NodeStatus(n.Name); ok {
			return st.State.String()
		}
		return "checking"
	}
	return "unchecked"
}

func monitorText(r config.MonitorRule) string {
	if len(r.Names) == 0 {
		return "default"
	}
	return r.String()
}

func nodeJSON(v *status.View, n *config.Node) map[string]any {
	o := envelope("tm:ltm:node:nodestate", "ltm/node/"+tilde(n.Name), n.Name)
	sess, st := "user-enabled", nodeMonitorState(v, n)
	if len(n.Monitor.Names) > 0 {
		sess = "monitor-enabled"
	}
	if n.Session == config.SessionUserDisabled {
		sess = "user-disabled"
	}
	if n.State == config.StateUserDown {
		st = "user-down"
	}
	o["address"] = n.Address.String()
	o["description"] = n.Description
	o["session"], o["state"] = sess, st
	o["monitor"] = monitorText(n.Monitor)
	o["ratio"], o["connectionLimit"], o["rateLimit"], o["dynamicRatio"] = n.Ratio, n.ConnectionLimit, "disabled", 1
	o["ephemeral"], o["logging"] = "false", "disabled"
	o["fqdn"] = map[string]any{"addressFamily": "ipv4", "autopopulate": "disabled", "downInterval": 5, "interval": "3600"}
	return o
}
