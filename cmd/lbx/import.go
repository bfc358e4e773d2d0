package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/pflag"

	"lbx/ctrlplane/arr"
	"lbx/ctrlplane/store"
)

// runImport handles `lbx import arr FILE`: it translates an IIS
// applicationHost.config (Application Request Routing) into tmsh, printed
// on standard output to be pushed, what it could not translate first as
// comments; standard error says how many such notes there are.
func runImport(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("lbx import", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	policy := fs.String("policy", "arr_rules", "name of the ltm policy made of the URL Rewrite rules")
	if err := fs.Parse(args); err != nil {
		return &usageError{err}
	}
	rest := fs.Args()
	if len(rest) != 2 || rest[0] != "arr" {
		return usagef("usage: lbx import arr [--policy NAME] FILE (an IIS applicationHost.config)")
	}
	text, err := store.ReadConfigFile(rest[1])
	if err != nil {
		return fmt.Errorf("import arr: %w", err)
	}
	r, err := arr.Import(text, arr.Options{Policy: *policy})
	if err != nil {
		return fmt.Errorf("import arr %s: %w", rest[1], err)
	}
	if _, err := io.WriteString(stdout, r.Text(filepath.Base(rest[1]))); err != nil {
		return err
	}
	if n := len(r.Notes); n > 0 {
		fmt.Fprintf(stderr, "import arr: %d parts not translated (listed as # comments, with their lines)\n", n)
	}
	return nil
}
