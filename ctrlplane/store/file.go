package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"lbx/ctrlplane/config"
)

// MaxConfigFile is the largest configuration file Boot and
// `load sys config file` read: well above a large bigip.conf (1000 pools
// of 250 members are about 20 MB, at some 75 bytes a member), and small
// enough that a mistaken path cannot exhaust the control plane's memory.
const MaxConfigFile = 64 << 20

// maxNameInError is how much of a path an error quotes.
const maxNameInError = 120

// ShortName returns name for an error message: at most maxNameInError
// bytes (cut at a rune boundary, with the full length said), with control
// characters escaped, so an error about a 1 MB name does not echo it.
func ShortName(name string) string {
	return Excerpt(name, maxNameInError)
}

// Excerpt is config.Excerpt, for the callers that quote with the store.
func Excerpt(s string, max int) string { return config.Excerpt(s, max) }

// ReadConfigFile reads a configuration file: a regular file of at most
// MaxConfigFile bytes. A device (/dev/zero), a named pipe, a socket or a
// directory is refused before any read, so a mistaken path can neither
// hang the control plane nor fill its memory; the read itself is bounded
// too, in case the file grows meanwhile. Errors quote a shortened path.
func ReadConfigFile(path string) ([]byte, error) {
	name := ShortName(path)
	// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	// writer; on a regular file it changes nothing.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: unwrapPath(err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: unwrapPath(err)}
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s): only regular files load", name, fileKind(st.Mode()))
	}
	if st.Size() > MaxConfigFile {
		return nil, fmt.Errorf("%s: %d bytes: larger than the %d MiB limit for a configuration file", name, st.Size(), MaxConfigFile>>20)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigFile+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: unwrapPath(err)}
	}
	if len(data) > MaxConfigFile {
		return nil, fmt.Errorf("%s: larger than the %d MiB limit for a configuration file", name, MaxConfigFile>>20)
	}
	return data, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	default:
		return "mode " + m.Type().String()
	}
}
