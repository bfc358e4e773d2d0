package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/chzyer/readline"
)

// Appliance is what the shell needs from the appliance: ctlsock.Client
// satisfies it.
type Appliance interface {
	Exec(line string) (string, error)
	Push(text string) (string, error)
}

// AlteonAppliance is an appliance that also speaks the Alteon dialect
// (ctlsock.Client does): lines run in the session's open menu and the
// answer carries that menu's prompt.
type AlteonAppliance interface {
	ExecAlteon(line string) (out, prompt string, err error)
}

// PendingAppliance is an Alteon appliance that tells whether the
// session holds changes not applied (ctlsock.Client does), so that
// leaving asks first, as the switch does.
type PendingAppliance interface {
	AlteonPending() (bool, error)
}

// LeaveQuestion is what the shell asks when leaving an Alteon session
// with changes not applied.
const LeaveQuestion = "Unapplied changes; apply, revert, or quit anyway? [a/r/q] "

// StateAppliance is an appliance that answers a tmsh line with the
// unit's part of the prompt after it (ctlsock.Client and UserApp do):
// "(lbx1)(cfg-sync In Sync)(Active)", or "" for a standalone unit.
type StateAppliance interface {
	ExecState(line string) (out, state string, err error)
}

// Prompt is the tmsh-style prompt of the interactive shell, as root in
// /Common, on a unit without HA or config sync: a Standalone, Active one.
const Prompt = "root@(lbx)(cfg-sync Standalone)(Active)(/Common)(tmos)# "

// standaloneState is the unit's part of Prompt.
const standaloneState = "(lbx)(cfg-sync Standalone)(Active)"

// tmshPromptFormat is Prompt for a user, the unit's state and a
// partition.
const tmshPromptFormat = "%s@%s(%s)(tmos)# "

// AlteonMain is the Alteon dialect's prompt at its Main menu.
const AlteonMain = ">> Main# "

// Shell runs commands against an appliance.
type Shell struct {
	App Appliance
	In  io.ReadCloser // the interactive shell's input; nil: standard input
	Out io.Writer
	Err io.Writer
	// Alteon starts the interactive shell in the Alteon dialect. In tmsh,
	// a line starting with "/" switches to it; `tmsh` switches back.
	Alteon bool
	// Terminal, when set, adapts the interactive shell's readline to a
	// terminal other than the process's own (an SSH channel with a pty):
	// it sets the Func* hooks of the config Interactive builds.
	Terminal func(*readline.Config)
	// User is who the shell runs as, for the prompt; empty: root.
	User string
	// PrefsFile keeps the user's `cli preference` (prefs.go); empty: they
	// last as long as the shell.
	PrefsFile string
	// Height is the terminal's height in rows for the pager; 0 (or a nil
	// Height): output is never paged, as when stdout is not a terminal.
	Height func() int

	prefs     Prefs
	partition string // the partition a `cd` went to; "": /Common
	// pageKey, set while the interactive shell runs a line on a
	// terminal, reads one key for the pager; nil: output is not paged.
	pageKey func() (byte, error)
	width   func() int

	prompt    string
	state     string                                // the unit's part of the tmsh prompt, as last heard; "": standalone
	altUsed   bool                                  // an Alteon line was sent: the session may hold changes
	ask       func(question string) (string, error) // reads an answer; nil: never ask (not interactive)
	askCancel error                                 // what ask returns for Ctrl-C: stay
}

// One runs a single command and prints its output.
func (s *Shell) One(line string) error {
	var out string
	var err error
	if sa, ok := s.App.(StateAppliance); ok {
		out, s.state, err = sa.ExecState(line)
	} else {
		out, err = s.App.Exec(line)
	}
	s.print(out)
	return err
}

// learnState asks the appliance for the unit's part of the prompt (an
// empty line runs nothing).
func (s *Shell) learnState() {
	if sa, ok := s.App.(StateAppliance); ok {
		if _, st, err := sa.ExecState(""); err == nil {
			s.state = st
		}
	}
}

// Push sends a script to be applied as a whole and prints its output.
func (s *Shell) Push(text string) error {
	out, err := s.App.Push(text)
	s.print(out)
	return err
}

