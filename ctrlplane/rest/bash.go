package rest

import (
	"encoding/json"
	"net/http"
	"strings"
)

// bash is POST /mgmt/tm/util/bash {"command":"run","utilCmdArgs":"-c
// 'tmsh …'"}: the tmsh command runs in lbx's tmsh dialect as the user,
// with its role. There is no shell: anything but one tmsh -c command is
// refused.
func (s *Server) bash(req *request) (int, any, error) {
	if req.method != http.MethodPost {
		return 0, nil, errMethod(req)
	}
	if req.txnID != 0 {
		return 0, nil, errf(400, "util bash cannot run in a transaction.")
	}
	var in struct {
		Command     string `json:"command"`
		UtilCmdArgs string `json:"utilCmdArgs"`
	}
	if err := json.Unmarshal(req.body, &in); err != nil {
		return 0, nil, errf(400, "Malformed JSON body: %v", err)
	}
	if in.Command != "run" {
		return 0, nil, errf(400, "util bash: command %q: only run is supported.", in.Command)
	}
	cmd, ok := tmshCommand(in.UtilCmdArgs)
	if !ok {
		return 0, nil, errf(400, "util bash: %q: lbx has no shell; only -c \"tmsh COMMAND\" runs here.", in.UtilCmdArgs)
	}
	out, err := s.cfg.Tmsh.NewSessionAs(req.who.Access).Exec(cmd)
	if err != nil {
		return 0, nil, err
	}
	if strings.HasPrefix(cmd, "save sys config") && out == "" {
		out = "Saving running configuration...\n"
	}
	return 200, map[string]any{"kind": "tm:util:bash:runstate", "command": "run", "utilCmdArgs": in.UtilCmdArgs, "commandResult": out}, nil
}

// tmshCommand reads `-c "tmsh CMD"` (or with single quotes, or with
// tmsh's -c inside) and returns CMD.
func tmshCommand(args string) (string, bool) {
	a := strings.TrimSpace(args)
	rest, ok := strings.CutPrefix(a, "-c ")
	if !ok {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	if len(rest) < 2 || (rest[0] != '"' && rest[0] != '\'') || rest[len(rest)-1] != rest[0] {
		return "", false
	}
	inner := strings.TrimSpace(rest[1 : len(rest)-1])
	cmd, ok := strings.CutPrefix(inner, "tmsh ")
	if !ok {
		return "", false
	}
	cmd = strings.TrimSpace(cmd)
	if c, ok := strings.CutPrefix(cmd, "-c "); ok {
		cmd = strings.Trim(strings.TrimSpace(c), `"'`)
	}
	// One command: no shell separators, substitutions or redirections.
	if cmd == "" || strings.ContainsAny(cmd, ";|&`$<>\n\\") {
		return "", false
	}
	return cmd, true
}

// sysConfig is POST /mgmt/tm/sys/config {"command":"save"|"load"}.
func (s *Server) sysConfig(req *request) (int, any, error) {
	if req.method != http.MethodPost {
		return 0, nil, errMethod(req)
	}
	if req.txnID != 0 {
		return 0, nil, errf(400, "sys config cannot run in a transaction.")
	}
	var in map[string]any
	if err := json.Unmarshal(req.body, &in); err != nil {
		return 0, nil, errf(400, "Malformed JSON body: %v", err)
	}
	var cmd string
	switch in["command"] {
	case "save":
		cmd = "save sys config"
	case "load":
		path := ""
		if opts, ok := in["options"].([]any); ok {
			for _, o := range opts {
				if m, ok := o.(map[string]any); ok {
					if f, ok := m["file"].(string); ok {
						path = f
					}
				}
			}
		}
		if path == "" {
			return 0, nil, errf(400, "sys config load: give options [{\"file\": PATH}].")
		}
		cmd = "load sys config file " + quoteTmsh(path)
	default:
		return 0, nil, errf(400, "sys config: command %v: want save or load.", in["command"])
	}
	if _, err := s.cfg.Tmsh.NewSessionAs(req.who.Access).Exec(cmd); err != nil {
		return 0, nil, err
	}
	in["kind"] = "tm:sys:config:runstate"
	return 200, in, nil
}

// quoteTmsh quotes a word for tmsh.
func quoteTmsh(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
