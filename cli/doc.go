// Package cli is the operator's side of lbx: the interactive tmsh-style
// shell (github.com/chzyer/readline: line editing, history, tab completion)
// and the scripted modes (one-shot commands, pushed files, standard input).
//
// It only talks to a running appliance through ctrlplane's client API; it
// holds no configuration state. The shell keeps its own history file
// (history.go: mode 0600, never a line carrying a password) rather than
// readline's. The grammar for completion is data
// (grammar.go). An interactive session runs on the caller's goroutine and
// starts none of its own.
package cli
