package ctlsock

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// startServer serves dialects at a fresh socket, with limits changed by
// tune before the accept loop starts.
func startServer(t *testing.T, tune func(*Server), dialects ...Dialect) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lbx.sock")
	srv, err := Listen(path, slog.New(slog.DiscardHandler), dialects...)
	if err != nil {
		t.Fatal(err)
	}
	if tune != nil {
		tune(srv)
	}
	srv.Serve()
	t.Cleanup(func() { srv.Close() })
	return srv, path
}

// dialRaw opens a connection that sends nothing yet.
func dialRaw(t *testing.T, path string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second)) // bounds every wait below
	t.Cleanup(func() { c.Close() })
	return c
}

// Clients holding connections open without a request (the 21,000
// idle connections) cannot keep a request out: past the cap a new
// connection takes the place of the one idle longest.
func TestControlSocketIdleConnectionsEvicted(t *testing.T) {
	_, path := startServer(t, func(s *Server) { s.maxConns = 2 }, echoExec)
	var idle []net.Conn
	for range 5 {
		idle = append(idle, dialRaw(t, path))
	}
	c := &Client{Path: path, Timeout: 10 * time.Second}
	// The accept loop takes connections in order, so this one comes after
	// all the idle ones, which held the cap.
	if out, err := c.Exec("list"); err != nil || out != "tmsh exec 1:list" {
		t.Fatalf("request past idle connections: %q, %v", out, err)
	}
	// The oldest were closed unanswered.
	if b, err := io.ReadAll(idle[0]); err != nil || len(b) != 0 {
		t.Errorf("evicted connection: %q, %v; want closed", b, err)
	}
	// The newest idle one still holds its place and is served.
	fmt.Fprintln(idle[4], `{"op":"exec","text":"late"}`)
	if b, err := io.ReadAll(idle[4]); err != nil || !strings.Contains(string(b), "tmsh exec 1:late") {
		t.Errorf("newest idle connection: %q, %v", b, err)
	}
}

// blocking is a dialect whose requests run until released, so a test can
// hold the server's connections busy.
type blocking struct {
	entered chan struct{}
	release chan struct{}
}

func (d blocking) Name() string        { return "tmsh" }
func (d blocking) Claims(string) bool  { return false }
func (d blocking) NewSession() Session { return d }
func (d blocking) Push(string) (string, error) {
	return "", errors.New("no push")
}
func (d blocking) Exec(line string) (string, error) {
	if strings.HasPrefix(line, "block") {
		d.entered <- struct{}{}
		<-d.release
	}
	return "done " + line[:min(len(line), 10)], nil
}
func (blocking) Prompt() string  { return "" }
func (blocking) Dropped() string { return "" }

// When every connection is running a request, the next is answered busy
// at once, and served again once one ends.
func TestControlSocketBusy(t *testing.T) {
	d := blocking{entered: make(chan struct{}), release: make(chan struct{})}
	_, path := startServer(t, func(s *Server) { s.maxConns = 2 }, d)
	c := &Client{Path: path, Timeout: 10 * time.Second}
	// Raw connections: the server closes one (EOF here) after it has
	// freed its place.
	var running []net.Conn
	for range 2 {
		conn := dialRaw(t, path)
		fmt.Fprintln(conn, `{"op":"exec","text":"block"}`)
		running = append(running, conn)
		select {
		case <-d.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("request did not start")
		}
	}
	if _, err := c.Exec("list"); err == nil || err.Error() != "control socket busy: 2 connections are open, the most it serves at once; try again" {
		t.Fatalf("request with every connection running: %v, want busy", err)
	}
	close(d.release)
	for _, conn := range running {
		if b, err := io.ReadAll(conn); err != nil || !strings.Contains(string(b), "done block") {
			t.Fatalf("blocked request: %q, %v", b, err)
		}
	}
	if out, err := c.Exec("list"); err != nil || out != "done list" {
		t.Fatalf("after the busy ones ended: %q, %v", out, err)
	}
}

// A connection that sends nothing is answered with an error and closed
// when the read timeout passes, freeing its place.
func TestControlSocketIdleTimeout(t *testing.T) {
	_, path := startServer(t, func(s *Server) { s.maxConns = 1; s.readTimeout = 50 * time.Millisecond }, echoExec)
	idle := dialRaw(t, path)
	b, err := io.ReadAll(idle)
	if err != nil || !strings.Contains(string(b), "control request: none arrived within 50ms of connecting") {
		t.Fatalf("idle connection: %q, %v", b, err)
	}
	if out, err := (&Client{Path: path}).Exec("list"); err != nil || out != "tmsh exec 1:list" {
		t.Fatalf("after the idle one timed out: %q, %v", out, err)
	}
}

