package tmsh

import (
	"errors"

	"lbx/ctrlplane/tmsh/conf"
)

// cliPrefCommands are tmsh's `cli preference`: the user's shell settings,
// which the interactive shell (package cli) keeps per user and runs
// itself. They are in the grammar so that completion, `?` and help offer
// them; on the appliance (lbx -c, a push) they are answered with where
// they run.
var cliPrefCommands = []Command{
	{Verb: "list", Module: "cli", Kind: "preference", Help: "print your shell preferences", ReadOnly: true, props: cliPrefProps, run: runCLIPref},
	{Verb: "modify", Module: "cli", Kind: "preference", Args: "PROPERTY VALUE …", Help: "change your shell preferences (kept per user)", ReadOnly: true, props: cliPrefProps, run: runCLIPref},
}

// cliPrefProps are the preferences, with their help.
var cliPrefProps = []propDoc{
	{"pager", "page long output on a terminal: enabled or disabled"},
	{"default-dialect", "the dialect a new shell starts in: tmsh or alteon (lbx)"},
}

// propDoc is a property of a command on no object kind, with its help.
type propDoc struct{ name, help string }

var errCLIPref = errors.New("cli preference: a setting of the interactive shell, kept per user: type it in lbx cli or an SSH session")

func runCLIPref(*execCtx, *Command, *conf.Cursor) (string, error) { return "", errCLIPref }