func (s *Shell) print(out string) {
	if out == "" {
		return
	}
	if !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	h := 0
	if s.pageKey != nil && s.prefs.Pager && s.Height != nil {
		h = s.Height()
	}
	if h < 2 {
		io.WriteString(s.Out, out)
		return
	}
	page(s.Out, out, s.width(), h, s.pageKey)
}

// Interactive runs the readline shell until quit, exit or end of input. A
// failing command prints its error and the session goes on, as in tmsh.
func (s *Shell) Interactive(historyFile string) error {
	var err error
	if s.prefs, err = LoadPrefs(s.PrefsFile); err != nil {
		fmt.Fprintf(s.Err, "cli: %v; the defaults apply\n", err)
	}
	s.learnState()
	s.prompt = s.tmshPrompt()
	if s.Alteon {
		s.prompt = AlteonMain
	}
	var hist *history
	var recall []string
	if historyFile != "" {
		if hist, recall, err = openHistory(historyFile); err != nil {
			// The shell works without history, as readline's does.
			fmt.Fprintf(s.Err, "cli: %v; history is not kept\n", err)
		}
		defer hist.close()
	}
	var rl *readline.Instance
	out := func() io.Writer {
		if rl != nil {
			return rl.Stdout() // redraws the prompt and the line after
		}
		return s.Out
	}
	rlc := &readline.Config{
		Prompt: s.prompt,
		// The shell keeps history itself (history.go): mode 0600, and
		// never a line with a password.
		DisableAutoSaveHistory: true,
		// Both dialects complete from the appliance's command tables.
		AutoComplete: s,
		Listener:     readline.FuncListener(s.questionListener(out)),
		// Listing several completions needs a width; without a terminal
		// (a pipe, a session without a pty) readline's is -1 and it
		// would panic.
		FuncGetWidth: func() int {
			if w := readline.GetScreenWidth(); w > 0 {
				return w
			}
			return 80
		},
		InterruptPrompt: "^C",
		EOFPrompt:       "quit",
		Stdin:           s.In,
		Stdout:          s.Out,
		Stderr:          s.Err,
	}
	if s.Terminal != nil {
		s.Terminal(rlc)
	}
	rl, err = readline.NewEx(rlc)
	if err != nil {
		return fmt.Errorf("cli: %w", err)
	}
	defer rl.Close()
	for _, l := range recall {
		rl.SaveHistory(l)
	}
	term := rl.Config.FuncIsTerminal()
	s.width = rl.Config.FuncGetWidth
	if term {
		s.pageKey = func() (byte, error) { return readKey(rl.Config) }
		defer func() { s.pageKey = nil }()
	}
	s.ask = func(q string) (string, error) {
		if !term { // readline shows no prompt off a terminal
			io.WriteString(s.Out, q+"\n")
		}
		rl.SetPrompt(q)
		defer rl.SetPrompt(s.prompt)
		return rl.Readline()
	}
	s.askCancel = readline.ErrInterrupt
	defer func() { s.ask = nil }()
	for {
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			continue
		}
		if errors.Is(err, io.EOF) {
			if !term { // the input ended: there is no one to ask
				s.ask = nil
			}
			if s.leave() {
				return nil
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("cli: %w", err)
		}
		if t := strings.TrimSpace(line); hist.record(t) {
			rl.SaveHistory(t)
		}
		if s.Line(line) {
			return nil
		}
		rl.SetPrompt(s.prompt)
	}
}