// A slow request (half sent, then silence) times out the same way.
func TestControlSocketSlowRequest(t *testing.T) {
	_, path := startServer(t, func(s *Server) { s.readTimeout = 50 * time.Millisecond }, echoExec)
	slow := dialRaw(t, path)
	io.WriteString(slow, `{"op":"exec","te`)
	b, err := io.ReadAll(slow)
	if err != nil || !strings.Contains(string(b), "none arrived within 50ms") {
		t.Fatalf("slow request: %q, %v", b, err)
	}
}

// emfileListener fails its first n Accepts as a process out of file
// descriptors does, then accepts from the real listener.
type emfileListener struct {
	net.Listener
	n      int32
	calls  atomic.Int32
	failed chan struct{} // closed after the first failure
	once   sync.Once
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.calls.Add(1) <= l.n {
		l.once.Do(func() { close(l.failed) })
		return nil, &net.OpError{Op: "accept", Net: "unix", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

func listenFake(t *testing.T, n int32, backoffMax time.Duration) (*Server, *emfileListener, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lbx.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	fake := &emfileListener{Listener: ln, n: n, failed: make(chan struct{})}
	srv := newServer(fake, path, slog.New(slog.DiscardHandler), []Dialect{echoExec})
	srv.backoffMin, srv.backoffMax = time.Millisecond, backoffMax
	return srv, fake, path
}

// Accept errors (EMFILE) do not end the accept loop: it backs off and the
// request waiting in the backlog is served once accept works again.
func TestControlSocketAcceptErrors(t *testing.T) {
	srv, fake, path := listenFake(t, 5, 4*time.Millisecond)
	srv.Serve()
	defer srv.Close()
	if out, err := (&Client{Path: path, Timeout: 10 * time.Second}).Exec("list"); err != nil || out != "tmsh exec 1:list" {
		t.Fatalf("request after accept errors: %q, %v", out, err)
	}
	if got := fake.calls.Load(); got < 6 {
		t.Errorf("accept called %d times, want the 5 failures and a success", got)
	}
	if out, err := (&Client{Path: path}).Exec("again"); err != nil || out != "tmsh exec 1:again" {
		t.Fatalf("second request: %q, %v", out, err)
	}
}

// Close ends an accept loop that is backing off.
func TestControlSocketCloseDuringBackoff(t *testing.T) {
	srv, fake, _ := listenFake(t, 1<<30, time.Hour)
	srv.Serve()
	<-fake.failed
	done := make(chan error)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the accept backoff")
	}
}

// store is a dialect that keeps what was pushed and lists it back: the
// control socket's part of "a config lbx saved always loads back".
type store struct {
	mu   sync.Mutex
	text string
}

func (d *store) Name() string       { return "tmsh" }
func (d *store) Claims(string) bool { return false }
func (d *store) NewSession() Session {
	return storeSession{d}
}
func (d *store) Push(t string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.text = t
	return "", nil
}

type storeSession struct{ d *store }

func (s storeSession) Exec(line string) (string, error) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if line == "list ltm pool" {
		return s.d.text, nil
	}
	return "", errors.New("unknown command")
}
func (storeSession) Prompt() string  { return "" }
func (storeSession) Dropped() string { return "" }

// bigConfig is n pools of m members each, as `list ltm pool` prints them.
func bigConfig(n, m int) string {
	var b strings.Builder
	for p := range n {
		fmt.Fprintf(&b, "ltm pool /Common/p%d {\n    members {\n", p)
		for i := range m {
			a := fmt.Sprintf("10.%d.%d.%d", p/250, p%250, i+1)
			fmt.Fprintf(&b, "        /Common/%s:80 {\n            address %s\n        }\n", a, a)
		}
		b.WriteString("    }\n    monitor /Common/tcp\n}\n")
	}
	return b.String()
}

// Beyond the limit, a request and an answer are refused with an error
// naming it, never cut.
func TestControlSocketMessageLimit(t *testing.T) {
	d := &store{}
	_, path := startServer(t, func(s *Server) { s.maxMessage = 4096 }, d)
	c := &Client{Path: path}
	big := strings.Repeat("x", 8192)
	_, err := c.Push(big)
	if err == nil || err.Error() != "control request: larger than the control socket's limit of 4096 bytes per message" {
		t.Fatalf("push beyond the limit: %v", err)
	}
	d.mu.Lock()
	if d.text != "" {
		t.Error("a refused push reached the dialect")
	}
	d.text = big // as if applied by smaller pushes
	d.mu.Unlock()
	if _, err := c.Exec("list ltm pool"); err == nil || !strings.Contains(err.Error(), "answer of 8") || !strings.Contains(err.Error(), "limit of 4096 bytes per message") {
		t.Fatalf("answer beyond the limit: %v", err)
	}
	// The client refuses what no server would take before sending it.
	var sent strings.Builder
	if err := writeMessage(&sent, Request{Text: big}, 4096); !errors.Is(err, ErrTooLarge) || sent.Len() != 0 || !strings.HasPrefix(err.Error(), "8") {
		t.Fatalf("client-side limit: %v, %d bytes written", err, sent.Len())
	}
}

// A request the server refuses part way (a server with a smaller limit,
// as an older appliance's 16 MiB) ends in the server's answer, not in
// "broken pipe": the client reads it after its send fails.
func TestControlSocketRefusedMidSend(t *testing.T) {
	d := &store{}
	_, path := startServer(t, func(s *Server) { s.maxMessage = 4096 }, d)
	_, err := (&Client{Path: path, Timeout: 10 * time.Second}).Push(strings.Repeat("x", 16<<20))
	if err == nil || err.Error() != "control request: larger than the control socket's limit of 4096 bytes per message" {
		t.Fatalf("push refused mid-send: %v", err)
	}
}

// The case for real: clients hold connections until the process
// runs out of file descriptors and the server's accept fails with EMFILE.
// The socket keeps accepting, and serves again once descriptors are free.
// The cap is lifted so that the server holds a descriptor per client, as
// it did.
func TestControlSocketSurvivesFDExhaustion(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{want: "too many open files", seen: make(chan struct{})}
	_, path := startServer(t, func(s *Server) {
		s.logger = slog.New(slog.NewTextHandler(log, nil))
		s.maxConns = 1 << 20
	}, echoExec)
	// A descriptor in reserve, to free one exactly when all are used.
	reserve, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer reserve.Close()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	low := syscall.Rlimit{Cur: uint64(len(fds)) + 100, Max: orig.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if !restored {
			syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig)
			restored = true
		}
	}
	defer restore()
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	dial := func() error {
		c, err := net.Dial("unix", path)
		if err == nil {
			held = append(held, c)
		}
		return err
	}
	for {
		if err := dial(); err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatalf("dial %d: %v, want EMFILE", len(held), err)
			}
			break
		}
		if len(held) > 1000 {
			t.Fatal("no EMFILE after 1000 connections")
		}
	}
	// Every descriptor is used: one more connection, on the reserve's,
	// waits in the backlog for an accept that cannot get one. The
	// server's accept, retrying, may take the freed descriptor first (for
	// a connection already in its backlog); the dial then fails with
	// EMFILE, the same exhaustion seen from the client's side.
	reserve.Close()
	if err := dial(); err != nil && !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("dial on the reserve descriptor: %v", err)
	}
	select {
	case <-log.seen:
	case <-time.After(10 * time.Second):
		t.Fatalf("the server's accept did not fail; log:\n%s", log.String())
	}
	for _, c := range held {
		c.Close()
	}
	held = nil
	restore()
	if out, err := (&Client{Path: path, Timeout: 10 * time.Second}).Exec("list"); err != nil || out != "tmsh exec 1:list" {
		t.Fatalf("after running out of descriptors: %q, %v", out, err)
	}
}

