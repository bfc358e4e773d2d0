package guest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestExt4LabelOfRealFileSystem reads the label mke2fs wrote.
func TestExt4LabelOfRealFileSystem(t *testing.T) {
	if _, err := exec.LookPath("mke2fs"); err != nil {
		t.Skip("mke2fs missing (e2fsprogs)")
	}
	p := filepath.Join(t.TempDir(), "fs.img")
	if out, err := exec.Command("mke2fs", "-q", "-F", "-t", "ext4", "-L", DataLabel, p, "8M").CombinedOutput(); err != nil {
		t.Fatalf("mke2fs: %v: %s", err, out)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if l, ok := ext4Label(f); !ok || l != DataLabel {
		t.Fatalf("label %q, %v; want %q", l, ok, DataLabel)
	}
	if _, ok := ext4Label(bytes.NewReader(make([]byte, 4096))); ok {
		t.Fatal("zeros read as ext4")
	}
}

func FuzzExt4Label(f *testing.F) {
	sb := make([]byte, 2048)
	sb[1024+0x38], sb[1024+0x39] = 0x53, 0xEF
	copy(sb[1024+0x78:], "lbx-data")
	f.Add(sb)
	f.Add([]byte{})
	f.Add(make([]byte, 1500))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, ok := ext4Label(bytes.NewReader(b))
		if !ok && l != "" {
			t.Fatalf("no file system but label %q", l)
		}
		if len(l) > 16 {
			t.Fatalf("label %q longer than 16 bytes", l)
		}
	})
}

func TestDataDiskBeforePartition(t *testing.T) {
	got := dataCandidates([]BlockDev{{"vda", false}, {"vda1", true}, {"vda2", true}, {"vdb", false}})
	want := []string{"vda", "vdb", "vda1", "vda2"}
	for i, d := range got {
		if d.Name != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}

func TestSplitNICs(t *testing.T) {
	nics := []NIC{{"eth0", "52:54:00:00:00:01"}, {"eth1", "02:00:5e:10:01:02"}, {"eth2", "02:00:5e:10:02:02"}}
	m, data, err := SplitNICs(nics, "")
	if err != nil || m.Name != "eth0" || len(data) != 2 || data[0].Name != "eth1" {
		t.Fatalf("default: %v %v %v", m, data, err)
	}
	m, data, err = SplitNICs(nics, "eth2")
	if err != nil || m.Name != "eth2" || len(data) != 2 || data[1].Name != "eth1" {
		t.Fatalf("eth2: %v %v %v", m, data, err)
	}
	if _, _, err := SplitNICs(nics, "eth9"); err == nil {
		t.Fatal("eth9 accepted")
	}
	if _, _, err := SplitNICs(nil, ""); err == nil {
		t.Fatal("no NICs accepted")
	}
	if !nicLess("eth2", "eth10") {
		t.Fatal("eth10 before eth2")
	}
}
