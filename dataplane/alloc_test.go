package dataplane

import (
	"encoding/binary"
	"testing"
	"time"

	"lbx/dataplane/program"

	"github.com/google/gopacket/layers"

	"lbx/dataplane/csum"
	"lbx/dataplane/flowtable"
	"lbx/pools"
)

// newClientPort gives a SYN a new client port each run and fixes its TCP
// checksum.
func newClientPort(buf []byte, run int) {
	off := ethHdrLen + 20
	old := binary.BigEndian.Uint16(buf[off:])
	port := uint16(1024 + run)
	binary.BigEndian.PutUint16(buf[off:], port)
	binary.BigEndian.PutUint16(buf[off+16:], csum.Adjust16(binary.BigEndian.Uint16(buf[off+16:]), old, port))
}

// setTCPFlags sets a TCP frame's flags, keeping the checksum right.
func setTCPFlags(buf []byte, flags uint8) {
	off := ethHdrLen + 20 + 12
	old := binary.BigEndian.Uint16(buf[off:])
	word := old&0xff00 | uint16(flags)
	binary.BigEndian.PutUint16(buf[off:], word)
	binary.BigEndian.PutUint16(buf[off+4:], csum.Adjust16(binary.BigEndian.Uint16(buf[off+4:]), old, word))
}

// newARPSender gives an ARP request a new sender address each run.
func newARPSender(buf []byte, run int) {
	off := ethHdrLen + 14
	binary.BigEndian.PutUint32(buf[off:], binary.BigEndian.Uint32(buf[off:])+uint32(run))
}

