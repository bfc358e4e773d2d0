package ctrlplane

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"lbx/ctrlplane/config"

	"lbx/dataplane"
	"lbx/monitors"
	"lbx/pools"
)

// Dataplane is what the Store drives: it installs compiled programs and
// reports the one it runs. *dataplane.Engine is the production one.
type Dataplane interface {
	// Install makes p the running program. p is finalized and is not
	// changed afterwards, by the Store or the Dataplane: runtime state
	// (counters, health, slow-ramp starts) is the Dataplane's. On error the
	// previous program stays.
	Install(p *dataplane.Program) error
	// Program returns the running program, or nil before the first Install.
	Program() *dataplane.Program
}

// CounterSource is what `show sys dataplane` reads; a Dataplane may offer it
// (the engine does).
type CounterSource interface {
	Counters() []dataplane.Counter
	Flows() int
}

// PersistSource is what `show|delete ltm persistence persist-records` use;
// a Dataplane may offer it (the engine does).
type PersistSource interface {
	PersistRecords(f pools.PersistFilter) []pools.PersistRecordView
	DeletePersistRecords(f pools.PersistFilter) int
}

// RuntimeSource is where show reads the live state of installed objects
// (counters, member health); a Dataplane may offer it (the engine does).
// The Program holds none of it.
type RuntimeSource interface {
	// VirtualStats returns an installed virtual's counters, nil when not
	// installed.
	VirtualStats(name string) *dataplane.VirtualStats
	// Pool returns an installed pool as the dataplane runs it, nil when no
	// installed virtual uses it.
	Pool(name string) *pools.Pool
	// Member returns an installed pool member as the dataplane runs it,
	// nil when not installed.
	Member(pool, member string) *pools.Member
}

var (
	_ Dataplane     = (*dataplane.Engine)(nil)
	_ CounterSource = (*dataplane.Engine)(nil)
	_ PersistSource = (*dataplane.Engine)(nil)
	_ RuntimeSource = (*dataplane.Engine)(nil)
)

// Store holds the running configuration and applies changes to it: every
// change is made on a clone (the candidate), compiled, installed, and only
// then becomes running. Any error leaves running and the dataplane as they
// were. All methods are safe for concurrent use; they are serialized.
type Store struct {
	savedPath string
	net       NetConfig
	dp        Dataplane
	logger    *slog.Logger

	mu      sync.Mutex // guards running and version, and serializes applies
	running *config.Config
	version uint64 // count of successful applies; the Program's Generation
	// warnings of the last apply: what the config asks for that the
	// dataplane does not do yet; newWarnings are those the apply before
	// did not have, which is what a command's output repeats.
	warnings, newWarnings []string
	mon                   *Monitoring // nil: no monitor engine attached
}

// AttachMonitoring makes every later apply hand the configuration's monitor
// rules to the monitor engine, and show report its results. Attach it
// before Boot.
func (s *Store) AttachMonitoring(m *Monitoring) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mon = m
}

// NewStore returns a Store with an empty running configuration. savedPath is
// where `save sys config` writes and Boot reads (bigip.conf); empty disables
// both. A nil logger discards.
func NewStore(dp Dataplane, n NetConfig, savedPath string, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Store{savedPath: savedPath, net: n, dp: dp, logger: logger, running: config.NewConfig()}
}

// Boot loads the saved configuration, compiles and installs it. With no
// saved file it installs an empty program. Errors name the file and line.
func (s *Store) Boot() error { return s.BootWithFallback(false) }

// BootWithFallback is Boot that, when the saved file is corrupt or does not
// apply and useBackup is set, boots from the backup the previous save kept
// (savedPath.bak) instead of failing; the fallback is logged loudly.
func (s *Store) BootWithFallback(useBackup bool) error {
	err := s.bootFrom(s.savedPath, true)
	if err == nil || !useBackup || s.savedPath == "" {
		if _, statErr := os.Stat(s.savedPath + ".bak"); err != nil && s.savedPath != "" && statErr == nil {
			err = fmt.Errorf("%w (boot with fallback set to use %s.bak)", err, s.savedPath)
		}
		return err
	}
	s.logger.Error("saved configuration unusable; booting from the backup", "err", err, "backup", s.savedPath+".bak")
	if berr := s.bootFrom(s.savedPath+".bak", false); berr != nil {
		return errors.Join(err, berr)
	}
	return nil
}

