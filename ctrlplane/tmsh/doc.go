// Package tmsh is the BIG-IP tmsh dialect: the bigip.conf language (lexer,
// stanzas, property tables, the printer that writes it back unchanged,
// unknown stanzas and properties kept verbatim) and the tmsh commands
// (list, show, create, modify, delete, load and save sys config, cli
// transactions, persist-records), driven by one command table that also
// feeds help and completion. Commands translate onto the store's typed
// transactions (ctrlplane/store) and read status from ctrlplane/status;
// errors are config's typed ones, printed as BIG-IP prints them. Codec is
// the bigip.conf format the store saves in.
//
// Lifecycle: a Dialect over a store; Exec runs one-shot commands, Push a
// script as a whole, and a Session keeps an open transaction between
// requests. A text is bounded before any of it runs (MaxDepth, MaxTokens:
// the lexer counts before it keeps) and its output while it runs
// (MaxOutput).
//
// Goroutines: none. A Session is safe for concurrent use (one mutex).
package tmsh
