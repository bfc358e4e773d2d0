package ctlsock

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// checking is a dialect with a dry run and JSON output.
type checking struct{ echo }

func (d checking) Check(t string) (string, error)    { return d.name + " check:" + t, nil }
func (d checking) ShowJSON(t string) (string, error) { return `{"json":` + `"` + t + `"}`, nil }

// A checked push runs the dialect's Check and an exec asking for JSON its
// ShowJSON; a dialect without them refuses, naming itself, and never
// runs the push for real. The dialect is named by the client.
func TestCheckAndJSONRequests(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lbx.sock")
	srv, err := Listen(path, slog.New(slog.DiscardHandler), checking{echo{name: "tmsh"}}, echo{name: "alteon", prefix: "/"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	defer srv.Close()
	c := &Client{Path: path}
	if out, err := c.Check("a\n"); err != nil || out != "tmsh check:a\n" {
		t.Errorf("Check = %q, %v", out, err)
	}
	if out, err := c.ShowJSON("show ltm pool"); err != nil || out != `{"json":"show ltm pool"}` {
		t.Errorf("ShowJSON = %q, %v", out, err)
	}
	alt := &Client{Path: path, Dialect: "alteon"}
	if out, err := alt.Check("/c/slb\n"); err == nil || !strings.Contains(err.Error(), "the alteon dialect has no dry run") || out != "" {
		t.Errorf("Check in a dialect without one = %q, %v", out, err)
	}
	if _, err := alt.ShowJSON("/info"); err == nil || !strings.Contains(err.Error(), "alteon dialect prints only text") {
		t.Errorf("ShowJSON in a dialect without it: %v", err)
	}
	if out, err := alt.Push("x"); err != nil || out != "alteon push:x" {
		t.Errorf("Push with Client.Dialect = %q, %v", out, err)
	}
	// The wire: check is a boolean, output a string.
	req, err := decodeRequest(strings.NewReader(`{"op":"push","text":"x","check":true,"output":"json"}`), 1<<20)
	if err != nil || !req.Check || req.Output != "json" {
		t.Errorf("decodeRequest = %+v, %v", req, err)
	}
	if _, err := decodeRequest(strings.NewReader(`{"op":"push","check":"yes"}`), 1<<20); err == nil {
		t.Error("check as a string accepted")
	}
}