func (s *Store) bootFrom(path string, missingOK bool) error {
	cfg, lines := config.NewConfig(), map[string]int(nil)
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && missingOK:
			s.logger.Info("no saved configuration; starting empty", "path", path)
		case err != nil:
			return fmt.Errorf("saved config: %w", err)
		default:
			if cfg, lines, err = parseConfig(string(data)); err != nil {
				return fmt.Errorf("saved config %s: %w", path, err)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.applyLocked(cfg, lines); err != nil {
		return fmt.Errorf("saved config %s: %w", path, err)
	}
	return nil
}

// LoadText replaces the running configuration with bigip.conf-style text.
func (s *Store) LoadText(text string) error {
	cfg, lines, err := parseConfig(text)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applyLocked(cfg, lines)
}

func (s *Store) newExecCtxLocked() *execCtx {
	return s.execCtxLocked(s.beginLocked())
}

// execCtxLocked is what a command of t runs with: t and what show reads.
func (s *Store) execCtxLocked(t *Txn) *execCtx {
	x := &execCtx{Txn: t, prog: s.dp.Program()}
	x.counters, _ = s.dp.(CounterSource)
	x.persist, _ = s.dp.(PersistSource)
	x.live, _ = s.dp.(RuntimeSource)
	x.mon = s.mon
	return x
}

// Exec runs commands (one per line or separated by `;`) in a session of
// their own, each applied at once; a transaction opened and submitted in the
// same text applies as a whole. A line starting with a module keyword
// (`ltm pool P { … }`) creates or replaces that object.
func (s *Store) Exec(text string) (string, error) {
	ss := s.NewSession()
	out, err := ss.Exec(text)
	return out + ss.droppedNote(), err
}

// Push runs a script as a whole: tmsh commands one per line (a command may
// span lines while braces are open; blank lines and # comments are skipped)
// and bigip.conf stanzas, which create or replace their object. All of it is
// applied to one candidate, compiled and installed once; any error changes
// nothing and names the line. Output of list and show is concatenated. A
// script in the Alteon dialect (IsAlteonScript) goes to PushAlteon.
func (s *Store) Push(text string) (string, error) {
	if IsAlteonScript(text) {
		return s.PushAlteon(text)
	}
	stmts, err := statements(text)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.newExecCtxLocked()
	lines := map[string]int{}
	var out strings.Builder
	for _, st := range stmts {
		x.touched = x.touched[:0]
		o, err := runStatement(x, st)
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) {
				err = &LineError{Line: st.line, Err: err}
			}
			return "", err
		}
		if x.txnOp != txnNone {
			return "", &LineError{Line: st.line, Err: errors.New("a pushed script is applied as one transaction already; leave out cli transaction commands")}
		}
		out.WriteString(o)
		for _, obj := range x.touched {
			lines[obj] = st.line
		}
	}
	mutated := x.mutated
	if err := x.commitLocked(lines); err != nil {
		return "", err
	}
	if mutated {
		writeWarnings(&out, s.newWarnings)
	}
	return out.String(), nil
}

// Running returns a copy of the running configuration.
func (s *Store) Running() *config.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running.Clone()
}

// Version returns how many configurations have been applied; it is also the
// Generation of the installed Program.
func (s *Store) Version() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

func statements(text string) ([]statement, error) {
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	return splitStatements(toks)
}

// commitLocked applies what t did: a changed candidate is compiled,
// installed and becomes running; then a requested save is done. lines
// maps objects to the script line that last changed them, so validation
// errors can point there. It does not check t's base version (Txn.Commit
// does).
func (s *Store) commitLocked(t *Txn, lines map[string]int) error {
	if t.mutated {
		if err := s.applyLocked(t.cand, lines); err != nil {
			return err
		}
	}
	if t.save {
		if err := s.saveLocked(); err != nil {
			if t.mutated {
				return fmt.Errorf("configuration applied (version %d) but not saved: %w", s.version, err)
			}
			return err
		}
	}
	return nil
}

// applyLocked compiles cfg, installs it and makes it running.
func (s *Store) applyLocked(cfg *config.Config, lines map[string]int) error {
	cfg.ApplyDefaults()
	prog, warnings, err := CompileWithWarnings(cfg, s.net)
	if err != nil {
		return atLines(err, lines)
	}
	s.newWarnings = s.newWarnings[:0]
	for _, w := range warnings {
		if !slices.Contains(s.warnings, w) {
			s.newWarnings = append(s.newWarnings, w)
		}
	}
	s.warnings = warnings
	prog.Generation = s.version + 1
	var checks []monitors.Check
	if s.mon != nil {
		if checks, err = s.mon.prepare(cfg); err != nil {
			return atLines(err, lines)
		}
	}
	if err := s.dp.Install(prog); err != nil {
		if s.mon != nil {
			s.mon.abort()
		}
		return fmt.Errorf("install: %w", err)
	}
	if s.mon != nil {
		if err := s.mon.apply(checks); err != nil {
			// Validation accepted every monitor, so this is a bug; the
			// traffic config is installed regardless.
			s.logger.Error("monitor engine refused the checks", "err", err)
		}
	}
	s.running = cfg
	s.version++
	for _, w := range warnings {
		s.logger.Warn("configuration applied with a feature not implemented yet", "warning", w)
	}
	s.logger.Info("configuration applied", "version", s.version,
		"nodes", len(cfg.Nodes), "pools", len(cfg.Pools), "virtuals", len(cfg.Virtuals))
	return nil
}

// atLines points each validation error at the line its object was last
// defined or changed at, when known.
func atLines(err error, lines map[string]int) error {
	if len(lines) == 0 {
		return err
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	var out []error
	for _, e := range joined.Unwrap() {
		var ve *config.ValidationError
		if errors.As(e, &ve) {
			if l, ok := lines[ve.Object]; ok {
				e = &LineError{Line: l, Err: e}
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// saveLocked writes the running configuration to savedPath crash-safely,
// keeping the previous file as savedPath.bak.
func (s *Store) saveLocked() error {
	if s.savedPath == "" {
		return errors.New("save sys config: no saved config path is configured")
	}
	if err := os.MkdirAll(filepath.Dir(s.savedPath), 0o755); err != nil {
		return fmt.Errorf("save sys config: %w", err)
	}
	old, err := os.ReadFile(s.savedPath)
	switch {
	case err == nil:
		if err := writeFileSync(s.savedPath+".bak", old); err != nil {
			return fmt.Errorf("save sys config: backup: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("save sys config: %w", err)
	}
	if err := writeFileSync(s.savedPath, []byte(Text(s.running))); err != nil {
		return fmt.Errorf("save sys config: %w", err)
	}
	s.logger.Info("configuration saved", "path", s.savedPath, "version", s.version)
	return nil
}

// writeFileSync replaces path atomically: a temporary file in the same
// directory is written and synced, renamed over path, and the directory is
// synced so the rename survives a crash.
func writeFileSync(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeWarnings adds the last apply's warnings to a command's output.
func writeWarnings(b *strings.Builder, warnings []string) {
	for _, w := range warnings {
		b.WriteString("warning: " + w + "\n")
	}
}
