package cli

import "github.com/chzyer/readline"

// word is one node of the command tree used for tab completion and `help`.
type word struct {
	name string
	help string
	next []word
}

var ltmObjects = []word{
	{name: "node", help: "nodes (server addresses)"},
	{name: "pool", help: "pools of members"},
	{name: "virtual", help: "virtual servers"},
}

// grammar is the tmsh command tree the shell completes. The appliance parses
// and validates; this table only drives completion and help.
var grammar = []word{
	{name: "list", help: "print configuration", next: []word{{name: "ltm", next: ltmObjects}}},
	{name: "show", help: "print status and counters", next: []word{
		{name: "ltm", next: []word{
			{name: "virtual", help: "virtual server traffic"},
			{name: "pool", help: "pool and member traffic"},
			{name: "node", help: "node traffic across pools"},
		}},
		{name: "sys", next: []word{{name: "dataplane", help: "port and drop counters"}}},
	}},
	{name: "create", help: "create an object", next: []word{{name: "ltm", next: ltmObjects}}},
	{name: "modify", help: "change an object", next: []word{{name: "ltm", next: ltmObjects}}},
	{name: "delete", help: "delete an object", next: []word{{name: "ltm", next: ltmObjects}}},
	{name: "save", help: "save the running config", next: []word{{name: "sys", next: []word{{name: "config"}}}}},
	{name: "help", help: "list commands"},
	{name: "quit", help: "leave the shell"},
	{name: "exit", help: "leave the shell"},
}

func completer(ws []word) []readline.PrefixCompleterInterface {
	var items []readline.PrefixCompleterInterface
	for _, w := range ws {
		items = append(items, readline.PcItem(w.name, completer(w.next)...))
	}
	return items
}
