package dataplane

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchPort is an in-memory Port for benchmarks: ReadBatch hands out copies
// of a fixed set of frames, round robin, until quota frames have been read,
// then blocks until Close; WriteBatch counts frames and keeps nothing. It
// allocates nothing per frame, so what a benchmark measures is the engine.
type benchPort struct {
	name   string
	mac    net.HardwareAddr
	frames [][]byte
	next   int

	mu    sync.Mutex // guards quota
	quota int

	written atomic.Uint64
	// left, when set, counts down the frames the benchmark waits for, on
	// every port; allOut is closed when it reaches zero.
	left   *atomic.Int64
	allOut chan struct{}
	done   chan struct{}
	once   sync.Once
}

func newBenchPort(name string, mac net.HardwareAddr) *benchPort {
	return &benchPort{name: name, mac: mac, done: make(chan struct{})}
}

func (p *benchPort) Name() string          { return p.name }
func (p *benchPort) MAC() net.HardwareAddr { return p.mac }

func (p *benchPort) ReadBatch(bufs [][]byte, sizes []int) (int, error) {
	p.mu.Lock()
	q := p.quota
	n := min(q, len(bufs))
	p.quota -= n
	p.mu.Unlock()
	if n == 0 {
		<-p.done
		return 0, net.ErrClosed
	}
	for i := range n {
		sizes[i] = copy(bufs[i], p.frames[p.next])
		p.next = (p.next + 1) % len(p.frames)
	}
	return n, nil
}

func (p *benchPort) WriteBatch(frames [][]byte) (int, error) {
	p.written.Add(uint64(len(frames)))
	if p.left != nil && p.left.Add(-int64(len(frames))) == 0 {
		close(p.allOut)
	}
	return len(frames), nil
}

func (p *benchPort) Close() error {
	p.once.Do(func() { close(p.done) })
	return nil
}

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report states the rate in packets per second of wall time and per
// second of CPU time (per core), the latter independent of what else the
// machine runs.
func report(b *testing.B, wall, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/wall.Seconds(), "pkts/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "pkts/cpu-s")
}

// benchFlows opens n TCP flows through vs_web (SNAT automap) on a harness
// and returns, per flow, the client's frame and the member's answer as the
// appliance sees them.
func benchFlows(b testing.TB, h *harness, n int) (fwd, rev [][]byte) {
	b.Helper()
	h.learnAll()
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	for i := range n {
		sport := uint16(20000 + i)
		h.send(portExt, tcpFrame(cl, sport, 80, fSYN, ""))
		out := h.ports[portInt].drain()
		if len(out) != 1 {
			b.Fatalf("flow %d: SYN gave %d frames on int, want 1 (drops %v)", i, len(out), h.drops())
		}
		ip := out[0][ethHdrLen:]
		snat := netip.AddrFrom4([4]byte(ip[12:16]))
		member := netip.AddrFrom4([4]byte(ip[16:20]))
		snatPort := binary.BigEndian.Uint16(ip[20:22])
		memberPort := binary.BigEndian.Uint16(ip[22:24])
		mi := -1
		for j, m := range members {
			if m == member {
				mi = j
			}
		}
		if mi < 0 {
			b.Fatalf("flow %d: SYN went to %s, not a member", i, member)
		}
		fwd = append(fwd, tcpFrame(cl, sport, 80, fACK, "0123456789"))
		rev = append(rev, tcpFrame(ipHdr{srcMAC: memberMAC(mi), dstMAC: intMAC, src: member, dst: snat}, memberPort, snatPort, fACK, "0123456789"))
	}
	return fwd, rev
}