// TestProcessAllocs proves the hot path allocates nothing per packet.
func TestProcessAllocs(t *testing.T) {
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
	fwdHdr := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: members[0]}
	syn := tcpFrame(cl, 1024, 80, fSYN, "")
	tests := []struct {
		name  string
		port  int
		frame []byte
		// prepare rewrites buf (a copy of frame) before each run; run is
		// the run number.
		prepare func(buf []byte, run int)
		check   func(t *testing.T, h *harness)
		persist pools.PersistMode // vs_web's persistence
		mod     func(v *Virtual)  // changes vs_web
		silent  bool              // the frame is consumed: nothing goes out
		tick    bool              // each run comes one ARP reply interval later
		// program replaces the standard program; setup runs after the
		// neighbours are learned.
		program func(t testing.TB) *Program
		setup   func(h *harness)
	}{{
		name:  "established flow, forward",
		port:  portExt,
		frame: tcpFrame(cl, 40000, 80, fACK, "data"),
	}, {
		name:  "established flow, reverse",
		port:  portInt,
		frame: tcpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: selfInt.Addr()}, 8080, 40000, fACK, "data"),
	}, {
		name:    "new flow",
		port:    portExt,
		frame:   syn,
		prepare: newClientPort,
		check: func(t *testing.T, h *harness) {
			if h.e.Flows() < 100 {
				t.Errorf("only %d flows: the new-flow runs did not create flows", h.e.Flows())
			}
		},
	}, {
		// Every SYN into one shard: past its embryonic share each one
		// evicts the oldest.
		name:  "new flow evicting an embryonic flow",
		port:  portExt,
		frame: syn,
		prepare: func(buf []byte, run int) {
			newClientPort(buf, (run+1)*flowtable.Shards)
		},
		check: func(t *testing.T, h *harness) {
			if h.e.flows.Evicted() == 0 {
				t.Errorf("no evictions: the runs did not fill the shard's embryonic share")
			}
		},
	}, {
		// SYN and RST in turn into one shard: the reset flows are closed,
		// and past the shard's share each new SYN recycles the oldest.
		name:  "new flow recycling a closed flow",
		port:  portExt,
		frame: syn,
		prepare: func(buf []byte, run int) {
			newClientPort(buf, (run/2+1)*flowtable.Shards)
			if run%2 == 1 {
				setTCPFlags(buf, tcpRST)
			}
		},
		check: func(t *testing.T, h *harness) {
			if h.e.flows.Recycled() == 0 {
				t.Errorf("nothing recycled: the runs did not fill the shard's share with closed flows")
			}
		},
	}, {
		name:    "new flow, source-address persistence",
		port:    portExt,
		frame:   syn,
		persist: pools.PersistSourceAddr,
		prepare: newClientPort,
	}, {
		name:    "new flow, hash persistence",
		port:    portExt,
		frame:   syn,
		persist: pools.PersistHash,
		prepare: newClientPort,
	}, {
		// Each run from another off-net sender: one sender is rate
		// limited after a burst (TestARPRateLimit), and off-net senders
		// are not learned.
		name:    "ARP request",
		port:    portExt,
		frame:   arpRequest(clientMAC, offnet, vip),
		prepare: newARPSender,
	}, {
		// A known neighbour's ARP request for a VIP: learned again
		// (unchanged, so the neighbour snapshot stays) and answered,
		// spaced so that the sender's rate limit lets every one through.
		name:  "ARP request from a known neighbour",
		port:  portExt,
		frame: arpRequest(clientMAC, client, vip),
		tick:  true,
	}, {
		// A known neighbour's ARP reply: learned again, unchanged.
		name:   "ARP reply from a known neighbour",
		port:   portExt,
		frame:  arpFrame(layers.ARPReply, clientMAC, client, extMAC, selfExt.Addr(), extMAC),
		silent: true,
	}, {
		name:    "new flow, DSR",
		port:    portExt,
		frame:   syn,
		prepare: newClientPort,
		mod:     func(v *Virtual) { v.DSR = true },
	}, {
		name:  "established flow, DSR",
		port:  portExt,
		frame: tcpFrame(cl, 40000, 80, fACK, "data"),
		mod:   func(v *Virtual) { v.DSR = true },
	}, {
		name:  "DSR answer routed back to the client",
		port:  portInt,
		frame: tcpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: vip, dst: client}, 80, 40000, fACK, "data"),
		mod:   func(v *Virtual) { v.DSR = true },
	}, {
		name:    "new flow, SNAT pool",
		port:    portExt,
		frame:   syn,
		prepare: newClientPort,
		mod:     func(v *Virtual) { v.SNATPool = snatAddrs },
		check: func(t *testing.T, h *harness) {
			if h.e.Flows() < 100 {
				t.Errorf("only %d flows: the new-flow runs did not create flows", h.e.Flows())
			}
		},
	}, {
		name:  "reverse flow, SNAT pool",
		port:  portInt,
		frame: tcpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: snatAddrs[flowtable.PoolAddrIndex(program.U32(client), 2)]}, 8080, 40000, fACK, "data"),
		mod:   func(v *Virtual) { v.SNATPool = snatAddrs },
	}, {
		name:  "ICMP echo",
		port:  portExt,
		frame: icmpEchoFrame(cl, 1, 1, "ping"),
	}, {
		name:    "new flow, member behind a gateway",
		port:    portExt,
		frame:   tcpFrame(cl, 1024, 83, fSYN, ""),
		prepare: newClientPort,
		program: func(t testing.TB) *Program { return withRoutes(t, farRoutes) },
		setup:   func(h *harness) { h.learn(portInt, routerMAC, router) },
	}, {
		name:    "established flow, member behind a gateway",
		port:    portExt,
		frame:   tcpFrame(cl, 40001, 83, fACK, "data"),
		program: func(t testing.TB) *Program { return withRoutes(t, farRoutes) },
		setup: func(h *harness) {
			h.learn(portInt, routerMAC, router)
			h.send(portExt, tcpFrame(cl, 40001, 83, fSYN, ""))
		},
	}, {
		name:    "new flow, forwarding virtual",
		port:    portExt,
		frame:   tcpFrame(fwdHdr, 1024, 22, fSYN, ""),
		prepare: newClientPort,
		program: func(t testing.TB) *Program { return withRoutes(t, farRoutes, fwdVirtual()) },
	}, {
		name:    "established flow, forwarding virtual, reverse",
		port:    portInt,
		frame:   tcpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: client}, 22, 40001, fACK, "data"),
		program: func(t testing.TB) *Program { return withRoutes(t, farRoutes, fwdVirtual()) },
		setup:   func(h *harness) { h.send(portExt, tcpFrame(fwdHdr, 40001, 22, fSYN, "")) },
	}, {
		name:    "forwarding virtual, ICMP routed through a gateway",
		port:    portExt,
		frame:   icmpEchoFrame(ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: farAddr}, 1, 1, "ping"),
		program: func(t testing.TB) *Program { return withRoutes(t, farRoutes, fwdVirtual()) },
		setup:   func(h *harness) { h.learn(portInt, routerMAC, router) },
	}, {
		// A member's fragmentation needed about the forwarded SYN,
		// translated back to the client (icmperr.go).
		name: "ICMP error through NAT",
		port: portInt,
		frame: icmpErrorFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: selfInt.Addr()}, 3, 4, 1400,
			ipPacketOf(tcpFrame(ipHdr{srcMAC: intMAC, dstMAC: memberMAC(0), src: selfInt.Addr(), dst: members[0]}, 40000, 8080, fSYN, ""), 0)),
	}, {
		// The first fragment of a new datagram each run (frag.go).
		name:  "UDP first fragment",
		port:  portExt,
		frame: fragment(udpFrame(cl, 33333, 53, string(make([]byte, 2000)), false), 1480)[0],
		prepare: func(buf []byte, run int) {
			ip := buf[ethHdrLen:]
			old := binary.BigEndian.Uint16(ip[4:6])
			binary.BigEndian.PutUint16(ip[4:6], uint16(run))
			binary.BigEndian.PutUint16(ip[10:12], csum.Adjust16(binary.BigEndian.Uint16(ip[10:12]), old, uint16(run)))
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog := testProgram(t, progOpts{snat: true})
			if tt.mod != nil {
				prog = l4Program(t, tt.mod)
			}
			if tt.program != nil {
				prog = tt.program(t)
			}
			if tt.persist != pools.PersistNone {
				virtualOf(prog, "/Common/vs_web").Persist = &pools.Persist{Mode: tt.persist, Timeout: time.Minute}
			}
			h := newHarness(t, prog)
			h.learnAll()
			if tt.setup != nil {
				tt.setup(h)
			}
			// Open the flow the established cases use.
			h.send(portExt, tcpFrame(cl, 40000, 80, fSYN, ""))
			h.ports[portInt].drain()
			w := h.w[tt.port]
			in := h.e.cur.Load()
			w.begin(h.clock.Now())
			buf := make([]byte, len(tt.frame))
			drops := h.e.Counters()
			run := 0
			allocs := testing.AllocsPerRun(200, func() {
				copy(buf, tt.frame)
				if tt.prepare != nil {
					tt.prepare(buf, run)
				}
				run++
				if tt.tick {
					w.now += arpReplyInterval
				}
				w.process(in, buf)
				want := 1
				if tt.silent {
					want = 0
				}
				if n := len(w.out[0]) + len(w.out[1]); n != want {
					t.Fatalf("run %d: %d frames out, want %d", run, n, want)
				}
				w.out[0], w.out[1] = w.out[0][:0], w.out[1][:0]
				w.nscratch = 0
			})
			if allocs != 0 {
				t.Errorf("process allocates %v times per packet, want 0", allocs)
			}
			for i, c := range h.e.Counters() {
				if c.Name[:5] == "drop." && c.Value != drops[i].Value {
					t.Errorf("%s went from %d to %d", c.Name, drops[i].Value, c.Value)
				}
			}
			if tt.check != nil {
				tt.check(t, h)
			}
		})
	}
}

