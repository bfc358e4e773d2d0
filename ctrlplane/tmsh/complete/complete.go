package complete

import (
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/tmsh"
)

// Candidate is one word that may come next on a command line, with a
// one-line help: what completion offers and `?` lists.
type Candidate struct {
	Word string
	Help string
}

// verbHelp is the help of each verb of the command table.
var verbHelp = map[string]string{
	"list":        "print configuration",
	"show":        "print status and counters",
	"create":      "create an object (or a cli transaction)",
	"modify":      "change an object",
	"delete":      "delete objects (or persistence records, or the cli transaction)",
	"submit":      "apply the open cli transaction",
	"load":        "load a configuration file",
	"save":        "save the running configuration",
	"run":         "run a utility: failover standby, offline, online",
	"cd":          "change the partition (only /Common exists)",
	"reset-stats": "zero the traffic counters of virtual servers, pools or nodes",
}

// moduleHelp is the help of each module of the command table.
var moduleHelp = map[string]string{
	"ltm":  "local traffic: nodes, pools, virtual servers, monitors, persistence",
	"net":  "network: self IPs and routes",
	"auth": "users",
	"sys":  "system: configuration files, dataplane counters",
	"cli":  "the shell: its transaction, your preferences",
	"cm":   "HA: failover status, traffic groups",
}

// shellHelp is the help of the words the shell takes itself.
var shellHelp = map[string]string{
	"help": "help [COMMAND]: the commands, or a command's syntax",
	"quit": "leave the shell",
	"exit": "leave the shell",
}

// valueWords are the values of properties that take one of a few words.
var valueWords = map[string][]Candidate{
	"load-balancing-mode": wordsOf(config.LBModeNames(), "load balancing method"),
	"service-down-action": wordsOf(config.ServiceDownNames(), "what happens to connections of a member that goes down"),
	"session":             {{"user-enabled", "takes new connections"}, {"user-disabled", "takes only persistent and existing connections"}},
	"state":               {{"user-up", "may be marked up by its monitors"}, {"user-down", "forced offline: no connections"}},
	"role":                wordsOf(config.RoleNames(), "role"),
	"pager":               {{"enabled", "page long output on a terminal"}, {"disabled", "never page"}},
	"default-dialect":     {{"tmsh", "start in tmsh"}, {"alteon", "start in the Alteon menus"}},
}

// flagProps are properties that take no value.
var flagProps = []string{"enabled", "disabled", "all-properties"}

func wordsOf(words []string, help string) []Candidate {
	out := make([]Candidate, len(words))
	for i, w := range words {
		out[i] = Candidate{Word: w, Help: help}
	}
	return out
}

// Dialect completes in a session of its own: names from the running
// configuration.
func Dialect(d *tmsh.Dialect, line string) []Candidate {
	return Complete(d.Store().Running(), line)
}

// Session completes in ss: names from its open transaction's candidate,
// or from the running configuration outside one.
func Session(d *tmsh.Dialect, ss *tmsh.Session, line string) []Candidate {
	c := ss.Candidate()
	if c == nil {
		c = d.Store().Running()
	}
	return Complete(c, line)
}

// Complete returns what may come next after line, names read from c: the
// candidates for the word being typed (the text after the last blank), or
// for the next word when line ends with a blank.
func Complete(c *config.Config, line string) []Candidate {
	words := strings.Fields(line)
	partial := ""
	if len(words) > 0 && !strings.HasSuffix(line, " ") && !strings.HasSuffix(line, "\t") {
		partial, words = words[len(words)-1], words[:len(words)-1]
	}
	var out []Candidate
	for _, cand := range next(c, words) {
		if strings.HasPrefix(cand.Word, partial) && !slices.ContainsFunc(out, func(o Candidate) bool { return o.Word == cand.Word }) {
			out = append(out, cand)
		}
	}
	return out
}

