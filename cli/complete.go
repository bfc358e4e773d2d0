package cli

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"lbx/ctrlplane/ctlsock"
)

// Completer is an appliance that completes command lines from its
// dialects' command tables (ctlsock.Client is one). The shell has no
// grammar of its own: TAB and `?` ask the appliance.
type Completer interface {
	Complete(dialect, line string) ([]ctlsock.Candidate, error)
}

// dialectFor is the dialect line is typed in: Alteon in an Alteon shell,
// and for a tmsh line starting with "/", which switches to it.
func (s *Shell) dialectFor(line string) string {
	if _, ok := s.App.(AlteonAppliance); ok && (s.Alteon || strings.HasPrefix(strings.TrimSpace(line), "/")) {
		return "alteon"
	}
	return "tmsh"
}

// Candidates returns what the appliance says may come next after line in
// the shell's dialect; nil when it does not complete.
func (s *Shell) Candidates(line string) ([]ctlsock.Candidate, error) {
	c, ok := s.App.(Completer)
	if !ok {
		return nil, fmt.Errorf("this appliance does not offer completion")
	}
	return c.Complete(s.dialectFor(line), line)
}

// partial is the word being typed at the end of line: after its last
// blank, or in the Alteon dialect also after its last "/".
func partial(line, dialect string) string {
	seps := " \t"
	if dialect == "alteon" {
		seps += "/"
	}
	return line[strings.LastIndexAny(line, seps)+1:]
}

// Do completes at the cursor for readline (readline.AutoCompleter): the
// rest of each candidate for the word being typed, a blank after each in
// tmsh (an Alteon word is followed by a blank or a "/", the operator's
// choice).
func (s *Shell) Do(line []rune, pos int) ([][]rune, int) {
	typed := string(line[:pos])
	cands, err := s.Candidates(typed)
	if err != nil {
		return nil, 0
	}
	dialect := s.dialectFor(typed)
	p := partial(typed, dialect)
	var out [][]rune
	for _, c := range cands {
		if !strings.HasPrefix(c.Word, p) {
			continue
		}
		rest := c.Word[len(p):]
		if dialect == "tmsh" {
			rest += " "
		}
		out = append(out, []rune(rest))
	}
	return out, len([]rune(p))
}

// ListCandidates writes what may come next after line, one a line with
// its help: the answer to `?`.
func (s *Shell) ListCandidates(w io.Writer, line string) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	cands, err := s.Candidates(line)
	if err != nil {
		fmt.Fprintln(bw, err)
		return
	}
	if len(cands) == 0 {
		fmt.Fprintln(bw, "  <no completions: a value of your own, or Enter>")
		return
	}
	width := 0
	for _, c := range cands {
		width = max(width, len(c.Word))
	}
	for _, c := range cands {
		fmt.Fprintf(bw, "  %-*s  %s\n", width, c.Word, c.Help)
	}
}

// questionListener catches a `?` typed anywhere on the line: it lists the
// candidates at that point and takes the `?` out, keeping the rest of the
// line as typed. A `?` inside double quotes is text.
func (s *Shell) questionListener(out func() io.Writer) func(line []rune, pos int, key rune) ([]rune, int, bool) {
	return func(line []rune, pos int, key rune) ([]rune, int, bool) {
		if key != '?' || pos == 0 || pos > len(line) || line[pos-1] != '?' {
			return nil, 0, false
		}
		before := line[:pos-1]
		if strings.Count(string(before), `"`)%2 == 1 {
			return nil, 0, false
		}
		io.WriteString(out(), "?\n")
		s.ListCandidates(out(), string(before))
		return slices.Concat(before, line[pos:]), pos - 1, true
	}
}

// question handles a line typed with a trailing `?` where no listener
// caught it (input that is not a terminal): it lists the candidates and
// runs nothing.
func (s *Shell) question(line string) bool {
	before, ok := strings.CutSuffix(line, "?")
	if _, completes := s.App.(Completer); !ok || !completes || strings.Count(before, `"`)%2 == 1 {
		return false
	}
	s.ListCandidates(s.Out, before)
	return true
}
