// Package tmsh is the BIG-IP tmsh dialect: the tmsh commands (list, show,
// create, modify, delete, load and save sys config, cli transactions,
// persist-records, connections, reset-stats, JSON output), driven by one
// command table that also feeds help and completion. The bigip.conf
// language they are written in (lexer, stanzas, property tables, the
// printer) is package conf below; Codec, Text and ParseConfig here are its
// names as the rest of lbx has used them. Commands translate onto the
// store's typed transactions (ctrlplane/store) and read status from
// ctrlplane/status; errors are config's typed ones, printed as BIG-IP
// prints them.
//
// Lifecycle: a Dialect over a store; Exec runs one-shot commands, Push a
// script as a whole, and a Session keeps an open transaction between
// requests. A text is bounded before any of it runs (conf.MaxDepth,
// conf.MaxTokens: the lexer counts before it keeps) and its output while
// it runs (MaxOutput).
//
// Goroutines: none. A Session is safe for concurrent use (one mutex).
package tmsh
