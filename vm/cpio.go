package vm

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// cpioEntry is one file, directory or symlink of an initramfs.
type cpioEntry struct {
	Name string // without a leading slash
	Mode uint32 // type bits included (0o040000 dir, 0o100000 file, 0o120000 symlink)
	Data []byte // file contents or symlink target
}

const (
	cpioDir  = 0o040000
	cpioFile = 0o100000
	cpioLink = 0o120000
)

// writeCpio writes entries as a newc ("070701") archive, sorted by name
// with every parent directory before its children, each with mtime,
// inode numbers and owner fixed, so the same entries give the same
// bytes.
func writeCpio(w io.Writer, entries []cpioEntry, mtime int64) error {
	sorted := append([]cpioEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	seen := map[string]bool{}
	for _, e := range sorted {
		if e.Name == "" || strings.HasPrefix(e.Name, "/") || path.Clean(e.Name) != e.Name {
			return fmt.Errorf("cpio: bad name %q", e.Name)
		}
		if seen[e.Name] {
			return fmt.Errorf("cpio: %q twice", e.Name)
		}
		seen[e.Name] = true
	}
	for _, e := range sorted {
		if dir := path.Dir(e.Name); dir != "." && !seen[dir] {
			return fmt.Errorf("cpio: %q has no parent directory entry %q", e.Name, dir)
		}
	}
	ino := 1
	for _, e := range sorted {
		if err := writeCpioRecord(w, e.Name, e.Mode, e.Data, ino, mtime); err != nil {
			return err
		}
		ino++
	}
	return writeCpioRecord(w, "TRAILER!!!", 0, nil, 0, 0)
}

func writeCpioRecord(w io.Writer, name string, mode uint32, data []byte, ino int, mtime int64) error {
	nlink := 1
	if mode&0o170000 == cpioDir {
		nlink = 2
		data = nil
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, uint32(mtime), len(data), 0, 0, 0, 0, len(name)+1, 0)
	buf := make([]byte, 0, len(hdr)+len(name)+8)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, 0)
	buf = pad4(buf)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if len(data) > 0 {
		if _, err := w.Write(data); err != nil {
			return err
		}
		if n := len(data) % 4; n != 0 {
			if _, err := w.Write(make([]byte, 4-n)); err != nil {
				return err
			}
		}
	}
	return nil
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
