package store

import (
	"slices"
	"strings"

	"lbx/ctrlplane/compile"
	"lbx/ctrlplane/config"
	"lbx/internal/spareproc"
)

// Validator is a Checker that can also validate a configuration's monitor
// rules without readying any check (*health.Monitoring is one): Check uses
// it, since Prepare marks members as checking. A Checker without it is
// not consulted by Check; Commit still validates through Prepare.
type Validator interface {
	Validate(c *config.Config) error
}

// Check is a dry run of Update: it runs fn on a transaction of its own
// with the store locked, then validates and compiles the candidate as a
// commit would (defaults, the boot config's self IPs, compile, the monitor
// rules) but installs nothing, makes nothing running and saves nothing.
// It returns what the commit would change and the warnings it would add;
// errors point at script lines as a commit's do. The running
// configuration, its version and the dataplane are left as they were.
func (s *Store) Check(fn func(t *Txn) error) (diff []Change, warnings []string, err error) {
	defer spareproc.Hold()()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.beginLocked()
	if err := fn(t); err != nil {
		return nil, nil, err
	}
	diff = t.Diff()
	if !t.mutated {
		return diff, nil, nil
	}
	cfg := t.cand.Clone()
	cfg.ApplyDefaults()
	if err := cfg.MergeBootSelfs(s.net.BootSelfs()); err != nil {
		return nil, nil, atLines(err, t.lines)
	}
	_, all, err := compile.CompileCompleted(cfg, s.net)
	if err != nil {
		return nil, nil, atLines(err, t.lines)
	}
	if v, ok := s.checks.(Validator); ok {
		if err := v.Validate(cfg); err != nil {
			return nil, nil, atLines(err, t.lines)
		}
	}
	for _, w := range all {
		if !slices.Contains(s.warnings, w) {
			warnings = append(warnings, w)
		}
	}
	return diff, warnings, nil
}

// FormatDiff prints changes one a line, as tmsh names objects: "+ " for
// a create, "~ " for a modify, "- " for a delete.
func FormatDiff(changes []Change) string {
	var b strings.Builder
	for _, c := range changes {
		b.WriteString([...]string{"+ ", "~ ", "- "}[c.Op])
		b.WriteString(c.Ref.String())
		b.WriteByte('\n')
	}
	return b.String()
}
