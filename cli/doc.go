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
// parses. An interactive session runs on the caller's goroutine and
// starts none of its own.
package cli
