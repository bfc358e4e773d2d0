package vm

import (
	"encoding/binary"
	"errors"
	"os"
)

// fixPETimestamp sets a PE file's COFF time stamp to epoch and its
// checksum to match: objcopy stamps the time of the build, which would
// make every image differ.
func fixPETimestamp(path string, epoch int64) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := patchPE(b, epoch); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func patchPE(b []byte, epoch int64) error {
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return errors.New("not a PE file")
	}
	pe := int(binary.LittleEndian.Uint32(b[0x3c:]))
	if pe < 0 || pe+24+68 > len(b) || string(b[pe:pe+4]) != "PE\x00\x00" {
		return errors.New("no PE header")
	}
	binary.LittleEndian.PutUint32(b[pe+8:], uint32(epoch))
	sumAt := pe + 24 + 64
	binary.LittleEndian.PutUint32(b[sumAt:], 0)
	binary.LittleEndian.PutUint32(b[sumAt:], peChecksum(b))
	return nil
}

// peChecksum is the PE optional header's checksum: the 16-bit one's
// complement-style sum of the file (its checksum field zero) plus its
// length.
func peChecksum(b []byte) uint32 {
	var sum uint64
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint64(binary.LittleEndian.Uint16(b[i:]))
		sum = (sum & 0xffff) + (sum >> 16)
	}
	if len(b)%2 == 1 {
		sum += uint64(b[len(b)-1])
		sum = (sum & 0xffff) + (sum >> 16)
	}
	sum = (sum & 0xffff) + (sum >> 16)
	return uint32(sum) + uint32(len(b))
}
