package testbed

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// flapDial tells what one dial to a flapping port saw: open (the dial
// succeeded) or down. Down is a refused SYN, or a handshake reset: a dial
// that lands while the listener closes has its handshake completed by the
// kernel into the accept queue, and closing the listener resets every
// connection it never accepted, so connect reports ECONNRESET. Anything
// else (a timeout, an unreachable host) is an error.
func flapDial(err error) (open bool, _ error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return false, nil
	}
	return false, err
}

func TestFlapDial(t *testing.T) {
	connect := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp4", Err: os.NewSyscallError("connect", errno)}
	}
	for _, tc := range []struct {
		name    string
		err     error
		open    bool
		wantErr bool
	}{
		{"connected", nil, true, false},
		{"refused while closed", connect(syscall.ECONNREFUSED), false, false},
		{"reset while the listener closes", connect(syscall.ECONNRESET), false, false},
		{"timeout", &net.OpError{Op: "dial", Net: "tcp4", Err: os.ErrDeadlineExceeded}, false, true},
		{"unreachable", connect(syscall.EHOSTUNREACH), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open, err := flapDial(tc.err)
			if open != tc.open || (err != nil) != tc.wantErr {
				t.Fatalf("flapDial(%v) = %v, %v; want open %v, error %v", tc.err, open, err, tc.open, tc.wantErr)
			}
		})
	}
}

// The closing edge flapDial counts as down is real: a connection the kernel
// completed into the accept queue is reset when the listener closes.
// Loopback only, no root.
func TestListenerCloseResetsUnaccepted(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	defer c.Close()
	ln.Close() // never accepted
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after the listener closed: %v, want connection reset", err)
	}
}

func TestParseListen(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Listen
		err  string // substring of the error; "" for success
	}{
		{in: "80:http", want: Listen{Port: 80, Mode: ModeHTTP}},
		{in: "80:iis", want: Listen{Port: 80, Mode: ModeIIS}},
		{in: "83:slow=2s", want: Listen{Port: 83, Mode: ModeSlow, Delay: 2 * time.Second}},
		{in: "84:flap=3s/1.5s", want: Listen{Port: 84, Mode: ModeFlap, Up: 3 * time.Second, Down: 1500 * time.Millisecond}},
		{in: "85:status=503", want: Listen{Port: 85, Mode: ModeStatus, Status: 503}},
		{in: "82:blackhole", want: Listen{Port: 82, Mode: ModeBlackhole}},
		{in: "81:dead", want: Listen{Port: 81, Mode: ModeDead}},
		{in: "443:https", want: Listen{Port: 443, Mode: ModeHTTPS}},
		{in: "443:https=1", err: "takes no argument"},
		{in: "80", err: "want PORT:MODE"},
		{in: "0:http", err: "want 1-65535"},
		{in: "65536:http", err: "want 1-65535"},
		{in: "80:gopher", err: `mode "gopher"`},
		{in: "80:http=1", err: "takes no argument"},
		{in: "83:slow", err: "needs =ARG"},
		{in: "83:slow=-1s", err: "positive duration"},
		{in: "84:flap=3s", err: "UP/DOWN"},
		{in: "84:flap=0s/1s", err: "UP/DOWN"},
		{in: "85:status=99", err: "100-599"},
		{in: "85:status=abc", err: "100-599"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseListen(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %+v, %v; want an error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			back, err := ParseListen(got.String())
			if err != nil || back != got {
				t.Errorf("String %q does not parse back: %+v, %v", got.String(), back, err)
			}
		})
	}
}

func FuzzParseListen(f *testing.F) {
	for _, s := range []string{"80:http", "83:slow=2s", "84:flap=3s/3s", "85:status=503", "82:blackhole", "1:dead", "443:https", "x:y=z/w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseListen(s)
		if err != nil {
			return
		}
		back, err := ParseListen(l.String())
		if err != nil || back != l {
			t.Fatalf("%q parsed as %+v, whose String %q parses as %+v, %v", s, l, l.String(), back, err)
		}
	})
}

