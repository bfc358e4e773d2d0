package testbed

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// bulkStream is n bytes of a seeded pseudo-random stream.
func bulkStream(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{byte(seed)}), n)
}

func bulkSum(seed uint64, n int64) [32]byte {
	h := sha256.New()
	io.Copy(h, bulkStream(seed, n))
	return [32]byte(h.Sum(nil))
}

// TestIntegrationTAPOffloadBulk moves 48 MB each way through a virtual
// server (DNAT to a member, SNAT automap) over one TCP connection whose
// ends are the kernels of the client and server namespaces. With TAP
// offload the appliance reads 64 KB GSO frames and forwards them whole
// (translated headers, partial checksum adjusted), or cuts them,
// translates every segment and writes them joined again; either way with
// a partial checksum the kernel completes per segment (the switch ends
// towards client and server compute checksums in software, so the
// receiving TCPs verify them): a wrong checksum would be dropped by the
// receiving TCP and stall the transfer, and a wrong byte would change the
// digest. On tap ports the GSO counters show the offload path carried the
// transfer both ways, and gso_whole_in that frames went through whole.
func TestIntegrationTAPOffloadBulk(t *testing.T) {
	tb := upTestbed(t)
	app := tb.Client()
	for _, c := range []string{
		"create ltm pool /Common/bulk_pool members add { 198.18.2.11:5201 }",
		"create ltm virtual /Common/vs_bulk destination 198.18.1.100:5201 ip-protocol tcp pool /Common/bulk_pool source-address-translation { type automap }",
	} {
		if out, err := app.Exec(c); err != nil || out != "" {
			t.Fatalf("%s: %q, %v (want no output)", c, out, err)
		}
	}
	// The switch computes checksums into the client and server1, which
	// then verify them (see SetSwitchTxChecksum).
	for _, end := range []string{"v-client", "v-server1"} {
		if err := tb.SetSwitchTxChecksum(end, false); err != nil {
			t.Fatal(err)
		}
	}
	const n = 48 << 20
	var ln net.Listener
	if err := tb.In("server1", func() (err error) {
		ln, err = net.Listen("tcp", "198.18.2.11:5201")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	deadline := time.Now().Add(60 * time.Second)

	type result struct {
		sum [32]byte
		err error
	}
	served := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(deadline)
		// Read the upload and send the download at once, as both
		// directions' GSO frames then cross the appliance together.
		sent := make(chan error, 1)
		go func() {
			_, err := io.Copy(c, bulkStream(2, n))
			sent <- err
		}()
		h := sha256.New()
		_, err = io.CopyN(h, c, n)
		if err == nil {
			err = <-sent
		}
		served <- result{[32]byte(h.Sum(nil)), err}
	}()

	var c net.Conn
	if err := tb.In("client", func() (err error) {
		c, err = net.DialTimeout("tcp", "198.18.1.100:5201", 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(deadline)
	start := time.Now()
	uploaded := make(chan error, 1)
	go func() {
		_, err := io.Copy(c, bulkStream(1, n))
		uploaded <- err
	}()
	h := sha256.New()
	if _, err := io.CopyN(h, c, n); err != nil {
		t.Fatalf("download through the virtual: %v", err)
	}
	if err := <-uploaded; err != nil {
		t.Fatalf("upload through the virtual: %v", err)
	}
	r := <-served
	if r.err != nil {
		t.Fatalf("server: %v", r.err)
	}
	t.Logf("%d MB each way in %v", n>>20, time.Since(start).Round(time.Millisecond))
	if got, want := [32]byte(h.Sum(nil)), bulkSum(2, n); !bytes.Equal(got[:], want[:]) {
		t.Fatal("the download arrived changed")
	}
	if want := bulkSum(1, n); !bytes.Equal(r.sum[:], want[:]) {
		t.Fatal("the upload arrived changed")
	}

	out, err := app.Exec("show sys dataplane")
	if err != nil {
		t.Fatal(err)
	}
	counter := func(name string) uint64 {
		m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(name) + `\s+(\d+)$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("show sys dataplane has no %s:\n%s", name, out)
		}
		v, _ := strconv.ParseUint(m[1], 10, 64)
		return v
	}
	if testPortDriver() != "tap" {
		return
	}
	for _, p := range []string{"lbx-ext", "lbx-int"} {
		for _, c := range []string{"gso_frames_in", "gso_frames_out", "gso_whole_in"} {
			if v := counter(fmt.Sprintf("port.%s.%s", p, c)); v == 0 {
				t.Errorf("port.%s.%s is 0: the transfer did not use TAP offload\n%s", p, c, out)
			}
		}
		if v := counter("port." + p + ".vnet_errors"); v != 0 {
			t.Errorf("port.%s.vnet_errors = %d", p, v)
		}
	}
}
