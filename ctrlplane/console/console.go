package console

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chzyer/readline"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"lbx/cli"
	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctlsock"
)

// Terminal is a terminal device with one reader goroutine.
type Terminal struct {
	f   *os.File
	fd  int
	in  chan []byte
	err error // the read error that ended the reader, after in is closed

	mu   sync.Mutex
	rest []byte // bytes read from in but not consumed yet
}

// Open opens a terminal device (not as the controlling terminal) and
// starts its reader.
func Open(path string) (*Terminal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	t := &Terminal{f: f, fd: int(f.Fd()), in: make(chan []byte, 16)}
	go t.read()
	return t, nil
}

func (t *Terminal) read() {
	for {
		buf := make([]byte, 256)
		n, err := t.f.Read(buf)
		if n > 0 {
			t.in <- buf[:n]
		}
		if err != nil {
			t.err = err
			close(t.in)
			return
		}
	}
}

// Write writes to the terminal.
func (t *Terminal) Write(p []byte) (int, error) { return t.f.Write(p) }

// Read reads what the terminal's reader has; io.EOF when the device is
// gone.
func (t *Terminal) Read(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.rest) == 0 {
		b, ok := <-t.in
		if !ok {
			if t.err != nil && !errors.Is(t.err, io.EOF) {
				return 0, t.err
			}
			return 0, io.EOF
		}
		t.rest = b
	}
	n := copy(p, t.rest)
	t.rest = t.rest[n:]
	return n, nil
}

// Sane puts the terminal in line mode with echo, as a login needs it,
// whatever a session left.
func (t *Terminal) Sane() {
	tio, err := unix.IoctlGetTermios(t.fd, unix.TCGETS)
	if err != nil {
		return
	}
	tio.Lflag |= unix.ICANON | unix.ECHO | unix.ECHOE | unix.ISIG
	tio.Iflag |= unix.ICRNL
	tio.Oflag |= unix.OPOST | unix.ONLCR
	unix.IoctlSetTermios(t.fd, unix.TCSETS, tio)
}

func (t *Terminal) echo(on bool) {
	tio, err := unix.IoctlGetTermios(t.fd, unix.TCGETS)
	if err != nil {
		return
	}
	if on {
		tio.Lflag |= unix.ECHO
	} else {
		tio.Lflag &^= unix.ECHO
	}
	unix.IoctlSetTermios(t.fd, unix.TCSETS, tio)
}

// maxLine bounds a line typed at the login prompt.
const maxLine = 256

// ReadLine reads one line (without its end), at most maxLine bytes.
func (t *Terminal) ReadLine() (string, error) {
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := t.Read(b); err != nil {
			return "", err
		}
		switch b[0] {
		case '\n', '\r':
			return string(line), nil
		case 4: // ^D on an empty line
			if len(line) == 0 {
				return "", io.EOF
			}
		default:
			if len(line) < maxLine {
				line = append(line, b[0])
			}
		}
	}
}

// ReadPassword reads a line without echo.
func (t *Terminal) ReadPassword() ([]byte, error) {
	t.echo(false)
	defer t.echo(true)
	s, err := t.ReadLine()
	t.Write([]byte("\n"))
	return []byte(s), err
}

// size is the terminal's size; a serial line has none: 80×24.
func (t *Terminal) size() (w, h int) {
	w, h, err := term.GetSize(t.fd)
	if err != nil || w <= 0 || h <= 0 {
		return 80, 24
	}
	return w, h
}

// Config is what the login needs of the appliance.
type Config struct {
	// Users finds an auth user by name in the running configuration.
	Users func(name string) *config.User
	// Dialects are the appliance's, tmsh first (ctrlplane.Dialects).
	Dialects []ctlsock.Dialect
	// UsersDir keeps each user's history and preferences (as SSH's):
	// UsersDir/USER/{history,prefs}; empty: not kept.
	UsersDir string
	// Banner is printed before each login prompt.
	Banner string
	Logger *slog.Logger
}

// failDelay is the pause after a failed login.
const failDelay = 2 * time.Second

// Serve runs logins on t until its device is gone.
func Serve(t *Terminal, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for {
		t.Sane()
		if cfg.Banner != "" {
			fmt.Fprintf(t, "\n%s\n", cfg.Banner)
		}
		user, err := login(t, cfg)
		if err != nil && !errors.Is(err, errLogin) {
			return err // the terminal is gone
		}
		if err != nil {
			cfg.Logger.Warn("console login", "err", err)
			fmt.Fprintf(t, "Login incorrect\n")
			time.Sleep(failDelay)
			continue
		}
		cfg.Logger.Info("console login", "user", user)
		if err := shell(t, cfg, user); err != nil {
			cfg.Logger.Warn("console shell", "user", user, "err", err)
		}
		cfg.Logger.Info("console logout", "user", user)
	}
}

var errLogin = errors.New("login incorrect")

func login(t *Terminal, cfg Config) (string, error) {
	fmt.Fprint(t, "lbx login: ")
	name, err := t.ReadLine()
	if err != nil {
		return "", err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return "", errLogin
	}
	fmt.Fprint(t, "Password: ")
	pw, err := t.ReadPassword()
	if err != nil {
		return "", err
	}
	u := cfg.Users(name)
	if u == nil || u.Role == config.RoleNoAccess || !u.CheckPassword(string(pw)) {
		return "", fmt.Errorf("%w for %q", errLogin, name)
	}
	return name, nil
}

func shell(t *Terminal, cfg Config, user string) error {
	app, err := ctlsock.NewUserApp(cfg.Dialects, user)
	if err != nil {
		return err
	}
	hist, prefsFile := userFiles(cfg.UsersDir, user)
	prefs, err := cli.LoadPrefs(prefsFile)
	if err != nil {
		cfg.Logger.Warn("console: preferences", "user", user, "err", err)
	}
	var raw *term.State
	sh := &cli.Shell{App: app, User: user, In: io.NopCloser(t), Out: t, Err: t,
		Alteon: prefs.DefaultDialect == "alteon", PrefsFile: prefsFile,
		Height: func() int { _, h := t.size(); return h },
		Terminal: func(c *readline.Config) {
			c.FuncIsTerminal = func() bool { return true }
			c.FuncMakeRaw = func() error {
				st, err := term.MakeRaw(t.fd)
				raw = st
				return err
			}
			c.FuncExitRaw = func() error {
				if raw == nil {
					return nil
				}
				return term.Restore(t.fd, raw)
			}
			c.FuncGetWidth = func() int { w, _ := t.size(); return w }
			c.FuncOnWidthChanged = func(func()) {}
		}}
	return sh.Interactive(hist)
}

// userFiles are the user's history and preferences files in dir.
func userFiles(dir, user string) (history, prefs string) {
	if dir == "" || user == "" || strings.ContainsAny(user, "/\x00") || user == "." || user == ".." {
		return "", ""
	}
	d := filepath.Join(dir, user)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", ""
	}
	return filepath.Join(d, "history"), filepath.Join(d, "prefs")
}
