// Package conf is the bigip.conf language that tmsh speaks: the lexer
// (words, quoted strings, braces, line ends, comments; statements), the
// stanzas of a configuration file (`ltm pool NAME { … }` and every other
// kind lbx implements) read into config objects, the property tables each
// kind is parsed by (which also give the commands their property names and
// help, and completion its candidates), and the printer that writes a
// configuration back as bigip.conf does, unknown stanzas and properties
// kept verbatim. Codec is the format the store saves in.
//
// The tmsh commands (ctrlplane/tmsh) read their arguments with this
// lexer's Cursor and create and modify objects through the kinds
// (ObjKind); this package knows nothing of the commands, the store or
// status: it imports only ctrlplane/config.
//
// A text is bounded before any of it is kept: MaxDepth and MaxTokens (the
// lexer counts before it keeps); errors quote at most a short excerpt of
// what was typed.
//
// Goroutines: none. Everything here is a pure function of its input; the
// kind and property tables are built at init and never change.
package conf
