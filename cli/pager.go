package cli

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/chzyer/readline"
)

// PagerLine is the pager's bottom line, as tmsh's (less) shows it: the
// share of the output shown so far.
const PagerLine = "---(less %d%%)---"

// Keys of the pager, as in tmsh: space shows the next page, Enter the
// next line, q (or Ctrl-C, or the end of input) discards the rest.
const (
	pagerNextPage = ' '
	pagerNextLine = '\r'
	pagerQuit     = 'q'
)

// page writes out to w a screen at a time: height-1 rows (a line wider
// than width takes more), then the PagerLine, and waits for a key. It
// writes out whole when it fits the screen, or height is under 2.
func page(w io.Writer, out string, width, height int, key func() (byte, error)) {
	lines := strings.SplitAfter(out, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if width < 1 {
		width = 80
	}
	rows := func(l string) int {
		n := utf8.RuneCountInString(strings.TrimRight(l, "\r\n"))
		return max(1, (n+width-1)/width)
	}
	total := 0
	for _, l := range lines {
		total += rows(l)
	}
	if height < 2 || total <= height-1 {
		io.WriteString(w, out)
		return
	}
	shown, i := 0, 0
	// show writes lines until n more rows are shown (or none are left).
	show := func(n int) {
		var b strings.Builder
		for ; i < len(lines) && n > 0; i++ {
			r := rows(lines[i])
			b.WriteString(lines[i])
			shown += r
			n -= r
		}
		io.WriteString(w, b.String())
	}
	show(height - 1)
	for i < len(lines) {
		fmt.Fprintf(w, PagerLine, shown*100/total)
		k, err := key()
		io.WriteString(w, "\r\033[K") // the bottom line goes
		if err != nil {
			return
		}
		switch k {
		case pagerNextPage:
			show(height - 1)
		case pagerNextLine, '\n':
			show(1)
		case pagerQuit, 'Q', 3: // 3: Ctrl-C
			return
		}
	}
}

// readKey reads one key for the pager from the readline's input, in raw
// mode. The shell's readline reads its input only while it edits a line
// (after a line, until the next Readline), so between lines the pager has
// the input to itself.
func readKey(c *readline.Config) (byte, error) {
	if err := c.FuncMakeRaw(); err != nil {
		return 0, err
	}
	defer c.FuncExitRaw()
	var b [1]byte
	for {
		n, err := c.Stdin.Read(b[:])
		if n == 1 {
			return b[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}
