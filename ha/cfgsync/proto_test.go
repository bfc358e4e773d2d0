package cfgsync

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestMessageRoundTrip(t *testing.T) {
	m := &Message{Kind: KindPush, From: "lbx1", Gen: Gen{Seq: 7, Origin: "lbx1"}, Base: Gen{Seq: 5, Origin: "lbx2"}, Force: true,
		Config: "ltm pool /Common/p { }\n", Group: &Group{Name: "dg1", Type: TypeSyncFailover, AutoSync: true, Devices: []string{"lbx1", "lbx2"}, Rev: Gen{Seq: 1, Origin: "lbx1"}}}
	var buf bytes.Buffer
	if err := WriteMessage(&buf, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadMessage(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"kind":"push","from":"lbx1","gen":{"seq":1},"base":{"seq":0}}x`, "after the message"},
		{`{"kind":"merge","from":"lbx1"}`, `kind "merge": unknown`},
		{`{"kind":"push","from":""}`, `from "": empty`},
		{`{"kind":"push","from":"lbx/1"}`, `character '/'`},
		{`{"kind":"push","from":"lbx1","extra":1}`, `unknown field "extra"`},
		{`{"kind":"push","from":"lbx1","gen":{"seq":1,"origin":"-x"}}`, `gen origin "-x"`},
		{`{"kind":"push","from":"lbx1","gen":{"seq":1,"origin":"a","digest":"00"}}`, "digest is not sent"},
		{`{"kind":"status","from":"lbx1","group":{"name":"dg","type":"mesh","devices":["a"]}}`, `type "mesh"`},
		{`{"kind":"status","from":"lbx1","group":{"name":"dg","type":"sync-only","devices":["a","a"]}}`, "a twice"},
		{`{"kind":"status","from":"lbx1","group":{"name":"dg","type":"sync-only","devices":["a","b","c","d","e","f","g","h","i"]}}`, "at most 8"},
	} {
		_, err := Decode([]byte(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Decode(%s) = %v, want %q", c.body, err, c.want)
		}
	}
	var hdr = []byte{0x7f, 0xff, 0xff, 0xff}
	if _, err := ReadMessage(bytes.NewReader(hdr)); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversized frame: %v", err)
	}
}

// FuzzDecode: the decoder never panics, and what it accepts encodes and
// decodes back to itself.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"kind":"push","from":"lbx1","gen":{"seq":3,"origin":"lbx1"},"base":{"seq":2,"origin":"lbx2"},"config":"ltm pool /Common/p { }\n"}`,
		`{"kind":"status","from":"lbx2","gen":{"seq":1,"origin":"lbx2"},"base":{"seq":0},"group":{"name":"dg1","type":"sync-failover","auto_sync":true,"network_failover":true,"devices":["lbx1","lbx2"],"rev":{"seq":1,"origin":"lbx1"}}}`,
		`{"kind":"trust","from":"lbx1","addr":"127.0.0.1:4353","to":"lbx2","user":"admin","password":"pw","gen":{"seq":0},"base":{"seq":0}}`,
		`{"kind":"reply","from":"lbx2","error":"refused"}`,
		`{"kind":"pull","from":"a"}`,
		`{}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Decode(body)
		if err != nil {
			return
		}
		frame, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode of a decoded message: %v", err)
		}
		m2, err := ReadMessage(bytes.NewReader(frame))
		if err != nil {
			t.Fatalf("decoded, encoded, refused: %v\n%s", err, frame)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip:\n%+v\n%+v", m, m2)
		}
	})
}
