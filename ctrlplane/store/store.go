package store

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
	"time"

	"lbx/ctrlplane/compile"
	"lbx/ctrlplane/config"
	"lbx/dataplane"
	"lbx/internal/atomicfile"
	"lbx/internal/spareproc"
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

var _ Dataplane = (*dataplane.Engine)(nil)

// Checker is the monitor engine as the store drives it at every apply
// (*health.Monitoring is the production one).
type Checker interface {
	// Prepare validates the monitor rules of c and readies their checks;
	// apply starts them once c's program is installed.
	Prepare(c *config.Config) (apply func() error, err error)
	// Abort undoes a Prepare whose install failed.
	Abort()
}

// Codec reads and writes the saved configuration file (bigip.conf, tmsh
// text): the tmsh dialect is the production one. Lines maps each object
// (config.Ref.String) to the line that defines it, for errors.
type Codec interface {
	Parse(text string) (c *config.Config, lines map[string]int, err error)
	// Format may keep what it does not print in full (key material)
	// beside the file, so it can fail.
	Format(c *config.Config) (string, error)
	// Restore reads back into c, parsed from such text by another path
	// (load sys config file), what Format kept aside.
	Restore(c *config.Config) error
}

// Store holds the running configuration and applies changes to it: every
// change is made on a clone (the candidate), compiled, installed, and only
// then becomes running. Any error leaves running and the dataplane as they
// were. All methods are safe for concurrent use; they are serialized.
type Store struct {
	power     powerHook
	savedPath string
	net       compile.NetConfig
	codec     Codec
	dp        Dataplane
	logger    *slog.Logger

	mu      sync.Mutex // guards running and version, and serializes applies
	running *config.Config
	version uint64    // count of successful applies; the Program's Generation
	applied time.Time // when the last successful apply finished (wall clock)
	// warnings of the last apply: what the config asks for that the
	// dataplane does not do yet; newWarnings are those the apply before
	// did not have, which is what a command's output repeats.
	warnings, newWarnings []string
	checks                Checker // nil: no monitor engine attached
}

// AttachChecker makes every later apply hand the configuration's monitor
// rules to the monitor engine. Attach it before Boot.
func (s *Store) AttachChecker(c Checker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = c
}

// New returns a Store with an empty running configuration. savedPath is
// where a save writes and Boot reads (bigip.conf, in codec's format);
// empty disables both. A nil logger discards.
func New(dp Dataplane, n compile.NetConfig, codec Codec, savedPath string, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Store{savedPath: savedPath, net: n, codec: codec, dp: dp, logger: logger, running: config.NewConfig()}
}

// Dataplane is the dataplane the store installs into, for the status layer.
func (s *Store) Dataplane() Dataplane { return s.dp }

// Net is what the store compiles against.
func (s *Store) Net() compile.NetConfig { return s.net }

// Boot loads the saved configuration, compiles and installs it. With no
// saved file it installs an empty program. Errors name the file and line.
func (s *Store) Boot() error { return s.BootWithFallback(false) }

