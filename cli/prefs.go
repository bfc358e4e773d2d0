package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Prefs are a user's shell preferences (tmsh's `cli preference`): kept
// by the shell, per user, not in the appliance's configuration. Locally
// they live in ~/.lbx_prefs; over SSH in the user's state directory.
type Prefs struct {
	// Pager pages long output on a terminal (tmsh's default: enabled).
	Pager bool
	// DefaultDialect is the dialect a new shell starts in: "tmsh" or
	// "alteon" (an lbx extension); `lbx cli --dialect` overrides it.
	DefaultDialect string
}

// DefaultPrefs are a user's preferences before any are set.
func DefaultPrefs() Prefs { return Prefs{Pager: true, DefaultDialect: "tmsh"} }

// LoadPrefs reads the preferences file at path ("PROPERTY VALUE" lines,
// as SavePrefs writes them); a missing file (or path "") is the defaults.
// A line it does not know is skipped, so a newer lbx's file still loads.
func LoadPrefs(path string) (Prefs, error) {
	p := DefaultPrefs()
	if path == "" {
		return p, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("preferences %s: %w", path, err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 {
			p.set(f[0], f[1]) // a bad value keeps the default
		}
	}
	return p, nil
}

// SavePrefs writes p to path, mode 0600, replacing the file whole.
func SavePrefs(path string, p Prefs) error {
	err := replaceFile(path, func(f *os.File) error {
		_, err := fmt.Fprintf(f, "pager %s\ndefault-dialect %s\n", onOff(p.Pager), p.DefaultDialect)
		return err
	})
	if err != nil {
		return fmt.Errorf("preferences %s: %w", path, err)
	}
	return nil
}

func onOff(b bool) string {
	if b {
		return "enabled"
	}
	return "disabled"
}

// prefProps are the preferences' properties and their values, in the
// order `list cli preference` prints them.
var prefProps = []struct {
	name   string
	values []string
}{
	{"default-dialect", []string{"tmsh", "alteon"}},
	{"pager", []string{"enabled", "disabled"}},
}

// set sets one property from its value as typed (an unambiguous
// prefix of it).
func (p *Prefs) set(prop, value string) error {
	var names []string
	for _, pp := range prefProps {
		names = append(names, pp.name)
	}
	name, err := abbrev(prop, names, "cli preference property")
	if err != nil {
		return err
	}
	for _, pp := range prefProps {
		if pp.name != name {
			continue
		}
		v, err := abbrev(value, pp.values, name)
		if err != nil {
			return err
		}
		switch name {
		case "pager":
			p.Pager = v == "enabled"
		case "default-dialect":
			p.DefaultDialect = v
		}
	}
	return nil
}

// abbrev is the word of words that typed is, or an unambiguous prefix
// of; what names the slot in errors.
func abbrev(typed string, words []string, what string) (string, error) {
	var hits []string
	for _, w := range words {
		if w == typed {
			return w, nil
		}
		if strings.HasPrefix(w, typed) {
			hits = append(hits, w)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return "", fmt.Errorf("%s %q: want one of %s", what, typed, strings.Join(words, ", "))
	}
	return "", fmt.Errorf("%s %q is ambiguous: %s", what, typed, strings.Join(hits, ", "))
}

// String is the preferences as `list cli preference` prints them, in
// tmsh's shape.
func (p Prefs) String() string {
	return fmt.Sprintf("cli preference {\n    default-dialect %s\n    pager %s\n}\n", p.DefaultDialect, onOff(p.Pager))
}

// prefsCommand recognizes `list cli preference` and `modify cli
// preference PROPERTY VALUE …` (any unambiguous prefix of each word, as
// the appliance takes them): the shell runs these itself, as they are
// the user's, not the appliance's. ok is false for any other line.
func prefsCommand(line string) (verb string, props []string, ok bool) {
	f := strings.Fields(line)
	if len(f) < 3 {
		return "", nil, false
	}
	// The other verbs are there so that a prefix is as ambiguous as
	// on the appliance (l: list or load).
	verb, err := abbrev(f[0], []string{"list", "load", "modify", "mv", "show"}, "verb")
	if err != nil || (verb != "list" && verb != "modify") {
		return "", nil, false
	}
	if m, err := abbrev(f[1], []string{"cli"}, "module"); err != nil || m != "cli" || len(f[1]) < 2 {
		return "", nil, false
	}
	if k, err := abbrev(f[2], []string{"preference"}, "kind"); err != nil || k != "preference" || len(f[2]) < 3 {
		return "", nil, false
	}
	return verb, f[3:], true
}

// runPrefs runs a prefsCommand line on the shell's preferences, saving
// them when changed.
func (s *Shell) runPrefs(verb string, props []string) error {
	if s.prefs == (Prefs{}) { // a line run outside Interactive
		var err error
		if s.prefs, err = LoadPrefs(s.PrefsFile); err != nil {
			return err
		}
	}
	if verb == "list" {
		if len(props) > 0 {
			return fmt.Errorf("list cli preference: unexpected %q", strings.Join(props, " "))
		}
		s.print(s.prefs.String())
		return nil
	}
	if len(props) == 0 || len(props)%2 != 0 {
		return errors.New("modify cli preference: want PROPERTY VALUE …: pager enabled|disabled, default-dialect tmsh|alteon")
	}
	p := s.prefs
	for i := 0; i < len(props); i += 2 {
		if err := p.set(props[i], props[i+1]); err != nil {
			return fmt.Errorf("modify cli preference: %w", err)
		}
	}
	if s.PrefsFile != "" {
		if err := SavePrefs(s.PrefsFile, p); err != nil {
			return fmt.Errorf("modify cli preference: %w", err)
		}
	}
	s.prefs = p
	return nil
}
