package cli

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
)

// numbered is n lines "line 1" … "line n".
func numbered(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

// bottomLine is the pager's bottom line, erased after a key.
var bottomLine = regexp.MustCompile(`---\(less \d+%\)---\r\033\[K`)

// keys returns the keys in turn, then io.EOF, and counts the reads.
func keys(ks string, reads *int) func() (byte, error) {
	return func() (byte, error) {
		*reads++
		if *reads > len(ks) {
			return 0, io.EOF
		}
		return ks[*reads-1], nil
	}
}

// The pager shows height-1 rows, then tmsh's bottom line with the share
// shown; space shows a page, Enter a line, q drops the rest.
func TestPage(t *testing.T) {
	tests := []struct {
		name      string
		out       string
		width     int
		height    int
		keys      string
		reads     int      // keys read
		last      string   // the last line shown
		absent    string   // never shown
		statusBar []string // bottom lines shown, in order
	}{
		{name: "fits: not paged", out: numbered(9), height: 10, keys: "", reads: 0, last: "line 9"},
		{name: "space pages to the end", out: numbered(20), height: 10, keys: "  ", reads: 2, last: "line 20",
			statusBar: []string{"---(less 45%)---", "---(less 90%)---"}},
		{name: "enter shows one line", out: numbered(20), height: 10, keys: "\rq", reads: 2, last: "line 10", absent: "line 11",
			statusBar: []string{"---(less 45%)---", "---(less 50%)---"}},
		{name: "q drops the rest", out: numbered(100), height: 10, keys: "q", reads: 1, last: "line 9", absent: "line 10"},
		{name: "end of input drops the rest", out: numbered(30), height: 10, keys: "", reads: 1, last: "line 9", absent: "line 10"},
		{name: "other keys wait", out: numbered(12), height: 10, keys: "xz ", reads: 3, last: "line 12"},
		{name: "wide lines take rows", out: strings.Repeat("x", 25) + "\n" + numbered(9), width: 10, height: 10, keys: "q", reads: 1, last: "line 6", absent: "line 7"},
		{name: "too short a terminal: not paged", out: numbered(20), height: 1, reads: 0, last: "line 20"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w strings.Builder
			reads := 0
			page(&w, tc.out, tc.width, tc.height, keys(tc.keys, &reads))
			got := w.String()
			if reads != tc.reads {
				t.Errorf("read %d keys, want %d; output:\n%q", reads, tc.reads, got)
			}
			bars := bottomLine.FindAllString(got, -1)
			if len(bars) != tc.reads {
				t.Errorf("%d bottom lines for %d keys:\n%q", len(bars), tc.reads, got)
			}
			for i, s := range tc.statusBar {
				if i >= len(bars) || bars[i] != s+"\r\033[K" {
					t.Errorf("bottom line %d is not %q:\n%q", i, s, got)
				}
			}
			shown := bottomLine.ReplaceAllString(got, "")
			if !strings.HasSuffix(shown, tc.last+"\n") {
				t.Errorf("the output does not end with %q:\n%q", tc.last, got)
			}
			if tc.absent != "" && strings.Contains(shown, tc.absent+"\n") {
				t.Errorf("%q was shown after q:\n%q", tc.absent, got)
			}
			if tc.reads == 0 && got != tc.out {
				t.Errorf("unpaged output %q, want %q", got, tc.out)
			}
		})
	}
}

// The shell pages a command's output only with a pager key reader (an
// interactive shell on a terminal), a height, and the pager preference
// enabled; `lbx -c` (Shell.One outside Interactive) never pages.
func TestShellPagesOnlyOnATerminal(t *testing.T) {
	long := &longApp{out: numbered(50)}
	for _, tc := range []struct {
		name     string
		terminal bool
		height   int
		pager    bool
		paged    bool
	}{
		{name: "terminal", terminal: true, height: 20, pager: true, paged: true},
		{name: "pager disabled", terminal: true, height: 20, pager: false},
		{name: "not a terminal", terminal: false, height: 20, pager: true},
		{name: "no height", terminal: true, height: 0, pager: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			sh := &Shell{App: long, Out: &out, Err: &out, Height: func() int { return tc.height }}
			sh.prefs = DefaultPrefs()
			sh.prefs.Pager = tc.pager
			sh.width = func() int { return 80 }
			reads := 0
			if tc.terminal {
				sh.pageKey = keys("q", &reads)
			}
			sh.Line("list ltm pool")
			if paged := strings.Contains(out.String(), "---(less"); paged != tc.paged {
				t.Errorf("paged %v, want %v:\n%s", paged, tc.paged, out.String())
			}
			if !tc.paged && out.String() != long.out {
				t.Errorf("output is not the whole answer:\n%s", out.String())
			}
		})
	}
}

type longApp struct{ out string }

func (a *longApp) Exec(string) (string, error) { return a.out, nil }
func (a *longApp) Push(string) (string, error) { return "", errors.New("no push") }
