package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/chzyer/readline"
)

// Appliance is what the shell needs from the appliance: ctrlplane.Client
// satisfies it.
type Appliance interface {
	Exec(line string) (string, error)
	Push(text string) (string, error)
}

// Prompt is the tmsh-style prompt of the interactive shell.
const Prompt = "root@(lbx)(cfg-sync Standalone)(Active)(/Common)(tmos)# "

// Shell runs commands against an appliance.
type Shell struct {
	App Appliance
	Out io.Writer
	Err io.Writer
}

// One runs a single command and prints its output.
func (s *Shell) One(line string) error {
	out, err := s.App.Exec(line)
	s.print(out)
	return err
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
	io.WriteString(s.Out, out)
	if !strings.HasSuffix(out, "\n") {
		io.WriteString(s.Out, "\n")
	}
}

// Interactive runs the readline shell until quit, exit or end of input. A
// failing command prints its error and the session goes on, as in tmsh.
func (s *Shell) Interactive(historyFile string) error {
	rl, err := readline.NewEx(&readline.Config{
		Prompt:          Prompt,
		HistoryFile:     historyFile,
		AutoComplete:    readline.NewPrefixCompleter(completer(grammar)...),
		InterruptPrompt: "^C",
		EOFPrompt:       "quit",
		Stdout:          s.Out,
		Stderr:          s.Err,
	})
	if err != nil {
		return fmt.Errorf("cli: %w", err)
	}
	defer rl.Close()
	for {
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			continue
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cli: %w", err)
		}
		line = strings.TrimSpace(line)
		switch line {
		case "":
			continue
		case "quit", "exit":
			return nil
		case "help", "?":
			s.help()
			continue
		}
		if err := s.One(line); err != nil {
			fmt.Fprintln(s.Err, err)
		}
	}
}

func (s *Shell) help() {
	w := bufio.NewWriter(s.Out)
	defer w.Flush()
	for _, c := range grammar {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.help)
	}
}
