package rest

import (
	"net/http"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
)

// sysFile serves GET /mgmt/tm/sys/file/ssl-cert[/ID] and ssl-key, read
// only (created and changed with tmsh): the object's name and its
// sourcePath; a key's content is never read or shown.
func (s *Server) sysFile(req *request, typName string, segs []string) (op, error) {
	coll := "sys/file/" + typName
	var typ config.FileType
	found := false
	for t := range config.FileTypeCount {
		if t.String() == typName {
			typ, found = t, true
		}
	}
	if !found || len(segs) > 1 {
		return op{}, errf(404, "Public URI path not registered: %s", req.path)
	}
	if req.method != http.MethodGet {
		return op{}, errf(400, "sys file %s over REST: %v (use tmsh).", typName, config.ErrNotSupportedYet)
	}
	render := func(f *config.SysFile) map[string]any {
		o := envelope("tm:sys:file:"+typName+":"+typName+"state", coll+"/"+tilde(f.Name), f.Name)
		o["sourcePath"] = f.SourcePath
		if f.Description != "" {
			o["description"] = f.Description
		}
		return o
	}
	if len(segs) == 0 {
		return read(func(v *status.View) (any, error) {
			c := v.Config()
			var items []map[string]any
			for _, name := range c.Names(config.KindSysFile, typName) {
				items = append(items, render(c.Files[name]))
			}
			return collection(req, coll, items)
		}), nil
	}
	name, err := objName(segs[0])
	if err != nil {
		return op{}, err
	}
	return read(func(v *status.View) (any, error) {
		if f := v.Config().Files[name]; f != nil && f.Type == typ {
			return render(f), nil
		}
		return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindSysFile, Type: typName, Name: name}}
	}), nil
}