// syncBuffer is a log the server's goroutines write while a test reads;
// seen is closed once it holds want.
type syncBuffer struct {
	want string
	seen chan struct{}

	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	had := strings.Contains(s.b.String(), s.want)
	n, err := s.b.Write(p)
	if !had && strings.Contains(s.b.String(), s.want) {
		close(s.seen)
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Many large requests at once cannot take more memory than a budget of
// bytes in flight: past it a request is refused, and served once the
// others have been answered.
func TestControlSocketInflightBudget(t *testing.T) {
	d := blocking{entered: make(chan struct{}), release: make(chan struct{})}
	_, path := startServer(t, func(s *Server) { s.maxInflight = 8 << 10 }, d)
	big := "block" + strings.Repeat("x", 5<<10)
	running := dialRaw(t, path)
	if err := writeMessage(running, Request{Op: "exec", Text: big}, MaxMessage); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("request did not start")
	}
	c := &Client{Path: path, Timeout: 10 * time.Second}
	if _, err := c.Exec("x" + big); err == nil || err.Error() != "control request: control socket busy: more than 8192 bytes of requests are being read or run at once; try again" {
		t.Fatalf("request past the budget: %v", err)
	}
	close(d.release)
	if b, err := io.ReadAll(running); err != nil || !strings.Contains(string(b), "done block") {
		t.Fatalf("running request: %q, %v", b, err)
	}
	if out, err := c.Exec("x" + big); err != nil || out != "done xblockxxxx" {
		t.Fatalf("after the budget was given back: %q, %v", out, err)
	}
}
