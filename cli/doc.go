// Package cli is the operator's side of lbx: the interactive tmsh-style
// shell (github.com/chzyer/readline: line editing, history, tab completion)
// and the scripted modes (one-shot commands, pushed files, standard input).
//
// It only talks to a running appliance through ctrlplane's client API; it
// holds no configuration state. The shell keeps its own history file
// (history.go: mode 0600, never a line carrying a password) rather than
// readline's. It has no grammar of its own: TAB and `?` (complete.go) ask
// the appliance (op complete on the control socket), whose dialects answer
// from their command tables, so the shell completes what the appliance
// parses. The user's preferences (`list|modify cli preference`: the pager,
// the default dialect) are the shell's (prefs.go), kept in a 0600 file the
// caller names, never sent to the appliance. On a terminal, long output
// is paged (pager.go) as tmsh pages it; the pager reads its keys from the
// shell's input between lines, when readline is not reading it. The tmsh
// prompt carries the user and the partition the appliance accepted a
// `cd` to. An interactive session runs on the caller's goroutine and
// starts none of its own.
package cli
