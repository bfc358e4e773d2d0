package testbed

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"lbx/ctrlplane/ctlsock"
)

// newPassword is a testbed admin's password: 144 random bits, in letters,
// digits, '-' and '_', so it needs no quoting in a shell or a URL.
func newPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("testbed: admin password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// publishMgmt binds the host's ends of the appliance's SSH and HTTPS
// listeners on 127.0.0.1 (ports picked by the kernel, held from the bind
// on) and starts the relay that serves them, in the switch namespace,
// from the bound sockets it inherits (publish.go).
func (tb *Testbed) publishMgmt() error {
	to := []string{ApplianceSSH, ApplianceREST}
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close() // the relay has its own copies
		}
	}()
	var addrs []string
	for range to {
		l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return fmt.Errorf("testbed: management listener: %w", err)
		}
		f, err := l.File() // a duplicate: closing l leaves it bound
		l.Close()
		if err != nil {
			return fmt.Errorf("testbed: management listener: %w", err)
		}
		files = append(files, f)
		addrs = append(addrs, l.Addr().String())
	}
	tb.State.SSH, tb.State.Mgmt = addrs[0], "https://"+addrs[1]
	argv := []string{tb.opts.Binary, "testbed", "publish"}
	for _, a := range to {
		argv = append(argv, "--to", a)
	}
	fmt.Fprintf(tb.opts.Log, "testbed: publishing the appliance's SSH on %s and HTTPS on %s\n", addrs[0], addrs[1])
	return tb.startWith("publish", tb.Topo.SwitchNS, argv, nil, files)
}

// applianceAnswers checks that the appliance answers on its control socket
// and, when published, sends its SSH banner on the host's address.
func (tb *Testbed) applianceAnswers(c *ctlsock.Client) error {
	if _, err := c.Exec("list ltm virtual"); err != nil {
		return fmt.Errorf("control socket %s: %w", tb.opts.Socket, err)
	}
	if tb.State.SSH == "" {
		return nil
	}
	conn, err := net.DialTimeout("tcp", tb.State.SSH, 2*time.Second)
	if err != nil {
		return fmt.Errorf("ssh %s: %w", tb.State.SSH, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if !strings.HasPrefix(line, "SSH-") {
		return fmt.Errorf("ssh %s: no SSH banner (%q, %v)", tb.State.SSH, line, err)
	}
	return nil
}
