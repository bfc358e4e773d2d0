package dataplane

import (
	"encoding/binary"
	"testing"
	"time"

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
	binary.BigEndian.PutUint16(buf[off+16:], csumAdjust16(binary.BigEndian.Uint16(buf[off+16:]), old, port))
}

// setTCPFlags sets a TCP frame's flags, keeping the checksum right.
func setTCPFlags(buf []byte, flags uint8) {
	off := ethHdrLen + 20 + 12
	old := binary.BigEndian.Uint16(buf[off:])
	word := old&0xff00 | uint16(flags)
	binary.BigEndian.PutUint16(buf[off:], word)
	binary.BigEndian.PutUint16(buf[off+4:], csumAdjust16(binary.BigEndian.Uint16(buf[off+4:]), old, word))
}

// newARPSender gives an ARP request a new sender address each run.
func newARPSender(buf []byte, run int) {
	off := ethHdrLen + 14
	binary.BigEndian.PutUint32(buf[off:], binary.BigEndian.Uint32(buf[off:])+uint32(run))
}

// TestProcessAllocs proves the hot path allocates nothing per packet.
func TestProcessAllocs(t *testing.T) {
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: vip}
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
		frame: tcpFrame(ipHdr{srcMAC: memberMAC(0), dstMAC: intMAC, src: members[0], dst: snatAddrs[flowtable.PoolAddrIndex(u32(client), 2)]}, 8080, 40000, fACK, "data"),
		mod:   func(v *Virtual) { v.SNATPool = snatAddrs },
	}, {
		name:  "ICMP echo",
		port:  portExt,
		frame: icmpEchoFrame(cl, 1, 1, "ping"),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog := testProgram(t, progOpts{snat: true})
			if tt.mod != nil {
				prog = l4Program(t, tt.mod)
			}
			if tt.persist != pools.PersistNone {
				prog.virtual("/Common/vs_web").Persist = &pools.Persist{Mode: tt.persist, Timeout: time.Minute}
			}
			h := newHarness(t, prog)
			h.learnAll()
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
				w.process(in, buf)
				if n := len(w.out[0]) + len(w.out[1]); n != 1 {
					t.Fatalf("run %d: %d frames out, want 1", run, n)
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