// BootWithFallback is Boot that, when the saved file is corrupt or does not
// apply and useBackup is set, boots from the backup the previous save kept
// (savedPath.bak) instead of failing; the fallback is logged loudly.
func (s *Store) BootWithFallback(useBackup bool) error {
	s.removeSaveLeftovers()
	err := s.bootFrom(s.savedPath, true)
	if err == nil || !useBackup || s.savedPath == "" {
		if _, statErr := os.Stat(s.savedPath + ".bak"); err != nil && s.savedPath != "" && statErr == nil {
			err = fmt.Errorf("%w (boot with config.fallback set to use %s.bak)", err, s.savedPath)
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
		data, err := ReadConfigFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && missingOK:
			s.logger.Info("no saved configuration file; starting empty", "path", path)
		case err != nil:
			return fmt.Errorf("saved config: %w", err)
		default:
			if cfg, lines, err = s.codec.Parse(string(data)); err != nil {
				return fmt.Errorf("saved config %s: %w", path, err)
			}
			if blank(data) {
				s.logger.Info("saved configuration is empty; starting empty", "path", path, "bytes", len(data))
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.applyLocked(cfg, lines, false); err != nil {
		return fmt.Errorf("saved config %s: %w", path, err)
	}
	return nil
}

// blank reports whether a saved file holds nothing but blanks and #
// comments.
func blank(data []byte) bool {
	for line := range strings.Lines(string(data)) {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// removeSaveLeftovers removes the temporary files a save interrupted by a
// crash left beside the saved file (atomicfile.Write's .NAME.tmp-*, for the
// file and its backup). Nothing else writes them: a save runs with the
// store locked, and Boot runs before the control socket opens.
func (s *Store) removeSaveLeftovers() {
	if s.savedPath == "" {
		return
	}
	dir, base := filepath.Dir(s.savedPath), filepath.Base(s.savedPath)
	for _, pat := range []string{"." + base + ".tmp-*", "." + base + ".bak.tmp-*"} {
		matches, _ := filepath.Glob(filepath.Join(dir, globEscape(pat)))
		for _, m := range matches {
			if st, err := os.Lstat(m); err != nil || !st.Mode().IsRegular() {
				continue
			}
			if err := os.Remove(m); err != nil {
				s.logger.Warn("cannot remove a temporary file left by an interrupted save", "path", m, "err", err)
				continue
			}
			s.logger.Info("removed a temporary file left by an interrupted save", "path", m)
		}
	}
}

// globEscape escapes the glob metacharacters of a file name, except the
// final "*" the caller means.
func globEscape(pat string) string {
	stem := strings.TrimSuffix(pat, "*")
	var b strings.Builder
	for _, r := range stem {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String() + "*"
}

// LoadText replaces the running configuration with text in the codec's
// format (bigip.conf).
func (s *Store) LoadText(text string) error {
	cfg, lines, err := s.codec.Parse(text)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applyLocked(cfg, lines, false)
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

// LastApply returns the version and the (wall-clock) time of the last
// successful apply; a zero time before the first (Boot is one).
func (s *Store) LastApply() (version uint64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version, s.applied
}

// commitLocked applies what t did: a changed candidate is compiled,
// installed and becomes running; then a requested save is done. lines
// maps objects to the script line that last changed them, so validation
// errors can point there. It does not check t's base version (Txn.Commit
// does).
func (s *Store) commitLocked(t *Txn, lines map[string]int) error {
	if t.mutated {
		// A changed candidate is complete: every edit completed it
		// (config.Defaults, whose first edit completes the whole), as a
		// Load does.
		if err := s.applyLocked(t.cand, lines, true); err != nil {
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

// applyLocked compiles cfg, installs it and makes it running. complete
// says cfg's defaults are applied already (config.Config.ApplyDefaults,
// which would otherwise visit every pool, member and node again).
func (s *Store) applyLocked(cfg *config.Config, lines map[string]int, complete bool) error {
	defer spareproc.Hold()()
	if !complete {
		cfg.ApplyDefaults()
	}
	if err := cfg.MergeBootSelfs(s.net.BootSelfs()); err != nil {
		return atLines(err, lines)
	}
	// From here on cfg is only read: its object lists are sorted once.
	defer config.Freeze(cfg)()
	// cfg is ours and complete: compile it without the copy and second
	// completion CompileWithWarnings makes for callers that keep theirs.
	prog, warnings, err := compile.CompileCompleted(cfg, s.net)
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
	var startChecks func() error
	if s.checks != nil {
		if startChecks, err = s.checks.Prepare(cfg); err != nil {
			return atLines(err, lines)
		}
	}
	if err := s.dp.Install(prog); err != nil {
		if s.checks != nil {
			s.checks.Abort()
		}
		return fmt.Errorf("install: %w", err)
	}
	if startChecks != nil {
		if err := startChecks(); err != nil {
			// Validation accepted every monitor, so this is a bug; the
			// traffic config is installed regardless.
			s.logger.Error("monitor engine refused the checks", "err", err)
		}
	}
	s.running = cfg
	s.version++
	s.applied = time.Now()
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
				e = &config.LineError{Line: l, Err: e}
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// Save writes the running configuration to the saved path crash-safely,
// keeping the previous file as .bak.
func (s *Store) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked()
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
		if err := atomicfile.Write(s.savedPath+".bak", old, 0o600); err != nil {
			return fmt.Errorf("save sys config: backup: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("save sys config: %w", err)
	}
	text, err := s.codec.Format(withoutBootSelfs(s.running))
	if err != nil {
		return fmt.Errorf("save sys config: %w", err)
	}
	if err := atomicfile.Write(s.savedPath, []byte(text), 0o600); err != nil {
		return fmt.Errorf("save sys config: %w", err)
	}
	s.logger.Info("configuration saved", "path", s.savedPath, "version", s.version)
	return nil
}

// withoutBootSelfs is c without the boot config's self IPs, which are not
// saved: they come from the boot config at every start.
func withoutBootSelfs(c *config.Config) *config.Config {
	c = c.Clone()
	for name, sf := range c.Selfs {
		if sf.Boot {
			delete(c.Selfs, name)
		}
	}
	return c
}
