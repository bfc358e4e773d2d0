package conf

import (
	"strings"

	"lbx/ctrlplane/config"
	"lbx/internal/pemfile"
)

var sysFileProps = []property[config.SysFile]{
	{"content", "the PEM itself, quoted (it may span lines); a key's is never printed back", func(c *Cursor, f *config.SysFile, _ PropMode) error {
		return secretValue(c, "content", &f.Content, pemfile.Hidden([]byte(f.Content)))
	}},
	textProp("description", "free text", func(f *config.SysFile) *string { return &f.Description }),
	{"passphrase", "a key's passphrase (traditional encrypted PEM); never printed back", func(c *Cursor, f *config.SysFile, _ PropMode) error {
		return secretValue(c, "passphrase", &f.Passphrase, pemfile.HiddenPassphrase)
	}},
	{"source-path", "the PEM file on the appliance: file:/ABSOLUTE/PATH", func(c *Cursor, f *config.SysFile, _ PropMode) error {
		t, err := c.Value("source-path")
		if err != nil {
			return err
		}
		if t.Kind == TokWord && t.Text == "none" {
			f.SourcePath = ""
			return nil
		}
		p, err := config.CheckSourcePath(t.Text)
		if err != nil {
			return LineErrorf(t.Line, "source-path %q: %v", t.Text, err)
		}
		f.SourcePath = p
		return nil
	}},
}

// secretValue reads content or passphrase. The value printed in its place
// (hidden, when *dst is set) keeps *dst, so that a listing given back
// changes nothing; any other hidden value is kept as written, for
// Codec.Parse to read back from the filestore or validation to refuse.
// none clears it.
func secretValue(c *Cursor, what string, dst *string, hidden string) error {
	t, err := c.Value(what)
	if err != nil {
		return err
	}
	switch {
	case t.Kind == TokWord && t.Text == "none":
		*dst = ""
	case *dst != "" && t.Text == hidden:
	default:
		*dst = t.Text
	}
	return nil
}

// printSysFile prints a sys file object as list and bigip.conf show it: a
// certificate's content in full (it is public), a key's content and any
// passphrase hidden (package pemfile's Hidden: a fingerprint).
func printSysFile(b *strings.Builder, _ *config.Config, f *config.SysFile, all bool) {
	printSysFileSecrets(b, f, all, false)
}

// printSysFileSecrets prints a sys file object, its key and passphrase in
// full when reveal is set (config sync's payload, never shown).
func printSysFileSecrets(b *strings.Builder, f *config.SysFile, all, reveal bool) {
	b.WriteString("sys file " + f.Type.String() + " " + f.Name + " {\n")
	switch {
	case f.Content == "":
		refOut(b, 1, "content", "", all)
	case f.Type == config.FileSSLKey && !reveal:
		v := f.Content
		if !pemfile.IsHidden(v) { // a hidden value read back prints as it was
			v = pemfile.Hidden([]byte(v))
		}
		Prop(b, 1, "content", quote(v))
	default:
		Prop(b, 1, "content", quotePEM(f.Content))
	}
	descProp(b, 1, f.Description, all)
	switch {
	case f.Passphrase == "":
		if all && f.Type == config.FileSSLKey {
			Prop(b, 1, "passphrase", "none")
		}
	case reveal:
		Prop(b, 1, "passphrase", quote(f.Passphrase))
	default:
		Prop(b, 1, "passphrase", quote(pemfile.HiddenPassphrase))
	}
	refOut(b, 1, "source-path", f.SourcePath, all)
	extrasOut(b, 1, f.Extras)
	b.WriteString("}\n")
}

// quotePEM quotes PEM text keeping its line breaks (the lexer reads a
// quoted string across lines), so that a certificate reads as one.
func quotePEM(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, part := range strings.SplitAfter(s, "\n") {
		line, nl := strings.CutSuffix(part, "\n")
		q := quote(line)
		if strings.HasPrefix(q, `"`) { // else line needs no escape
			q = q[1 : len(q)-1]
		}
		b.WriteString(q)
		if nl {
			b.WriteByte('\n')
		}
	}
	b.WriteByte('"')
	return b.String()
}

// SysFileKinds are sys file ssl-cert and sys file ssl-key: the
// certificates and keys client-ssl and server-ssl profiles name, given
// inline (content) or as a file (source-path).
var SysFileKinds = func() []*ObjKind {
	var out []*ObjKind
	for t := range config.FileTypeCount {
		what := map[config.FileType]string{config.FileSSLCert: "SSL certificate files", config.FileSSLKey: "SSL key files"}[t]
		out = append(out, newKind(kindSpec[config.SysFile]{
			module: "sys", kind: "file " + t.String(), ckind: config.KindSysFile, typ: t.String(), title: "File Object", plural: what,
			createArgs: "source-path file:/PATH | content \"PEM\" [passphrase P]",
			props:      sysFileProps,
			objects:    func(c *config.Config) map[string]*config.SysFile { return c.Files },
			newObj:     func(name string) *config.SysFile { return &config.SysFile{Name: name, Type: t} },
			match:      func(f *config.SysFile) bool { return f.Type == t },
			print:      printSysFile,
		}))
	}
	return out
}()