// BenchmarkWorkerEstablished is one receive goroutine forwarding packets of
// 256 established flows, client to member, in batches of batchSize: the
// per-core cost of the hot path. Reported as packets per second of wall
// time and of CPU time.
func BenchmarkWorkerEstablished(b *testing.B) {
	h := newHarness(b, testProgram(b, progOpts{snat: true}))
	fwd, _ := benchFlows(b, h, 256)
	e := h.e
	// A worker on a fresh port state whose output goes nowhere.
	sink := newBenchPort("int", intMAC)
	e.ports[portInt].port = sink
	w := h.w[portExt]
	in := e.cur.Load()
	mem := make([]byte, batchSize*maxFrameLen)
	bufs := make([][]byte, batchSize)
	sizes := make([]int, batchSize)
	for j := range bufs {
		bufs[j] = mem[j*maxFrameLen : (j+1)*maxFrameLen]
	}
	next := 0
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime(b)
	for i := 0; i < b.N; i += batchSize {
		n := min(batchSize, b.N-i)
		for j := range n {
			sizes[j] = copy(bufs[j], fwd[next])
			next = (next + 1) % len(fwd)
		}
		w.batch(in, bufs, sizes, n)
	}
	el, cpu := time.Since(start), cpuTime(b)-cpu
	b.StopTimer()
	if got := sink.written.Load(); got != uint64(b.N) {
		b.Fatalf("%d frames forwarded, want %d (drops %v)", got, b.N, h.drops())
	}
	report(b, el, cpu)
}

// BenchmarkEngineEstablished runs the whole engine (Start: one goroutine
// per port) over two in-memory ports: 256 established flows, the clients'
// packets arriving on ext and the members' answers on int at once, so both
// receive goroutines share the flow table, the neighbour tables, the
// counters and the virtual's statistics. b.N packets in all, half each way;
// reported as packets per second of wall time (the engine) and of CPU time
// (per core busy).
func BenchmarkEngineEstablished(b *testing.B) {
	h := newHarness(b, testProgram(b, progOpts{snat: true}))
	fwd, rev := benchFlows(b, h, 256)
	ext, intp := newBenchPort("ext", extMAC), newBenchPort("int", intMAC)
	ext.frames, intp.frames = fwd, rev
	ext.quota, intp.quota = b.N/2, b.N-b.N/2
	var left atomic.Int64
	left.Store(int64(b.N))
	allOut := make(chan struct{})
	ext.left, intp.left = &left, &left
	ext.allOut, intp.allOut = allOut, allOut
	e := h.e
	e.ports[portExt].port, e.ports[portInt].port = ext, intp
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime(b)
	e.Start()
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	select {
	case <-allOut:
	case <-timeout.C:
	}
	el, cpu := time.Since(start), cpuTime(b)-cpu
	b.StopTimer()
	e.Close()
	if got := ext.written.Load() + intp.written.Load(); got != uint64(b.N) {
		b.Fatalf("%d frames forwarded, want %d (drops %v)", got, b.N, h.drops())
	}
	report(b, el, cpu)
}

// TestBatchAllocs: a whole batch — receive counters, processing, the
// statistics tallies and their flush, the write out — allocates nothing,
// for established flows either way.
func TestBatchAllocs(t *testing.T) {
	h := newHarness(t, testProgram(t, progOpts{snat: true}))
	fwd, rev := benchFlows(t, h, 64)
	ext, intp := newBenchPort("ext", extMAC), newBenchPort("int", intMAC)
	h.e.ports[portExt].port, h.e.ports[portInt].port = ext, intp
	in := h.e.cur.Load()
	mem := make([]byte, batchSize*maxFrameLen)
	bufs := make([][]byte, batchSize)
	sizes := make([]int, batchSize)
	for j := range bufs {
		bufs[j] = mem[j*maxFrameLen : (j+1)*maxFrameLen]
	}
	for _, tt := range []struct {
		name   string
		port   int
		frames [][]byte
		out    *benchPort
	}{
		{"client to member", portExt, fwd, intp},
		{"member to client", portInt, rev, ext},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := h.w[tt.port]
			before := tt.out.written.Load()
			vs := h.e.VirtualStats("/Common/vs_web")
			pkts := vs.PktsIn.Load() + vs.PktsOut.Load()
			allocs := testing.AllocsPerRun(50, func() {
				for j := range batchSize {
					sizes[j] = copy(bufs[j], tt.frames[j%len(tt.frames)])
				}
				w.batch(in, bufs, sizes, batchSize)
			})
			if allocs != 0 {
				t.Errorf("a batch allocates %v times, want 0", allocs)
			}
			if got := tt.out.written.Load() - before; got != 51*batchSize {
				t.Errorf("%d frames out, want %d (drops %v)", got, 51*batchSize, h.drops())
			}
			if got := vs.PktsIn.Load() + vs.PktsOut.Load() - pkts; got != 51*batchSize {
				t.Errorf("the virtual counted %d packets, want %d", got, 51*batchSize)
			}
		})
	}
}