// Line runs one line typed into the interactive shell and reports whether
// it ends the session. Errors are printed, not returned.
func (s *Shell) Line(line string) (quit bool) {
	line = strings.TrimSpace(line)
	switch line {
	case "":
		return false
	case "quit", "exit", "logout":
		return s.leave()
	}
	if s.question(line) {
		return false
	}
	// The user's preferences are the shell's, in either dialect.
	if verb, props, ok := prefsCommand(line); ok {
		if err := s.runPrefs(verb, props); err != nil {
			fmt.Fprintln(s.Err, err)
		}
		return false
	}
	alt, canAlteon := s.App.(AlteonAppliance)
	if s.Alteon && !canAlteon {
		fmt.Fprintln(s.Err, "this appliance does not speak the Alteon dialect; back to tmsh")
		s.Alteon, s.prompt = false, s.tmshPrompt()
	}
	if !s.Alteon {
		if !strings.HasPrefix(line, "/") || !canAlteon {
			switch line {
			case "help":
				s.ListCandidates(s.Out, "")
			default:
				if err := s.One(line); err != nil {
					fmt.Fprintln(s.Err, err)
				} else if p, ok := cdTo(line); ok {
					s.partition = p
				}
				s.prompt = s.tmshPrompt()
			}
			return false
		}
		s.Alteon = true
	}
	if line == "tmsh" {
		s.Alteon, s.prompt = false, s.tmshPrompt()
		return false
	}
	if line == "?" {
		line = "help"
	}
	s.altUsed = true
	out, prompt, err := alt.ExecAlteon(line)
	s.print(out)
	if err != nil {
		fmt.Fprintln(s.Err, "Error: "+err.Error())
	}
	if prompt != "" {
		s.prompt = prompt
	}
	return false
}

// leave reports whether the session may end: when the Alteon session
// holds changes not applied, it asks first — apply them, revert them, or
// quit anyway — as the switch does. Ctrl-C at the question stays in the
// shell; the end of input that is not a terminal quits with a warning; a
// failed apply stays.
func (s *Shell) leave() bool {
	pa, ok := s.App.(PendingAppliance)
	alt, _ := s.App.(AlteonAppliance)
	if !ok || alt == nil || !s.altUsed {
		return true
	}
	pending, err := pa.AlteonPending()
	if err != nil {
		fmt.Fprintln(s.Err, err)
		return true
	}
	if !pending {
		return true
	}
	if s.ask == nil {
		fmt.Fprintln(s.Err, "warning: unapplied changes dropped (the input ended)")
		return true
	}
	for {
		ans, err := s.ask(LeaveQuestion)
		switch {
		case err != nil && s.askCancel != nil && errors.Is(err, s.askCancel):
			return false
		case err != nil:
			return true
		}
		var cmd string
		switch strings.ToLower(strings.TrimSpace(ans)) {
		case "a", "apply":
			cmd = "apply"
		case "r", "revert":
			cmd = "revert"
		case "q", "quit":
			return true
		default:
			continue
		}
		out, prompt, err := alt.ExecAlteon(cmd)
		s.print(out)
		if prompt != "" {
			s.prompt = prompt
		}
		if err != nil {
			fmt.Fprintln(s.Err, "Error: "+err.Error())
			return false
		}
		return true
	}
}

// Prompt returns the prompt the shell shows now.
func (s *Shell) Prompt() string {
	if s.prompt == "" {
		if s.Alteon {
			return AlteonMain
		}
		return s.tmshPrompt()
	}
	return s.prompt
}

// tmshPrompt is Prompt with the shell's user and partition.
func (s *Shell) tmshPrompt() string {
	user, part := s.User, s.partition
	if user == "" {
		user = "root"
	}
	if part == "" {
		part = "/Common"
	}
	state := s.state
	if !strings.HasPrefix(state, "(") || !strings.HasSuffix(state, ")") {
		state = standaloneState
	}
	return fmt.Sprintf(tmshPromptFormat, user, state, part)
}

// cdTo is the partition a `cd` line the appliance accepted goes to; ok
// is false for any other line. The appliance decides which partitions
// exist (lbx has /Common only) and the shell follows what it accepted:
// partitions are top-level folders, so "Common", "/Common/" and "/Common"
// are /Common, and a bare cd, "/" or ".." go back to it, as the
// appliance takes them.
func cdTo(line string) (string, bool) {
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != "cd" || len(f) > 2 {
		return "", false
	}
	to := ""
	if len(f) == 2 {
		to = strings.Trim(strings.Trim(f[1], `"`), "/")
	}
	if to == "" || to == ".." {
		to = "Common"
	}
	return "/" + to, true
}
