package guest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DataLabel is the data file system's ext4 label (vm.DataLabel).
const DataLabel = "lbx-data"

// DataDir is where the data file system is mounted; /var/lib/lbx links
// to it, so the boot config's default saved path lands there.
const DataDir = "/data"

// ext4Label reads the volume label of the ext2/3/4 file system whose
// first 2 KiB are r; ok is false when it is none.
func ext4Label(r io.ReaderAt) (label string, ok bool) {
	sb := make([]byte, 1024)
	if _, err := r.ReadAt(sb, 1024); err != nil {
		return "", false
	}
	if binary.LittleEndian.Uint16(sb[0x38:]) != 0xEF53 {
		return "", false
	}
	name := sb[0x78 : 0x78+16]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return string(name), true
}

// BlockDev is a block device the kernel lists in /sys/class/block.
type BlockDev struct {
	Name      string // vda, vda2
	Partition bool
}

// dataCandidates orders the devices the data file system is looked for
// on: whole disks before partitions (a separate data disk wins over the
// image's own data partition), then by name.
func dataCandidates(devs []BlockDev) []BlockDev {
	out := append([]BlockDev(nil), devs...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Partition != out[j].Partition {
			return !out[i].Partition
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// listBlock lists sysfs's block devices (sysRoot is /sys).
func listBlock(sysRoot string) ([]BlockDev, error) {
	ents, err := os.ReadDir(filepath.Join(sysRoot, "class", "block"))
	if err != nil {
		return nil, err
	}
	var devs []BlockDev
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "loop") || strings.HasPrefix(e.Name(), "ram") {
			continue
		}
		_, err := os.Stat(filepath.Join(sysRoot, "class", "block", e.Name(), "partition"))
		devs = append(devs, BlockDev{Name: e.Name(), Partition: err == nil})
	}
	return devs, nil
}

// findData is the /dev path of the first candidate carrying label.
func findData(sysRoot, devRoot, label string) (string, error) {
	devs, err := listBlock(sysRoot)
	if err != nil {
		return "", err
	}
	for _, d := range dataCandidates(devs) {
		p := filepath.Join(devRoot, d.Name)
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		l, ok := ext4Label(f)
		f.Close()
		if ok && l == label {
			return p, nil
		}
	}
	return "", fmt.Errorf("no ext4 file system labelled %s on %d block devices", label, len(devs))
}

// NIC is a network interface of the VM.
type NIC struct {
	Name string
	MAC  string
}

// ListNICs lists the Ethernet NICs (a device link in sysfs: not lo, not
// virtual) in name order.
func ListNICs(sysRoot string) ([]NIC, error) {
	ents, err := os.ReadDir(filepath.Join(sysRoot, "class", "net"))
	if err != nil {
		return nil, err
	}
	var nics []NIC
	for _, e := range ents {
		dir := filepath.Join(sysRoot, "class", "net", e.Name())
		if _, err := os.Stat(filepath.Join(dir, "device")); err != nil {
			continue
		}
		mac, err := os.ReadFile(filepath.Join(dir, "address"))
		if err != nil {
			return nil, err
		}
		nics = append(nics, NIC{Name: e.Name(), MAC: strings.TrimSpace(string(mac))})
	}
	sort.Slice(nics, func(i, j int) bool { return nicLess(nics[i].Name, nics[j].Name) })
	return nics, nil
}

// nicLess orders eth2 before eth10.
func nicLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// SplitNICs picks the management NIC (mgmt, or the first) and the data
// NICs (the others, in order).
func SplitNICs(nics []NIC, mgmt string) (m NIC, data []NIC, err error) {
	if len(nics) == 0 {
		return NIC{}, nil, errors.New("no network interface")
	}
	if mgmt == "" {
		mgmt = nics[0].Name
	}
	found := false
	for _, n := range nics {
		if n.Name == mgmt {
			m, found = n, true
			continue
		}
		data = append(data, n)
	}
	if !found {
		return NIC{}, nil, fmt.Errorf("mgmt.interface %q: no such NIC (have %s)", mgmt, nicNames(nics))
	}
	return m, data, nil
}

func nicNames(nics []NIC) string {
	var s []string
	for _, n := range nics {
		s = append(s, n.Name)
	}
	return strings.Join(s, ", ")
}