// next is what may follow the complete words typed.
func next(c *config.Config, words []string) []Candidate {
	cmds := tmsh.Commands()
	if len(words) == 0 {
		var out []Candidate
		for _, cmd := range cmds {
			out = append(out, Candidate{cmd.Verb, verbHelp[cmd.Verb]})
		}
		for _, w := range []string{"help", "quit", "exit"} {
			out = append(out, Candidate{w, shellHelp[w]})
		}
		return out
	}
	var verbs []string
	for _, cmd := range cmds {
		verbs = append(verbs, cmd.Verb)
	}
	verb, _ := tmsh.Abbrev(words[0], verbs)
	var modules []string
	for _, cmd := range cmds {
		if cmd.Verb == verb {
			modules = append(modules, cmd.Module)
		}
	}
	if verb == "" {
		return nil
	}
	if len(words) == 1 {
		var out []Candidate
		for _, m := range modules {
			out = append(out, Candidate{m, moduleHelp[m]})
		}
		return out
	}
	module, _ := tmsh.Abbrev(words[1], modules)
	var cands []*tmsh.Command
	whole := false
	for i := range cmds {
		if cmd := &cmds[i]; cmd.Verb == verb && cmd.Module == module {
			if cmd.Kind == "" {
				whole = true
			} else {
				cands = append(cands, cmd)
			}
		}
	}
	rest := words[2:]
	for depth := 0; ; depth++ {
		if len(rest) == 0 {
			var out []Candidate
			for _, cmd := range cands {
				if w := strings.Fields(cmd.Kind); len(w) > depth {
					help := cmd.Help
					if len(w) > depth+1 {
						help = "then its type: " + w[depth+1] + ", …"
					}
					out = append(out, Candidate{w[depth], help})
				}
			}
			if depth == 0 && whole {
				out = append(out, Candidate{"all-properties", "every property, defaults included"})
			}
			return out
		}
		var want []string
		for _, cmd := range cands {
			if w := strings.Fields(cmd.Kind); len(w) > depth {
				want = append(want, w[depth])
			}
		}
		word, _ := tmsh.Abbrev(rest[0], want)
		if word == "" {
			return nil
		}
		var nextCands []*tmsh.Command
		var done *tmsh.Command
		for _, cmd := range cands {
			w := strings.Fields(cmd.Kind)
			if len(w) > depth && w[depth] == word {
				nextCands = append(nextCands, cmd)
				if len(w) == depth+1 {
					done = cmd
				}
			}
		}
		rest = rest[1:]
		if done != nil && len(nextCands) == 1 {
			return args(c, cmds, done, rest)
		}
		cands = nextCands
	}
}

// namesOf are the names of cmd's objects in c, as typed (without
// /Common/).
func namesOf(c *config.Config, cmd *tmsh.Command) []Candidate {
	var out []Candidate
	for _, n := range cmd.Names(c) {
		out = append(out, Candidate{strings.TrimPrefix(n, "/"+config.CommonPartition+"/"), cmd.Module + " " + cmd.Kind})
	}
	return out
}

// refNames are the names of the objects a property's value names: pools
// after pool, monitors after monitor and defaults-from.
func refNames(c *config.Config, cmds []tmsh.Command, prop string) ([]Candidate, bool) {
	var out []Candidate
	for i := range cmds {
		cmd := &cmds[i]
		if cmd.Verb != "list" || cmd.Module != "ltm" {
			continue
		}
		switch {
		case prop == "pool" && cmd.Kind == "pool",
			(prop == "monitor" || prop == "defaults-from") && strings.HasPrefix(cmd.Kind, "monitor "):
			out = append(out, namesOf(c, cmd)...)
		}
	}
	return out, prop == "pool" || prop == "monitor" || prop == "defaults-from"
}

// args is what may follow cmd's words given the argument words typed.
func args(c *config.Config, cmds []tmsh.Command, cmd *tmsh.Command, rest []string) []Candidate {
	props := cmd.Properties()
	if props == nil {
		return nil // a command on no object kind
	}
	isPool := cmd.Module == "ltm" && cmd.Kind == "pool"
	minRest := 2 // NAME PROPERTY
	switch {
	case cmd.Unnamed():
		if cmd.Verb != "modify" {
			return nil
		}
		minRest = 1 // no name: PROPERTY
	case cmd.Verb == "create":
		if len(rest) == 0 {
			return nil // a new name
		}
	case cmd.Verb == "modify":
		if len(rest) == 0 {
			return namesOf(c, cmd)
		}
	default: // list, show, delete: names
		out := namesOf(c, cmd)
		if cmd.Verb == "list" {
			out = append(out, Candidate{"all-properties", "every property, defaults included"})
		}
		if isPool && cmd.Verb == "show" && len(rest) > 0 {
			out = append(out, Candidate{"members", "the members table"})
		}
		return out
	}
	// After the name: properties, and values after a property.
	if isPool && slices.Contains(rest, "members") {
		return memberArgs(c, rest)
	}
	if len(rest) >= minRest {
		last := rest[len(rest)-1]
		if slices.Contains(props, last) && !slices.Contains(flagProps, last) {
			if v, ok := valueWords[last]; ok {
				return v
			}
			out, _ := refNames(c, cmds, last)
			return out
		}
	}
	var out []Candidate
	for _, p := range props {
		out = append(out, Candidate{p, cmd.PropertyHelp(p)})
	}
	return out
}

// memberArgs completes `modify ltm pool NAME members …`.
func memberArgs(c *config.Config, rest []string) []Candidate {
	i := slices.Index(rest, "members")
	after := rest[i+1:]
	if len(after) == 0 {
		return []Candidate{{"add", "add members"}, {"delete", "delete members"}, {"modify", "change members"}, {"replace-all-with", "make these the members"}, {"none", "no members"}}
	}
	if !slices.Contains(after, "{") {
		return []Candidate{{"{", "the members"}}
	}
	name, err := config.FullName(rest[0])
	p := c.Pools[name]
	if err != nil || p == nil {
		return nil
	}
	out := []Candidate{{"}", "end of the members"}}
	if after[0] == "modify" {
		out = append(out, Candidate{"all", "every member"})
	}
	for _, m := range p.Members {
		out = append(out, Candidate{strings.TrimPrefix(m.Name(), "/"+config.CommonPartition+"/"), "member of " + rest[0]})
	}
	return out
}
