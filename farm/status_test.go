package farm

import (
	"os"
	"strings"
	"testing"
)

// The status sample of README's "Farm mode" is what Text prints for it.
func TestStatusText(t *testing.T) {
	s := Status{VIP: "198.18.70.100", VMAC: "02:fa:c6:12:46:64", Interface: "eth0", Rules: []string{"tcp/80 on_addr"},
		Members: []MemberStatus{
			{Name: "198.18.70.11:7946", Self: true, State: "UP", Buckets: 137, Checker: "ok"},
			{Name: "198.18.70.12:7946", State: "STOP", Checker: "-"},
			{Name: "198.18.70.13:7946", State: "UP", Buckets: 119, Checker: "ok"},
		},
		Accepted: 73, Dropped: 83, ARP: 1, Flows: 14}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "```\nfarm VIP ")
	if !ok {
		t.Fatal("README has no farm status sample")
	}
	sample, _, _ := strings.Cut("farm VIP "+after, "```")
	if got := s.Text(); got != sample {
		t.Errorf("Text prints\n%s\nREADME shows\n%s", got, sample)
	}
}

// meta survives its encoding; malformed metadata is refused.
func TestMeta(t *testing.T) {
	var m meta
	m.State, m.Check, m.Restarts = StateUp, checkOK, 2
	m.Owned.set(0)
	m.Owned.set(255)
	m.Draining.set(7)
	got, err := decodeMeta(m.encode())
	if err != nil || got != m || got.Owned.count() != 2 || !got.Draining.has(7) {
		t.Errorf("decode = %+v, %v", got, err)
	}
	for _, b := range [][]byte{nil, {1}, append([]byte{2}, m.encode()[1:]...), append([]byte{1, 9}, m.encode()[2:]...)} {
		if _, err := decodeMeta(b); err == nil {
			t.Errorf("decodeMeta(%x) accepted", b)
		}
	}
}

func FuzzDecodeMeta(f *testing.F) {
	f.Add(meta{State: StateWait}.encode())
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			return
		}
		if string(m.encode()) != string(b) {
			t.Fatalf("decode/encode of %x gives %x", b, m.encode())
		}
	})
}
