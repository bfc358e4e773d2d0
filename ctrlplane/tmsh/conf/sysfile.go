package conf

import (
	"strings"

	"lbx/ctrlplane/config"
)

var sysFileProps = []property[config.SysFile]{
	textProp("description", "free text", func(f *config.SysFile) *string { return &f.Description }),
	{"source-path", "the PEM file on the appliance: file:/ABSOLUTE/PATH", func(c *Cursor, f *config.SysFile, _ PropMode) error {
		t, err := c.Value("source-path")
		if err != nil {
			return err
		}
		p, err := config.CheckSourcePath(t.Text)
		if err != nil {
			return LineErrorf(t.Line, "source-path %q: %v", t.Text, err)
		}
		f.SourcePath = p
		return nil
	}},
}

func printSysFile(b *strings.Builder, _ *config.Config, f *config.SysFile, all bool) {
	b.WriteString("sys file " + f.Type.String() + " " + f.Name + " {\n")
	descProp(b, 1, f.Description, all)
	refOut(b, 1, "source-path", f.SourcePath, all)
	extrasOut(b, 1, f.Extras)
	b.WriteString("}\n")
}

// SysFileKinds are sys file ssl-cert and sys file ssl-key: the
// certificates and keys client-ssl and server-ssl profiles name. Only the
// file's path is configured (and printed); a key's content never is.
var SysFileKinds = func() []*ObjKind {
	var out []*ObjKind
	for t := range config.FileTypeCount {
		what := map[config.FileType]string{config.FileSSLCert: "SSL certificate files", config.FileSSLKey: "SSL key files"}[t]
		out = append(out, newKind(kindSpec[config.SysFile]{
			module: "sys", kind: "file " + t.String(), ckind: config.KindSysFile, typ: t.String(), title: "File Object", plural: what,
			createArgs: "source-path file:/PATH",
			props:      sysFileProps,
			objects:    func(c *config.Config) map[string]*config.SysFile { return c.Files },
			newObj:     func(name string) *config.SysFile { return &config.SysFile{Name: name, Type: t} },
			match:      func(f *config.SysFile) bool { return f.Type == t },
			print:      printSysFile,
		}))
	}
	return out
}()
