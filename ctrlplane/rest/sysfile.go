package rest

import (
	"encoding/json"
	"net/http"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/rest/filexfer"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/internal/pemfile"
)

// sysFile serves /mgmt/tm/sys/file/ssl-cert[/ID] and ssl-key with GET,
// POST, PATCH, PUT and DELETE. A sourcePath naming an upload
// (file:/var/config/rest/downloads/NAME) is read in as the object's
// content, as BIG-IP imports it; another path is read when used. A key's
// content and passphrase are never shown.
func (s *Server) sysFile(req *request, typName string, segs []string) (op, error) {
	coll := "sys/file/" + typName
	typ := config.FileTypeCount
	for t := range config.FileTypeCount {
		if t.String() == typName {
			typ = t
		}
	}
	if typ == config.FileTypeCount {
		return op{}, errf(404, "Public URI path not registered: %s", req.path)
	}
	get := func(name string) func(v *status.View) (any, error) {
		return func(v *status.View) (any, error) {
			if f := v.Config().Files[name]; f != nil && f.Type == typ {
				return sysFileJSON(f), nil
			}
			return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindSysFile, Type: typName, Name: name}}
		}
	}
	if len(segs) > 0 {
		return itemOp(req, segs[0], len(segs), config.KindSysFile, typName, get, func(t *store.Txn, ref config.Ref, b body) error {
			return t.Modify(ref, func(o config.Object) error { return s.fileSetters().apply(o.(*config.SysFile), b, coll) })
		})
	}
	switch req.method {
	case http.MethodGet:
		return read(func(v *status.View) (any, error) {
			c := v.Config()
			var items []map[string]any
			for _, name := range c.Names(config.KindSysFile, typName) {
				items = append(items, sysFileJSON(c.Files[name]))
			}
			return collection(req, coll, items)
		}), nil
	case http.MethodPost:
		b, name, err := createBody(req)
		if err != nil {
			return op{}, err
		}
		f := &config.SysFile{Name: name, Type: typ}
		if err := s.fileSetters().apply(f, b, coll); err != nil {
			return op{}, err
		}
		return op{apply: func(t *store.Txn) error { return t.Create(f) }, result: get(name)}, nil
	}
	return op{}, errMethod(req)
}

// fileSetters read a sys file's JSON: BIG-IP's read-only properties are
// ignored; content is lbx's own (the PEM inline).
func (s *Server) fileSetters() fields[config.SysFile] {
	secret := func(dst func(*config.SysFile) *string, hidden func(*config.SysFile) string) setter[config.SysFile] {
		return func(f *config.SysFile, v json.RawMessage) error {
			x, err := str(v)
			if err != nil || x != hidden(f) || *dst(f) == "" { // the value shown for it keeps it
				*dst(f) = x
			}
			return err
		}
	}
	return fields[config.SysFile]{
		"name": nil, "partition": nil, "fullPath": nil, "kind": nil, "generation": nil, "selfLink": nil,
		"checksum": nil, "size": nil, "revision": nil, "createTime": nil, "lastUpdateTime": nil, "createdBy": nil,
		"updatedBy": nil, "mode": nil, "cachePath": nil, "systemPath": nil, "isBundle": nil, "isDynamic": nil, "appService": nil,
		"description": func(f *config.SysFile, v json.RawMessage) (err error) { f.Description, err = str(v); return err },
		"content": secret(func(f *config.SysFile) *string { return &f.Content }, func(f *config.SysFile) string {
			if f.Type == config.FileSSLKey {
				return pemfile.Hidden([]byte(f.Content))
			}
			return f.Content
		}),
		"passphrase": secret(func(f *config.SysFile) *string { return &f.Passphrase }, func(*config.SysFile) string { return pemfile.HiddenPassphrase }),
		"sourcePath": func(f *config.SysFile, v json.RawMessage) error {
			p, err := str(v)
			if err != nil {
				return err
			}
			sp, err := config.CheckSourcePath(p)
			if err != nil {
				return err
			}
			data, ok, err := s.uploads.Read(p)
			if err != nil {
				return err
			}
			f.SourcePath, f.Content = sp, string(data) // "" for a path read when used
			if !ok {
				f.Content = ""
			}
			return nil
		},
	}
}

// sysFileJSON renders a sys file object (filexfer.Render).
func sysFileJSON(f *config.SysFile) map[string]any {
	typ := f.Type.String()
	return filexfer.Render(envelope("tm:sys:file:"+typ+":"+typ+"state", "sys/file/"+typ+"/"+tilde(f.Name), f.Name), f)
}

// fileOp runs a file transfer request: a POST, by an admin (an upload
// is not configuration, but what a sourcePath then imports is).
func (s *Server) fileOp(req *request, do func() (any, error)) (int, any, error) {
	if req.method != http.MethodPost {
		return 0, nil, errMethod(req)
	}
	if !req.who.Admin() {
		return 0, nil, &config.AccessDeniedError{User: req.who.User, Role: req.who.Role, Need: config.RoleAdmin, Action: req.method + " " + req.path}
	}
	out, err := do()
	return 200, out, err
}
