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

// publishMgmt binds the host's ends of the appliances' SSH and HTTPS
// listeners on 127.0.0.1 (ports picked by the kernel, held from the bind
// on) and starts the relay that serves them, in the switch namespace,
// from the bound sockets it inherits (publish.go): one relay for every
// appliance with Mgmt.
func (tb *Testbed) publishMgmt() error {
	var to []string
	var owner []int // appliance index of each listener
	for i, a := range tb.Topo.Appliances {
		if a.Mgmt {
			ssh, rest := mgmtAddrs(i)
			to = append(to, ssh, rest)
			owner = append(owner, i, i)
		}
	}
	if len(to) == 0 {
		return nil
	}
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
	for k := 0; k < len(addrs); k += 2 {
		a := &tb.State.Appliances[owner[k]]
		a.SSH, a.Mgmt = addrs[k], "https://"+addrs[k+1]
		fmt.Fprintf(tb.opts.Log, "testbed: publishing %s's SSH on %s and HTTPS on %s\n", a.Name, addrs[k], addrs[k+1])
	}
	tb.State.SSH, tb.State.Mgmt = tb.State.Appliances[0].SSH, tb.State.Appliances[0].Mgmt
	argv := []string{tb.opts.Binary, "testbed", "publish"}
	for _, a := range to {
		argv = append(argv, "--to", a)
	}
	return tb.startWith("publish", tb.Topo.SwitchNS, argv, nil, files)
}

// applianceAnswers checks that an appliance answers on its control socket
// and, when published (ssh is not empty), sends its SSH banner there.
func (tb *Testbed) applianceAnswers(c *ctlsock.Client, ssh string) error {
	if _, err := c.Exec("list ltm virtual"); err != nil {
		return fmt.Errorf("control socket %s: %w", c.Path, err)
	}
	if ssh == "" {
		return nil
	}
	conn, err := net.DialTimeout("tcp", ssh, 2*time.Second)
	if err != nil {
		return fmt.Errorf("ssh %s: %w", ssh, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if !strings.HasPrefix(line, "SSH-") {
		return fmt.Errorf("ssh %s: no SSH banner (%q, %v)", ssh, line, err)
	}
	return nil
}
