package config

import (
	"errors"
	"strconv"
	"strings"

	"lbx/internal/pemfile"
)

// FileType is the type of a `sys file TYPE` object.
type FileType uint8

// The sys file types lbx knows: TLS certificates and keys.
const (
	FileSSLCert FileType = iota
	FileSSLKey
	FileTypeCount
)

var fileTypeNames = [FileTypeCount]string{"ssl-cert", "ssl-key"}

// String returns the tmsh name of the type.
func (t FileType) String() string {
	if t < FileTypeCount {
		return fileTypeNames[t]
	}
	return "type-" + strconv.Itoa(int(t))
}

// SysFile is a `sys file ssl-cert NAME` or `sys file ssl-key NAME`: a PEM
// certificate chain or private key, given inline as Content or read from
// SourcePath (a file: URL) when a profile uses it. Content, when given, is
// what is used; SourcePath then only records where it came from. A key's
// Content and Passphrase are never printed (package pemfile's Hidden).
type SysFile struct {
	Name        string
	Type        FileType
	SourcePath  string // file:/ABSOLUTE/PATH
	Content     string // PEM, as given
	Passphrase  string // a key's, for traditional encrypted PEM
	Description string
	Extras
}

// Ref returns the Ref of a sys file object.
func (f *SysFile) Ref() Ref            { return Ref{KindSysFile, f.Type.String(), f.Name} }
func (f *SysFile) Clone() *SysFile     { x := *f; x.Extras = f.Extras.Clone(); return &x }
func (f *SysFile) cloneObject() Object { return f.Clone() }

// Path is the file SourcePath names.
func (f *SysFile) Path() string { return strings.TrimPrefix(f.SourcePath, "file:") }

// CheckSourcePath accepts file:/ABSOLUTE/PATH (BIG-IP's form) and an
// absolute path, and returns it as a file: URL.
func CheckSourcePath(s string) (string, error) {
	p := strings.TrimPrefix(s, "file:")
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\x00\n") {
		return "", errors.New("want file:/ABSOLUTE/PATH")
	}
	return "file:" + p, nil
}

// ResolveFile returns the file a TLS profile's cert or key value names: a
// sys file object of type t (by its name, full or in /Common), or, for a
// value that names none, the value itself as an absolute path (lbx's older
// form). obj is the object's name, "" for a path.
func (c *Config) ResolveFile(t FileType, v string) (path, obj string) {
	if f := c.FileObject(t, v); f != nil {
		return f.Path(), f.Name
	}
	return v, ""
}

// FileObject is the sys file object of type t a profile's value names, or nil.
func (c *Config) FileObject(t FileType, v string) *SysFile {
	f := c.Files[v]
	if f == nil {
		if full, err := FullName(v); err == nil {
			f = c.Files[full]
		}
	}
	if f == nil || f.Type != t {
		return nil
	}
	return f
}

// validateFiles checks source paths, inline PEM (a key with its
// passphrase) and that TLS profiles name files of the right type.
func validateFiles(c *Config, add func(Ref, string, error)) {
	for _, f := range SortedValues(c.Files) {
		if _, err := CheckSourcePath(f.SourcePath); err != nil && (f.SourcePath != "" || f.Content == "") {
			add(f.Ref(), strings.TrimSpace("source-path "+f.SourcePath), errors.New("want file:/ABSOLUTE/PATH or content with the PEM"))
		}
		var err error
		switch {
		case f.Passphrase != "" && f.Type != FileSSLKey:
			add(f.Ref(), "passphrase", errors.New("only a key has a passphrase"))
		case pemfile.IsHidden(f.Content) || pemfile.IsHidden(f.Passphrase):
			add(f.Ref(), map[bool]string{true: "content", false: "passphrase"}[pemfile.IsHidden(f.Content)], errors.New("a hidden value is only read back from this unit's saved configuration: give the PEM (and passphrase)"))
		case f.Content != "" && f.Type == FileSSLCert:
			_, err = pemfile.Certs([]byte(f.Content))
		case f.Content != "":
			_, err = pemfile.Key([]byte(f.Content), f.Passphrase)
		}
		if err != nil {
			add(f.Ref(), pemfile.Field(err), err)
		}
	}
	for _, p := range SortedValues(c.Profiles) {
		for _, ref := range []struct {
			prop, v string
			want    FileType
		}{{"cert", p.Cert.V, FileSSLCert}, {"key", p.Key.V, FileSSLKey}} {
			if ref.v == "" {
				continue
			}
			if _, obj := c.ResolveFile(ref.want, ref.v); obj != "" {
				continue
			}
			if !strings.HasPrefix(ref.v, "/") || fileNamed(c, ref.v) {
				add(p.Ref(), ref.prop+" "+ref.v, errors.New("no such sys file "+ref.want.String()+" (and not an absolute file path)"))
			}
		}
	}
}

// fileNamed reports whether v names a sys file object of any type.
func fileNamed(c *Config, v string) bool {
	if c.Files[v] != nil {
		return true
	}
	full, err := FullName(v)
	return err == nil && c.Files[full] != nil
}