// TestSendLocalAllocs: the local stack's send path (SendLocal, to a known
// next hop) allocates nothing per packet once its worker pool is warm.
func TestSendLocalAllocs(t *testing.T) {
	h := newHarness(t, testProgram(t, progOpts{}))
	h.learnAll()
	pkt := tcpFrame(ipHdr{srcMAC: intMAC, dstMAC: memberMAC(0), src: selfInt.Addr(), dst: members[0]}, LocalPortMin, 8080, fSYN, "")[ethHdrLen:]
	if err := h.e.SendLocal(pkt); err != nil {
		t.Fatalf("SendLocal: %v", err)
	}
	h.ports[portInt].drain()
	tx := h.e.local.tx.Load()
	allocs := testing.AllocsPerRun(200, func() {
		if err := h.e.SendLocal(pkt); err != nil {
			t.Fatalf("SendLocal: %v", err)
		}
		<-h.ports[portInt].out
	})
	// The fake port's WriteBatch copies each frame it keeps (one
	// allocation), which is not the engine's.
	// Under -race sync.Pool drops pooled workers at random on purpose.
	if allocs > 1 && !raceEnabled {
		t.Errorf("SendLocal allocates %v times per packet beyond the port's copy, want 0", allocs-1)
	}
	if got := h.e.local.tx.Load() - tx; got != 201 {
		t.Errorf("local.tx_packets went up by %d, want 201", got)
	}
}
