package porttest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"
)

func mustPipe(t *testing.T, qlen int) (*Port, *Port) {
	t.Helper()
	a, b, err := Pipe(Config{Name: "a", MAC: MustMAC("02:00:00:00:00:0a"), QueueLen: qlen},
		Config{Name: "b", MAC: MustMAC("02:00:00:00:00:0b"), QueueLen: qlen})
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func frame(dst, src string, payload byte) []byte {
	f := append(append(bytes.Clone(MustMAC(dst)), MustMAC(src)...), 0x08, 0x00)
	return append(f, payload)
}

func readOne(t *testing.T, p *Port) []byte {
	t.Helper()
	bufs, sizes := [][]byte{make([]byte, 64)}, []int{0}
	n, err := p.ReadBatch(bufs, sizes)
	if err != nil || n != 1 {
		t.Fatalf("port %s: ReadBatch = %d, %v; want 1 frame", p.Name(), n, err)
	}
	return bufs[0][:sizes[0]]
}

func TestPipe(t *testing.T) {
	a, b := mustPipe(t, 2)
	f := frame("02:00:00:00:00:0b", "02:00:00:00:00:0a", 1)
	sent := bytes.Clone(f)
	if n, err := a.WriteBatch([][]byte{f, f, f}); n != 3 || err != nil {
		t.Fatalf("WriteBatch = %d, %v; want 3, nil", n, err)
	}
	f[14] = 99 // the caller owns its buffer once WriteBatch returns
	bufs := [][]byte{make([]byte, 64), make([]byte, 64), make([]byte, 64)}
	sizes := make([]int, 3)
	n, err := b.ReadBatch(bufs, sizes)
	if err != nil || n != 2 {
		t.Fatalf("ReadBatch = %d, %v; want the 2 queued frames", n, err)
	}
	for i := range n {
		if !bytes.Equal(bufs[i][:sizes[i]], sent) {
			t.Errorf("frame %d = % x, want % x", i, bufs[i][:sizes[i]], sent)
		}
	}
	if got, want := a.Stats(), (Stats{Tx: 3}); got != want {
		t.Errorf("a stats %+v, want %+v", got, want)
	}
	if got, want := b.Stats(), (Stats{Rx: 2, Drops: 1}); got != want {
		t.Errorf("b stats %+v, want %+v (queue of 2 overflowed once)", got, want)
	}
	if got := b.RxLost(); got != 1 {
		t.Errorf("b RxLost = %d, want 1 (what the engine prints as rx_lost)", got)
	}
	// The other way.
	if _, err := b.WriteBatch([][]byte{frame("02:00:00:00:00:0a", "02:00:00:00:00:0b", 2)}); err != nil {
		t.Fatal(err)
	}
	if got := readOne(t, a); got[14] != 2 {
		t.Errorf("a read % x", got)
	}
}

func TestPortClose(t *testing.T) {
	a, b := mustPipe(t, 0)
	read := make(chan error, 1)
	go func() {
		_, err := b.ReadBatch([][]byte{make([]byte, 64)}, []int{0})
		read <- err
	}()
	b.Close()
	select {
	case err := <-read:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("pending ReadBatch after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock ReadBatch within 5s")
	}
	if _, err := b.WriteBatch([][]byte{{1}}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteBatch on a closed port: %v, want net.ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// Writing towards a closed port is a dropped frame, not an error.
	if n, err := a.WriteBatch([][]byte{frame("02:00:00:00:00:0b", "02:00:00:00:00:0a", 1)}); n != 1 || err != nil {
		t.Errorf("WriteBatch to a closed peer = %d, %v; want 1, nil", n, err)
	}
	if d := b.Stats().Drops; d != 1 {
		t.Errorf("closed port counted %d drops, want 1", d)
	}
}

func TestSwitchLearnsAndFloods(t *testing.T) {
	sw := NewSwitch()
	macs := []string{"02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"}
	var ps []*Port
	for i, m := range macs {
		p, err := sw.Port(Config{Name: string(rune('a' + i)), MAC: MustMAC(m)})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if _, err := sw.Port(Config{Name: "a", MAC: MustMAC(macs[0])}); err == nil {
		t.Error("a second port named a was accepted")
	}
	queued := func() []int { return []int{len(ps[0].in), len(ps[1].in), len(ps[2].in)} }
	same := func(a, b []int) bool { return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] }
	// Unknown destination: flooded to every other port.
	ps[0].WriteBatch([][]byte{frame(macs[1], macs[0], 1)})
	if got := queued(); !same(got, []int{0, 1, 1}) {
		t.Fatalf("unknown unicast queued %v, want [0 1 1]", got)
	}
	readOne(t, ps[1])
	readOne(t, ps[2])
	// The answer goes only to where macs[0] was learnt.
	ps[1].WriteBatch([][]byte{frame(macs[0], macs[1], 2)})
	if got := queued(); !same(got, []int{1, 0, 0}) {
		t.Fatalf("learnt unicast queued %v, want [1 0 0]", got)
	}
	readOne(t, ps[0])
	// Broadcast: everyone else.
	ps[2].WriteBatch([][]byte{frame("ff:ff:ff:ff:ff:ff", macs[2], 3)})
	if got := queued(); !same(got, []int{1, 1, 0}) {
		t.Fatalf("broadcast queued %v, want [1 1 0]", got)
	}
}

// waitGoroutines waits (bounded) until the goroutine count is back to
// before.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two hosts on a switch talk HTTP and UDP; ARP is real; nothing leaks.
func TestHostsOverSwitch(t *testing.T) {
	before := runtime.NumGoroutine()
	sw := NewSwitch()
	mk := func(name, mac, addr string) *Host {
		p, err := sw.Port(Config{Name: name, MAC: MustMAC(mac)})
		if err != nil {
			t.Fatal(err)
		}
		h, err := NewHost(HostConfig{Name: name, Port: p, Addr: netip.MustParsePrefix(addr)})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	client := mk("client", "02:00:00:00:01:0a", "10.1.0.10/24")
	server := mk("server", "02:00:00:00:01:0b", "10.1.0.11/24")
	srv, err := server.ServeHTTP(80, "server1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body, err := client.Get(ctx, "http://10.1.0.11/")
	if err != nil {
		t.Fatal(err)
	}
	if ServerName(body) != "server1" || !strings.Contains(body, "peer=10.1.0.10:") {
		t.Errorf("answer %q: want server1 seeing the client 10.1.0.10", body)
	}

	// Local ports are handed out in turn, never at random.
	var last uint16
	for i := range 3 {
		c, err := client.DialTCP(ctx, netip.MustParseAddrPort("10.1.0.11:80"))
		if err != nil {
			t.Fatal(err)
		}
		port := netip.MustParseAddrPort(c.LocalAddr().String()).Port()
		c.Close()
		if i > 0 && port != last+1 {
			t.Errorf("dial %d from port %d, after %d: want the next port", i, port, last)
		}
		last = port
	}

	pc, err := server.ListenUDP(7)
	if err != nil {
		t.Fatal(err)
	}
	uc, err := client.DialUDP(netip.MustParseAddrPort("10.1.0.11:7"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uc.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16)
	n, from, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ping" || !strings.HasPrefix(from.String(), "10.1.0.10:") {
		t.Errorf("udp: read %q from %v, %v; want ping from 10.1.0.10", buf[:n], from, err)
	}
	uc.Close()
	pc.Close()

	// A closed server refuses at once.
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
	if _, err := client.Get(ctx, "http://10.1.0.11/"); err == nil || ctx.Err() != nil {
		t.Errorf("get from a closed server: %v (want refused, not a timeout)", err)
	}
	client.Close()
	server.Close()
	waitGoroutines(t, before)
}
