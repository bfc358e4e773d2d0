package dataplane

import (
	"sync"
	"testing"

	"lbx/dataplane/drop"
)

// TestCountersSumShards: each worker counts into its own shard, the local
// senders into theirs, other goroutines into the engine's own counters;
// Drops and Counters report the sums.
func TestCountersSumShards(t *testing.T) {
	h := newHarness(t, testProgram(t, progOpts{}))
	h.learnAll()
	before := map[string]uint64{}
	for _, c := range h.e.Counters() {
		before[c.Name] = c.Value
	}
	cl := ipHdr{srcMAC: clientMAC, dstMAC: extMAC, src: client, dst: selfExt.Addr()}
	echo := icmpEchoFrame(cl, 7, 1, "ping")
	junk := append([]byte(nil), echo...)
	junk[12], junk[13] = 0x86, 0xdd // IPv6: unsupported

	batch := func(w *worker, frames ...[]byte) {
		bufs := make([][]byte, len(frames))
		sizes := make([]int, len(frames))
		for i, f := range frames {
			bufs[i] = append([]byte(nil), f...)
			sizes[i] = len(f)
		}
		w.batch(h.e.cur.Load(), bufs, sizes, len(frames))
	}
	// Two workers at once, as two port goroutines.
	var wg sync.WaitGroup
	wg.Go(func() { batch(h.w[portExt], echo, echo, echo) })
	wg.Go(func() { batch(h.w[portInt], junk, junk) })
	// Local senders at once.
	pkt := tcpFrame(ipHdr{srcMAC: intMAC, dstMAC: memberMAC(0), src: selfInt.Addr(), dst: members[0]}, LocalPortMin, 8080, fSYN, "")[ethHdrLen:]
	for range 4 {
		wg.Go(func() {
			for range 5 {
				if err := h.e.SendLocal(pkt); err != nil {
					t.Errorf("SendLocal: %v", err)
				}
			}
		})
	}
	wg.Wait()
	h.e.drops[drop.NoRoute].Add(1) // a count from outside the workers

	want := map[string]uint64{
		"port.ext.rx_packets":        3,
		"port.ext.icmp_echo_replies": 3,
		"port.ext.tx_packets":        3,
		"port.int.rx_packets":        2,
		"port.int.tx_packets":        20,
		"local.tx_packets":           20,
		"drop.unsupported-ethertype": 2,
		"drop.no-route":              1,
	}
	for _, c := range h.e.Counters() {
		if got := c.Value - before[c.Name]; got != want[c.Name] {
			t.Errorf("%s went up by %d, want %d", c.Name, got, want[c.Name])
		}
	}
	if got := h.e.Drops(drop.UnsupportedEthertype) - before["drop.unsupported-ethertype"]; got != 2 {
		t.Errorf("Drops(unsupported-ethertype) went up by %d, want 2", got)
	}
}
