package tmsh

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh/conf"
)

// sysCommands act on the system: saving and loading the configuration,
// transactions, dataplane counters.
var sysCommands = []Command{
	{Verb: "show", Module: "sys", Kind: "dataplane", Help: "port, ARP/ICMP and drop counters by reason, flow count", ReadOnly: true, run: runShowDataplane},
	{Verb: "create", Module: "cli", Kind: "transaction", Help: "start a transaction: the following commands apply together at submit", run: txnCommand(txnCreate)},
	{Verb: "submit", Module: "cli", Kind: "transaction", Help: "apply the open transaction as a whole", run: txnCommand(txnSubmit)},
	{Verb: "delete", Module: "cli", Kind: "transaction", Help: "drop the open transaction", run: txnCommand(txnDelete)},
	{Verb: "load", Module: "sys", Kind: "config", Args: "[merge] file PATH", Help: "replace (or merge into) the running configuration from a bigip.conf-style file, as a whole", run: runLoad},
	{Verb: "save", Module: "sys", Kind: "config", Help: "write the running configuration to disk (the previous copy is kept as .bak)", run: runSave},
}

func runSave(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	if !args.Done() {
		t := args.Next()
		return "", conf.LineErrorf(t.Line, "save sys config: unexpected %s", t.Describe())
	}
	x.save = true
	return "", nil
}

// runLoad is `load sys config [merge] file PATH`: the file's stanzas replace
// the candidate (or, with merge, create or replace the objects they name).
// The caller applies the candidate as a whole, so a bad file changes nothing.
func runLoad(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	merge := false
	if t, ok := args.Peek(); ok && t.IsWord("merge") {
		args.Next()
		merge = true
	}
	t, ok := args.Peek()
	if !ok || !t.IsWord("file") {
		return "", conf.LineErrorf(args.PeekLine(), "load sys config: want [merge] file PATH")
	}
	args.Next()
	pt, err := args.Value("file")
	if err != nil {
		return "", err
	}
	if !args.Done() {
		u := args.Next()
		return "", conf.LineErrorf(u.Line, "load sys config: unexpected %s", u.Describe())
	}
	// Regular files only, bounded in size: /dev/zero or a FIFO would
	// otherwise hang the session and grow memory without bound.
	data, err := store.ReadConfigFile(pt.Text)
	if err != nil {
		return "", fmt.Errorf("load sys config: %w", err)
	}
	loaded := config.NewConfig()
	if merge {
		loaded = x.cand().Clone()
	}
	if binary(data) {
		return "", fmt.Errorf("load sys config: %s: not a configuration file (binary content); nothing loaded", store.ShortName(pt.Text))
	}
	lines, notices, err := conf.MergeConfig(loaded, string(data))
	if err != nil {
		if !hasStanza(data) {
			// Not a config at all (/etc/shadow): say so without
			// quoting any of it.
			return "", fmt.Errorf("load sys config: %s: not a configuration file (no MODULE KIND NAME { … } stanza in it); nothing loaded", store.ShortName(pt.Text))
		}
		return "", fmt.Errorf("load sys config: %s: %w", store.ShortName(pt.Text), err)
	}
	if err := x.Restore(loaded); err != nil {
		return "", fmt.Errorf("load sys config: %s: %w", store.ShortName(pt.Text), err)
	}
	x.Load(loaded)
	for obj := range lines {
		x.Touch(obj)
	}
	var out strings.Builder
	for _, n := range notices {
		fmt.Fprintf(&out, "%s: %s\n", store.ShortName(pt.Text), n)
	}
	return out.String(), nil
}

// binary reports whether data cannot be tmsh text: a NUL byte, or not
// UTF-8.
func binary(data []byte) bool {
	return bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data)
}

// tmshModules are the first words of bigip.conf stanzas, those lbx reads
// and those it keeps as is.
var tmshModules = []string{"ltm", "net", "sys", "auth", "cli", "cm", "gtm", "security", "apm", "asm", "pem", "analytics", "ilx", "wom", "vcmp", "util"}

// hasStanza reports whether any line of data opens a stanza: a tmsh
// module word, then words, then "{".
func hasStanza(data []byte) bool {
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) >= 2 && slices.Contains(tmshModules, f[0]) && strings.HasSuffix(f[len(f)-1], "{") {
			return true
		}
	}
	return false
}
