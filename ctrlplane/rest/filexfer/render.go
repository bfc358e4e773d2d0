package filexfer

import (
	"lbx/ctrlplane/config"
	"lbx/internal/pemfile"
)

// Render adds a sys file object's properties to o, its envelope: a
// certificate's PEM in full, a key's content and passphrase hidden;
// checksum is BIG-IP's SHA1:SIZE:HEX of the content, which Ansible's
// bigip_ssl_certificate and bigip_ssl_key compare with what they would
// upload.
func Render(o map[string]any, f *config.SysFile) map[string]any {
	if f.SourcePath != "" {
		o["sourcePath"] = f.SourcePath
	}
	if f.Description != "" {
		o["description"] = f.Description
	}
	if f.Content != "" {
		o["checksum"], o["size"] = pemfile.Checksum([]byte(f.Content)), len(f.Content)
		o["content"] = f.Content
		if f.Type == config.FileSSLKey {
			o["content"] = pemfile.Hidden([]byte(f.Content))
		}
	}
	if f.Passphrase != "" {
		o["passphrase"] = pemfile.HiddenPassphrase
	}
	return o
}
