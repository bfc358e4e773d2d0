package rest

import (
	"encoding/json"
	"fmt"
	"strings"

	"lbx/ctrlplane/config"
)

// A virtual server's metadata (Ansible writes f5-ansible.version and
// last_modified and reads them back) has no field in the model: it is
// kept as the virtual's unknown property "metadata", one line of tmsh
// (`metadata { "NAME" { persist "true" value "V" } … }`), so it is saved
// and loaded with the configuration as BIG-IP keeps it.

type metaItem struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Persist string `json:"persist"`
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s) + `"`
}

// setMetadata replaces x's metadata with the JSON list v (null or [] for
// none).
func setMetadata(x *config.Virtual, v json.RawMessage) error {
	var items []metaItem
	if err := json.Unmarshal(v, &items); err != nil && !isNull(v) {
		return fmt.Errorf("want a list of {name, value, persist}")
	}
	extra := x.Extra[:0:0]
	for _, e := range x.Extra {
		if e.Name != "metadata" {
			extra = append(extra, e)
		}
	}
	if len(items) > 0 {
		var b strings.Builder
		b.WriteString("metadata {")
		for _, it := range items {
			if it.Name == "" {
				return fmt.Errorf("a metadata item has no name")
			}
			if it.Persist == "" {
				it.Persist = "false"
			}
			fmt.Fprintf(&b, " %s { persist %s value %s }", quote(it.Name), quote(it.Persist), quote(it.Value))
		}
		b.WriteString(" }")
		extra = append(extra, config.RawProp{Name: "metadata", Text: b.String()})
	}
	x.Extra = extra
	return nil
}

// metadata reads x's metadata back; nil when it has none (or it is not
// in the form setMetadata writes, e.g. written by hand).
func metadata(x *config.Virtual) []metaItem {
	for _, e := range x.Extra {
		if e.Name != "metadata" {
			continue
		}
		w, ok := metaWords(e.Text)
		if !ok || len(w) < 3 || w[0] != "metadata" || w[1] != "{" || w[len(w)-1] != "}" {
			return nil
		}
		var out []metaItem
		w = w[2 : len(w)-1]
		for len(w) >= 7 {
			// NAME { persist P value V }
			if w[1] != "{" || w[2] != "persist" || w[4] != "value" || w[6] != "}" {
				return nil
			}
			out = append(out, metaItem{Name: w[0], Persist: w[3], Value: w[5]})
			w = w[7:]
		}
		if len(w) != 0 {
			return nil
		}
		return out
	}
	return nil
}

// metaWords splits the text setMetadata writes into words, braces and
// unquoted strings.
func metaWords(s string) ([]string, bool) {
	var out []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '"':
			var b strings.Builder
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
					switch s[i] {
					case 'n':
						b.WriteByte('\n')
					case 'r':
						b.WriteByte('\r')
					case 't':
						b.WriteByte('\t')
					default:
						b.WriteByte(s[i])
					}
					continue
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, false
			}
			i++
			out = append(out, b.String())
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '"' {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out, true
}
