package afxdp

import (
	"testing"

	"lbx/dataplane"
	tapport "lbx/dataplane/tap"
)

// benchWrite writes b.N 64-byte frames through port in batches of 64: the
// port's own cost per frame sent, the kernel on the other side dropping
// them (an experimental ethertype) after counting.
func benchWrite(b *testing.B, port dataplane.Port) {
	f := make([]byte, 64)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], portMAC)
	f[12], f[13] = 0x88, 0xb5
	batch := make([][]byte, 64)
	for i := range batch {
		batch[i] = f
	}
	b.SetBytes(int64(len(f)))
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		k := min(len(batch), b.N-sent)
		n, err := port.WriteBatch(batch[:k])
		if err != nil {
			b.Fatalf("write: %v", err)
		}
		sent += n
	}
}

// BenchmarkWriteAFXDP: frames out of an AF_XDP port on a veth end.
//
//	go test -run - -bench Write ./dataplane/afxdp
func BenchmarkWriteAFXDP(b *testing.B) {
	tn := newTestNS(b)
	p := tn.open(b)
	defer p.Close()
	benchWrite(b, p)
	b.ReportMetric(float64(p.ctr.txWakeups.Load())/float64(b.N), "wakeups/frame")
}

// BenchmarkWriteTAP: the same frames out of a TAP port, one write each.
func BenchmarkWriteTAP(b *testing.B) {
	tn := newTestNS(b)
	var tap *tapport.Port
	tn.do(b, func() (err error) {
		tap, err = tapport.Open("ext", "tapb", portMAC)
		return err
	})
	defer tap.Close()
	benchWrite(b, tap)
}
