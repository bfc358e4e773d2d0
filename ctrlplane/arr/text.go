package arr

import (
	"strings"

	"lbx/ctrlplane/tmsh/conf"
)

// Text is the import as a tmsh script lbx push applies: what was not
// translated first, as comments with their lines, then the objects as
// bigip.conf stanzas.
func (r *Result) Text(source string) string {
	var b strings.Builder
	b.WriteString("# lbx import arr " + oneLine(source) + "\n")
	if len(r.Notes) > 0 {
		b.WriteString("# not translated:\n")
		for _, n := range r.Notes {
			b.WriteString("#   " + oneLine(n.String()) + "\n")
		}
	}
	b.WriteString(conf.Text(r.Config))
	return b.String()
}

// oneLine keeps a note on its comment line.
func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
