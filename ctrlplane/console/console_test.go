package console

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sys/unix"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/ctlsock"
)

// openPTY opens a pseudo-terminal pair: the master the test types on,
// and the slave's path the console serves.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, fmt.Sprintf("/dev/pts/%d", n)
}

// fakeDialect records who ran what; its sessions answer "ran LINE as USER".
type fakeDialect struct {
	mu  sync.Mutex
	ran []string
}

type fakeSession struct {
	d    *fakeDialect
	user string
}

func (d *fakeDialect) Name() string                       { return "tmsh" }
func (d *fakeDialect) Claims(string) bool                 { return true }
func (d *fakeDialect) NewSession() ctlsock.Session        { return &fakeSession{d, "root"} }
func (d *fakeDialect) Push(string) (string, error)        { return "", nil }
func (d *fakeDialect) PushAs(_, _ string) (string, error) { return "", nil }
func (d *fakeDialect) NewSessionAs(u string) (ctlsock.Session, error) {
	return &fakeSession{d, u}, nil
}
func (s *fakeSession) Prompt() string  { return "" }
func (s *fakeSession) Dropped() string { return "" }
func (s *fakeSession) Exec(line string) (string, error) {
	s.d.mu.Lock()
	s.d.ran = append(s.d.ran, s.user+": "+line)
	s.d.mu.Unlock()
	return "ran " + strings.TrimSpace(line) + " as " + s.user + "\n", nil
}

// reader collects the master's output for bounded waits.
type reader struct {
	mu  sync.Mutex
	buf []byte
	off int
}

func (r *reader) run(m *os.File) {
	b := make([]byte, 1024)
	for {
		n, err := m.Read(b)
		r.mu.Lock()
		r.buf = append(r.buf, b[:n]...)
		r.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (r *reader) expect(t *testing.T, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r.mu.Lock()
		loc := rx.FindIndex(r.buf[r.off:])
		if loc != nil {
			r.off += loc[1]
		}
		seen := string(r.buf[r.off:])
		r.mu.Unlock()
		if loc != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within 10 s; the terminal shows %q", re, seen)
		}
	}
}

func TestConsoleLogin(t *testing.T) {
	m, slave := openPTY(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("right"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]*config.User{
		"ann": {Name: "ann", Role: config.RoleOperator, PasswordHash: string(hash)},
		"nob": {Name: "nob", Role: config.RoleNoAccess, PasswordHash: string(hash)},
	}
	d := &fakeDialect{}
	term, err := Open(slave)
	if err != nil {
		t.Fatal(err)
	}
	go Serve(term, Config{Users: func(n string) *config.User { return users[n] }, Dialects: []ctlsock.Dialect{d}, Banner: "lbx test"})
	r := &reader{}
	go r.run(m)
	r.expect(t, `lbx login: `)
	for _, bad := range [][2]string{{"ann", "wrong"}, {"nob", "right"}, {"nobody", "right"}} {
		m.WriteString(bad[0] + "\r")
		r.expect(t, `Password: `)
		m.WriteString(bad[1] + "\r")
		r.expect(t, `Login incorrect`)
		r.expect(t, `lbx login: `)
	}
	if strings.Contains(string(r.buf), "wrong") {
		t.Errorf("the password was echoed: %q", r.buf)
	}
	m.WriteString("ann\r")
	r.expect(t, `Password: `)
	m.WriteString("right\r")
	r.expect(t, `ann@\(lbx\)`)
	m.WriteString("list ltm pool\r")
	r.expect(t, `ran list ltm pool as ann`)
	m.WriteString("quit\r")
	r.expect(t, `lbx login: `)
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.ran) != 1 || d.ran[0] != "ann: list ltm pool" {
		t.Errorf("ran %q", d.ran)
	}
}
