package filexfer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// DownloadPath is where BIG-IP keeps uploads and what the clients name in
// sourcePath (file://DownloadPath/NAME); here it is Dir's directory.
const DownloadPath = "/var/config/rest/downloads"

// MaxFile bounds one uploaded file: certificates and keys are a few
// kilobytes, a long chain tens.
const MaxFile = 1 << 20

// Error is a refusal with its HTTP status, for the server's F5 error JSON.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string   { return e.Msg }
func (e *Error) HTTPStatus() int { return e.Code }

func errf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Dir is the upload directory. The zero Dir (no path) refuses uploads.
type Dir struct {
	path string
	mu   sync.Mutex // serializes the writes of chunks
}

// New is the upload directory at dir, made (mode 0700) at the first upload.
func New(dir string) *Dir { return &Dir{path: dir} }

// checkName accepts a file name as the clients send it: one path element.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 255 || strings.ContainsAny(name, "/\\\x00") {
		return errf(400, "Upload file name %q: want a plain file name.", name)
	}
	return nil
}

// Range reads a Content-Range header, "start-end/total" (a bytes unit
// prefix allowed); an empty one is the whole file in one chunk of n bytes.
func Range(h string, n int) (start, end, total int64, err error) {
	if h == "" {
		return 0, int64(n) - 1, int64(n), nil
	}
	s := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(h), "bytes"))
	se, tot, ok := strings.Cut(s, "/")
	a, b, ok2 := strings.Cut(se, "-")
	if !ok || !ok2 {
		return 0, 0, 0, errf(400, "Content-Range %q: want START-END/TOTAL.", h)
	}
	start, e1 := strconv.ParseInt(a, 10, 64)
	end, e2 := strconv.ParseInt(b, 10, 64)
	total, e3 := strconv.ParseInt(tot, 10, 64)
	switch {
	case e1 != nil || e2 != nil || e3 != nil || start < 0 || end < start || total <= end:
		return 0, 0, 0, errf(400, "Content-Range %q: want START-END/TOTAL with START <= END < TOTAL.", h)
	case total > MaxFile:
		return 0, 0, 0, errf(413, "Content-Range %q: a file larger than %d bytes is not accepted.", h, MaxFile)
	case end-start+1 != int64(n):
		return 0, 0, 0, errf(400, "Content-Range %q: the chunk is %d bytes, not %d.", h, n, end-start+1)
	}
	return start, end, total, nil
}

// Upload writes one chunk of file name. A chunk at 0 starts the file
// anew; any other must continue it where it ends. The answer is BIG-IP's.
func (d *Dir) Upload(name, contentRange string, chunk []byte) (map[string]any, error) {
	if d == nil || d.path == "" {
		return nil, errf(400, "File uploads are not configured on this unit.")
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	start, end, total, err := Range(contentRange, len(chunk))
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.MkdirAll(d.path, 0o700); err != nil {
		return nil, errf(500, "Upload directory: %v", err)
	}
	p := filepath.Join(d.path, name)
	flags := os.O_WRONLY | os.O_CREATE
	if start == 0 {
		flags |= os.O_TRUNC
	} else if fi, err := os.Stat(p); err != nil || fi.Size() != start {
		return nil, errf(400, "Upload %s: a chunk at %d, but the file holds %d bytes: start again at 0.", name, start, size(fi, err))
	}
	f, err := os.OpenFile(p, flags, 0o600)
	if err != nil {
		return nil, errf(500, "Upload %s: %v", name, pathless(err))
	}
	_, werr := f.WriteAt(chunk, start)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, errf(500, "Upload %s: %v", name, pathless(werr))
	}
	return map[string]any{
		"remainingByteCount": total - end - 1, "usedChunks": map[string]any{strconv.FormatInt(start, 10): len(chunk)},
		"totalByteCount": total, "localFilePath": DownloadPath + "/" + name,
		"temporaryFilePath": DownloadPath + "/tmp." + name, "generation": 0, "lastUpdateMicros": 0,
	}, nil
}

func size(fi fs.FileInfo, err error) int64 {
	if err != nil {
		return 0
	}
	return fi.Size()
}

func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// uploaded is the upload a path names: DownloadPath/NAME (or a
// file:, file:// URL of it) gives NAME.
func uploaded(p string) (string, bool) {
	p = strings.TrimPrefix(p, "file:")
	p = "/" + strings.TrimLeft(p, "/")
	dir, name := path.Split(path.Clean(p))
	if path.Clean(dir) != DownloadPath || checkName(name) != nil {
		return "", false
	}
	return name, true
}

// Read returns the upload sourcePath names, or ok false when it names no
// upload (a path elsewhere on the appliance, read when used).
func (d *Dir) Read(sourcePath string) (data []byte, ok bool, err error) {
	name, ok := uploaded(sourcePath)
	if !ok {
		return nil, false, nil
	}
	if d == nil || d.path == "" {
		return nil, true, errf(400, "sourcePath %q: file uploads are not configured on this unit.", sourcePath)
	}
	data, err = os.ReadFile(filepath.Join(d.path, name))
	if err != nil {
		return nil, true, errf(400, "sourcePath %q: %v (upload it first to /mgmt/shared/file-transfer/uploads/%s).", sourcePath, pathless(err), name)
	}
	if len(data) > MaxFile {
		return nil, true, errf(400, "sourcePath %q: larger than %d bytes.", sourcePath, MaxFile)
	}
	return data, true, nil
}

// Remove deletes an upload: /mgmt/tm/util/unix-rm's argument, which must
// name one (Ansible removes what it uploaded). A missing file is no error.
func (d *Dir) Remove(p string) error {
	name, ok := uploaded(strings.TrimSpace(p))
	if !ok {
		return errf(400, "unix-rm %q: only a file under %s can be removed.", p, DownloadPath)
	}
	if d == nil || d.path == "" {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.Remove(filepath.Join(d.path, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errf(500, "unix-rm %s: %v", p, pathless(err))
	}
	return nil
}

// UnixRm runs /mgmt/tm/util/unix-rm {"command":"run","utilCmdArgs":PATH}
// for an uploaded file only, answering as BIG-IP.
func (d *Dir) UnixRm(body []byte) (map[string]any, error) {
	var b struct {
		Command     string `json:"command"`
		UtilCmdArgs string `json:"utilCmdArgs"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Command != "run" {
		return nil, errf(400, "util/unix-rm: want {\"command\":\"run\",\"utilCmdArgs\":PATH}.")
	}
	if err := d.Remove(b.UtilCmdArgs); err != nil {
		return nil, err
	}
	return map[string]any{"kind": "tm:util:unix-rm:runstate", "command": "run", "utilCmdArgs": b.UtilCmdArgs}, nil
}