func TestDefaultTopologyServers(t *testing.T) {
	topo := DefaultTopology()
	var pooled, emulated []string
	for _, h := range topo.Servers() {
		pooled = append(pooled, h.Name)
	}
	for _, h := range topo.Emulated() {
		emulated = append(emulated, h.Name+" "+strings.Join(h.Serve.Args(), " "))
	}
	if diff := cmp.Diff([]string{"server1", "server2", "server3"}, pooled); diff != "" {
		t.Errorf("pool members (-want +got):\n%s", diff)
	}
	wantEmulated := []string{
		"server1 --name server1 --http= --udp=:7 --listen 80:http --listen 81:dead --listen 82:blackhole --listen 83:slow=2s --listen 84:flap=3s/3s --listen 85:status=503 --listen 443:https",
		"server2 --name server2 --http= --udp=:7 --listen 80:http --listen 81:dead --listen 82:blackhole --listen 83:slow=2s --listen 84:flap=3s/3s --listen 85:status=503 --listen 443:https",
		"server3 --name server3 --http= --udp=:7 --listen 80:http --listen 81:dead --listen 82:blackhole --listen 83:slow=2s --listen 84:flap=3s/3s --listen 85:status=503 --listen 443:https",
		"iis --name iis --http= --udp= --listen 80:iis --listen 8001:http",
		"server4 --name server4 --http= --udp=:7 --listen 80:http --listen 81:dead --listen 82:blackhole --listen 83:slow=2s --listen 84:flap=3s/3s --listen 85:status=503 --listen 443:https",
		"server5 --name server5 --http= --udp=:7 --listen 80:http --listen 81:dead --listen 82:blackhole --listen 83:slow=2s --listen 84:flap=3s/3s --listen 85:status=503 --listen 443:https",
		"server6 --name server6 --http= --udp=:7 --listen 80:http --listen 81:dead --listen 82:blackhole --listen 83:slow=2s --listen 84:flap=3s/3s --listen 85:status=503 --listen 443:https",
	}
	if diff := cmp.Diff(wantEmulated, emulated); diff != "" {
		t.Errorf("emulated servers (-want +got):\n%s", diff)
	}
	iis, ok := topo.Host("iis")
	if !ok || iis.NS != "lbx-iis" || iis.Addr != netip.MustParsePrefix("198.18.2.14/24") || iis.SwEnd != "v-iis" || iis.Bridge != "br-server" {
		t.Errorf("iis host: %+v", iis)
	}
	if got := iis.Serve.ReadyAddr(); got != "127.0.0.1:80" {
		t.Errorf("iis ready address %q", got)
	}
	if got := (ServerOptions{HTTP: ":8080"}).ReadyAddr(); got != "127.0.0.1:8080" {
		t.Errorf("legacy --http ready address %q", got)
	}
}

// emuLab is a switch namespace with a bridge, a client host and a server
// host running `lbx testbed serve` with one port per emulator mode.
type emuLab struct {
	cliNS, srvNS string
	srv          string // the server's address
	log          string // the server process's log file
}

// The lab's ports; the delays are short to keep the test quick.
const (
	labIIS, labHTTP, labDead, labBlackhole, labSlow, labFlap, labStatus, labHTTPS = 80, 8001, 81, 82, 83, 84, 85, 8443
	labSlowDelay                                                                  = 300 * time.Millisecond
	labFlapPhase                                                                  = 300 * time.Millisecond
)

