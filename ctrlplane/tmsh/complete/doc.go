// Package complete completes tmsh command lines from tmsh's command and
// property tables: verbs, modules and kinds (abbreviations as the parser
// takes them), object names from a configuration, property names and the
// values the tables know. The control socket's op complete answers from
// it (ctrlplane's dialects), and the shell's TAB and `?` ask that.
//
// It owns no state and starts no goroutines.
package complete
