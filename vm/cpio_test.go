package vm

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
	"testing"
)

// readNewc parses a newc archive back: names, modes, data.
func readNewc(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var out []cpioEntry
	for off := 0; ; {
		if len(b)-off < 110 || string(b[off:off+6]) != "070701" {
			t.Fatalf("bad header at %d", off)
		}
		field := func(i int) int {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return int(v)
		}
		mode, size, namesize := field(1), field(6), field(11)
		name := string(b[off+110 : off+110+namesize-1])
		off = (off + 110 + namesize + 3) &^ 3
		data := b[off : off+size]
		off = (off + size + 3) &^ 3
		if name == "TRAILER!!!" {
			return out
		}
		out = append(out, cpioEntry{Name: name, Mode: uint32(mode), Data: append([]byte(nil), data...)})
	}
}

func TestCpioRoundTripAndDeterminism(t *testing.T) {
	entries := []cpioEntry{
		{Name: "init", Mode: cpioFile | 0o755, Data: []byte("#!binary")},
		{Name: "etc", Mode: cpioDir | 0o755},
		{Name: "etc/lbx", Mode: cpioDir | 0o755},
		{Name: "etc/lbx/modules", Mode: cpioFile | 0o644, Data: []byte("/lib/x.ko\n")},
		{Name: "var", Mode: cpioDir | 0o755},
		{Name: "var/lib", Mode: cpioLink | 0o777, Data: []byte("/data")},
	}
	var a, b bytes.Buffer
	if err := writeCpio(&a, entries, 1700000000); err != nil {
		t.Fatal(err)
	}
	rev := append([]cpioEntry(nil), entries...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	if err := writeCpio(&b, rev, 1700000000); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same entries in another order gave other bytes")
	}
	got := readNewc(t, a.Bytes())
	if len(got) != len(entries) || got[0].Name != "etc" || got[len(got)-1].Name != "var/lib" {
		t.Fatalf("read back %v", got)
	}
	for _, g := range got {
		if g.Name == "etc/lbx/modules" && string(g.Data) != "/lib/x.ko\n" {
			t.Fatalf("data %q", g.Data)
		}
	}
	for _, bad := range [][]cpioEntry{
		{{Name: "/abs", Mode: cpioFile}},
		{{Name: "a/b", Mode: cpioFile}},
		{{Name: "x", Mode: cpioFile}, {Name: "x", Mode: cpioFile}},
	} {
		if err := writeCpio(&bytes.Buffer{}, bad, 0); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestPETimestampFixed: objcopy's output, stamped with the build's time,
// patched to the epoch; the checksum agrees with the one objcopy wrote
// for the unpatched file's own stamp.
func TestPEChecksumMatchesObjcopy(t *testing.T) {
	b, err := os.ReadFile("/usr/lib/systemd/boot/efi/linuxx64.efi.stub")
	if err != nil {
		t.Skip("systemd-boot-efi missing")
	}
	pe := int(binary.LittleEndian.Uint32(b[0x3c:]))
	want := binary.LittleEndian.Uint32(b[pe+24+64:])
	if want == 0 {
		t.Skip("the stub carries no checksum")
	}
	c := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(c[pe+24+64:], 0)
	if got := peChecksum(c); got != want {
		t.Fatalf("checksum %#x, the stub's %#x", got, want)
	}
	if err := patchPE(c, 1234); err != nil {
		t.Fatal(err)
	}
	if binary.LittleEndian.Uint32(c[pe+8:]) != 1234 {
		t.Fatal("time stamp not set")
	}
	if err := patchPE([]byte("not a pe"), 0); err == nil {
		t.Fatal("garbage patched")
	}
}
