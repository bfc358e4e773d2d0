package tmsh

import (
	"strings"

	"lbx/ctrlplane/store"
)

// maxErrorLine bounds each line of an error a command returns. The parser
// quotes short excerpts already (conf.LineErrorf, Token.Describe); this
// is the net under every other path, such as a model error quoting a 1 MB name.
const maxErrorLine = 400

// boundedError is an error whose text is cut to maxErrorLine a line; it
// unwraps to the original, so errors.As still finds the typed errors.
type boundedError struct {
	err error
	msg string
}

func (e *boundedError) Error() string { return e.msg }
func (e *boundedError) Unwrap() error { return e.err }

// bound returns err with every line of its text at most maxErrorLine
// bytes, printable; err itself when it is short already.
func bound(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	lines := strings.Split(msg, "\n")
	cut := false
	for i, l := range lines {
		if len(l) > maxErrorLine {
			lines[i], cut = store.Excerpt(l, maxErrorLine), true
		}
	}
	if !cut {
		return err
	}
	return &boundedError{err: err, msg: strings.Join(lines, "\n")}
}