func startEmuLab(t *testing.T) *emuLab {
	t.Helper()
	requireRoot(t)
	const sw = "lbx-emut-sw"
	lab := &emuLab{cliNS: "lbx-emut-cli", srvNS: "lbx-emut-srv", srv: "198.18.9.20", log: filepath.Join(t.TempDir(), "serve.log")}
	all := []string{sw, lab.cliNS, lab.srvNS}
	cleanup := func() {
		for _, ns := range all {
			if err := nsDelete(ns); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	}
	cleanup() // a crashed earlier run
	t.Cleanup(cleanup)
	for _, ns := range all {
		if err := nsCreate(ns); err != nil {
			t.Fatal(err)
		}
	}
	if err := addBridge(sw, "br-emut"); err != nil {
		t.Fatal(err)
	}
	if err := attachHost(sw, "br-emut", "v-emut-cli", lab.cliNS, netip.MustParsePrefix("198.18.9.10/24"), netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if err := attachHost(sw, "br-emut", "v-emut-srv", lab.srvNS, netip.MustParsePrefix(lab.srv+"/24"), netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	o := ServerOptions{Name: "emu", Listen: []Listen{
		{Port: labIIS, Mode: ModeIIS},
		{Port: labHTTP, Mode: ModeHTTP},
		{Port: labDead, Mode: ModeDead},
		{Port: labBlackhole, Mode: ModeBlackhole},
		{Port: labSlow, Mode: ModeSlow, Delay: labSlowDelay},
		{Port: labFlap, Mode: ModeFlap, Up: labFlapPhase, Down: labFlapPhase},
		{Port: labStatus, Mode: ModeStatus, Status: 503},
		{Port: labHTTPS, Mode: ModeHTTPS},
	}}
	logf, err := os.Create(lab.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(lbxBinary, append([]string{"testbed", "serve"}, o.Args()...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := startIn(lab.srvNS, cmd); err != nil {
		t.Fatal(err)
	}
	// Registered after the namespaces' cleanup, so it runs before it.
	t.Cleanup(func() {
		if err := stop(cmd.Process.Pid, cmd); err != nil {
			t.Errorf("stop server: %v", err)
		}
	})
	if err := waitListening(lab.srvNS, o.ReadyAddr(), 10*time.Second); err != nil {
		b, _ := os.ReadFile(lab.log)
		t.Fatalf("%v\n%s", err, b)
	}
	return lab
}

func (lab *emuLab) addr(port int) string { return fmt.Sprintf("%s:%d", lab.srv, port) }

// dial connects from the client host.
func (lab *emuLab) dial(port int, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := withNS(lab.cliNS, func() error {
		var err error
		c, err = net.DialTimeout("tcp4", lab.addr(port), timeout)
		return err
	})
	return c, err
}

// httpClient is a Go HTTP client whose connections start on the client
// host.
func (lab *emuLab) httpClient() *http.Client {
	d := &net.Dialer{Timeout: 2 * time.Second}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := withNS(lab.cliNS, func() error {
				var err error
				c, err = d.DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}}
}

func (lab *emuLab) curl(t *testing.T, args ...string) string {
	t.Helper()
	c := &HostCmd{Cmd: exec.Command("curl", append([]string{"-sS", "--max-time", "5"}, args...)...), ns: lab.cliNS}
	out, err := c.Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	return string(out)
}

func (lab *emuLab) capture(t *testing.T, ports ...uint16) *Capture {
	t.Helper()
	c, err := StartCapture(CaptureOptions{NS: lab.srvNS, Path: filepath.Join(t.TempDir(), "srv.pcap"), Ports: ports, MaxDuration: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

// connectAndClose is what a TCP health check does: a three-way handshake,
// then a close without sending anything.
func (lab *emuLab) connectAndClose(t *testing.T, port int) {
	t.Helper()
	c, err := lab.dial(port, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func isFrom(ap string, flags TCPFlags) func(CapturedPacket) bool {
	from := netip.MustParseAddrPort(ap)
	return func(p CapturedPacket) bool { return p.Src == from && p.Flags == flags }
}

// checkIISExchange checks a health check's connection to an IIS port went
// as in the seed's capture: SYN, SYN/ACK, ACK, the client's FIN/ACK, and
// the server's RST/ACK, with no FIN from the server. On the peer's FIN
// Linux delays its ACK (at least 40 ms) hoping to piggyback it; only if the
// emulator were starved that long would a bare ACK precede the reset, and
// that variant is accepted too.
func checkIISExchange(t *testing.T, c Connection) {
	t.Helper()
	want := "client S, server S., client ., client F., server R."
	got := c.Exchange()
	if got == "client S, server S., client ., client F., server ., server R." {
		t.Logf("the kernel's delayed ACK of the FIN went out before the reset: %s", got)
		return
	}
	if got != want {
		t.Errorf("exchange:\n got %s\nwant %s\n%s", got, want, FormatPackets(c.Packets))
	}
}

func TestEmulatorModes(t *testing.T) {
	lab := startEmuLab(t)

	t.Run("iis resets a health check", func(t *testing.T) {
		capt := lab.capture(t, labIIS)
		lab.connectAndClose(t, labIIS)
		if !capt.WaitFor(2*time.Second, isFrom(lab.addr(labIIS), FlagRST|FlagACK)) {
			t.Errorf("no RST,ACK from the server within 2s")
		}
		pkts, err := capt.Stop()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("capture on the server:\n%s", FormatPackets(pkts))
		conns := Connections(pkts)
		if len(conns) != 1 {
			t.Fatalf("want one connection, got %d:\n%s", len(conns), FormatPackets(pkts))
		}
		checkIISExchange(t, conns[0])
		if _, err := FindFlags(pkts, "198.18.9.10", lab.addr(labIIS), "S", "S.", ".", "F.", "R."); err != nil {
			t.Error(err)
		}
	})

	t.Run("iis serves HTTP clients in full", func(t *testing.T) {
		capt := lab.capture(t, labIIS)
		url := "http://" + lab.addr(labIIS) + "/"
		// One curl, three requests on one keep-alive connection.
		out := lab.curl(t, url, url, url)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || ServerName(lines[0]) != "emu" || lines[1] != lines[0] || lines[2] != lines[0] {
			t.Errorf("curl answers:\n%s", out)
		}
		c := lab.httpClient()
		defer c.CloseIdleConnections()
		for i := range 3 {
			resp, err := c.Get(url)
			if err != nil {
				t.Fatalf("go client request %d: %v", i, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || ServerName(string(body)) != "emu" || resp.Header.Get("X-Server") != "emu" {
				t.Errorf("go client request %d: %d %q %v", i, resp.StatusCode, body, err)
			}
		}
		c.CloseIdleConnections()
		pkts, err := capt.Stop()
		if err != nil {
			t.Fatal(err)
		}
		// curl's and the Go client's connections: one each.
		if n := len(Connections(pkts)); n != 2 {
			t.Errorf("got %d connections, want 2 (keep-alive):\n%s", n, FormatPackets(pkts))
		}
	})

	t.Run("http closes with FINs", func(t *testing.T) {
		capt := lab.capture(t, labHTTP)
		lab.connectAndClose(t, labHTTP)
		if !capt.WaitFor(2*time.Second, isFrom(lab.addr(labHTTP), FlagFIN|FlagACK)) {
			t.Errorf("no FIN,ACK from the server within 2s")
		}
		pkts, err := capt.Stop()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := FindFlags(pkts, "198.18.9.10", lab.addr(labHTTP), "S", "S.", ".", "F.", "F.", "."); err != nil {
			t.Error(err)
		}
		for _, p := range pkts {
			if p.Flags&FlagRST != 0 {
				t.Errorf("reset on the plain HTTP port:\n%s", FormatPackets(pkts))
				break
			}
		}
		if out := lab.curl(t, "http://"+lab.addr(labHTTP)+"/"); ServerName(out) != "emu" {
			t.Errorf("answer %q", out)
		}
	})

	t.Run("dead refuses", func(t *testing.T) {
		c, err := lab.dial(labDead, 2*time.Second)
		if err == nil {
			c.Close()
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial: %v, want connection refused", err)
		}
	})

	t.Run("blackhole never answers", func(t *testing.T) {
		capt := lab.capture(t, labBlackhole)
		c, err := lab.dial(labBlackhole, time.Second)
		if err == nil {
			c.Close()
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("dial: %v, want a timeout", err)
		}
		// UDP to the port: no echo and no ICMP port unreachable.
		var uerr error
		err = withNS(lab.cliNS, func() error {
			u, err := net.Dial("udp4", lab.addr(labBlackhole))
			if err != nil {
				return err
			}
			defer u.Close()
			if _, err := u.Write([]byte("ping")); err != nil {
				return err
			}
			u.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			_, uerr = u.Read(make([]byte, 100))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !errors.As(uerr, &ne) || !ne.Timeout() {
			t.Errorf("udp read: %v, want a timeout", uerr)
		}
		pkts, err := capt.Stop()
		if err != nil {
			t.Fatal(err)
		}
		var in int
		for _, p := range pkts {
			if p.Outgoing {
				t.Errorf("the server sent a packet:\n%s", FormatPackets(pkts))
				break
			}
			in++
		}
		if in == 0 {
			t.Error("capture saw no SYN arrive")
		}
	})

	t.Run("slow delays the answer", func(t *testing.T) {
		start := time.Now()
		resp, err := lab.httpClient().Get("http://" + lab.addr(labSlow) + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if took := time.Since(start); took < labSlowDelay {
			t.Errorf("answer after %s, want at least %s", took, labSlowDelay)
		}
		if ServerName(string(body)) != "emu" {
			t.Errorf("answer %q", body)
		}
	})

	t.Run("flap opens and closes", func(t *testing.T) {
		var open, down int
		deadline := time.Now().Add(10 * labFlapPhase)
		for i := 0; i < 200 && time.Now().Before(deadline) && (open < 2 || down < 2); i++ {
			c, err := lab.dial(labFlap, time.Second)
			if err == nil {
				c.Close()
			}
			isOpen, err := flapDial(err)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			if isOpen {
				open++
			} else {
				down++
			}
			time.Sleep(labFlapPhase / 10)
		}
		if open < 2 || down < 2 {
			t.Errorf("saw the port open %d and down %d times; want both at least twice", open, down)
		}
		b, err := os.ReadFile(lab.log)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"port=84 state=up", "port=84 state=down"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("log lacks %q:\n%s", want, b)
			}
		}
	})

	t.Run("https serves TLS with a self-signed ECDSA P-256 certificate", func(t *testing.T) {
		var state tls.ConnectionState
		err := withNS(lab.cliNS, func() error {
			d := &net.Dialer{Timeout: 2 * time.Second}
			c, err := tls.DialWithDialer(d, "tcp4", lab.addr(labHTTPS), &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				return err
			}
			state = c.ConnectionState()
			return c.Close()
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(state.PeerCertificates) != 1 {
			t.Fatalf("server sent %d certificates, want its own only", len(state.PeerCertificates))
		}
		cert := state.PeerCertificates[0]
		if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
			t.Errorf("public key %T, want ECDSA P-256", cert.PublicKey)
		}
		if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil ||
			cert.Subject.CommonName != "emu" || string(cert.RawIssuer) != string(cert.RawSubject) {
			t.Errorf("certificate of %q not self-signed: %v", cert.Subject.CommonName, err)
		}
		tr := lab.httpClient().Transport.(*http.Transport)
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
		resp, err := (&http.Client{Timeout: 5 * time.Second, Transport: tr}).Get("https://" + lab.addr(labHTTPS) + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || ServerName(string(body)) != "emu" || resp.TLS == nil {
			t.Errorf("https answer: %d %q (TLS %v)", resp.StatusCode, body, resp.TLS != nil)
		}
		// Plain HTTP on the port gets no HTTP answer.
		if resp, err := lab.httpClient().Get("http://" + lab.addr(labHTTPS) + "/"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if ServerName(string(b)) != "" {
				t.Errorf("plain HTTP on the https port was served: %q", b)
			}
		}
	})

	t.Run("status answers 503", func(t *testing.T) {
		out := lab.curl(t, "-w", "%{http_code}", "http://"+lab.addr(labStatus)+"/")
		body, code, _ := strings.Cut(out, "\n") // the body is one line
		if code != "503" || ServerName(body) != "emu" {
			t.Errorf("curl: code %q body %q, want 503 naming emu", code, body)
		}
	})
}
