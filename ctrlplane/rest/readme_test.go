package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The curl examples of README's REST API section run as written (with
// PORT and PASSWORD filled in) and succeed, in order.
func TestREADMECurlExamples(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "### REST API\n")
	if !ok {
		t.Fatal("README has no REST API section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	var cmds []string
	for _, line := range strings.Split(sec, "\n") {
		if strings.HasPrefix(line, "curl ") {
			cmds = append(cmds, line)
		}
	}
	if len(cmds) < 2 {
		t.Fatalf("%d curl examples", len(cmds))
	}
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is not installed (.ci/run installs it)")
		}
		t.Skip("curl is not installed")
	}
	f := newFixture(t)
	port := f.srv.URL[strings.LastIndexByte(f.srv.URL, ':')+1:]
	for _, cmd := range cmds {
		cmd = strings.NewReplacer("PORT", port, "PASSWORD", password("admin")).Replace(cmd)
		words, err := shellWords(cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		method, url, body := "GET", "", ""
		var user string
		hdr := http.Header{}
		for i := 1; i < len(words); i++ {
			switch w := words[i]; w {
			case "-s", "-k", "-sk":
			case "-X":
				i++
				method = words[i]
			case "-u":
				i++
				user = words[i]
			case "-H":
				i++
				k, v, _ := strings.Cut(words[i], ":")
				hdr.Set(k, strings.TrimSpace(v))
			case "-d":
				i++
				body = words[i]
				if method == "GET" {
					method = "POST"
				}
			default:
				if strings.HasPrefix(w, "-") {
					t.Fatalf("%s: curl option %s not understood by this test", cmd, w)
				}
				url = w
			}
		}
		if user != "admin:"+password("admin") || !strings.HasPrefix(url, "https://127.0.0.1:"+port+"/") {
			t.Fatalf("%s: want -u admin:PASSWORD and https://127.0.0.1:PORT", cmd)
		}
		if body != "" && !json.Valid([]byte(body)) {
			t.Errorf("%s: the -d body is not JSON", cmd)
		}
		// The line runs as written, by the real curl, through sh; -w
		// adds the status code on a line of its own.
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		out, err := exec.CommandContext(ctx, "sh", "-c", cmd+` -w '\n%{http_code}'`).Output()
		cancel()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if code := lines[len(lines)-1]; code != "200" {
			t.Errorf("%s: HTTP %s\n%s", cmd, code, out)
		}
		if !json.Valid([]byte(strings.Join(lines[:len(lines)-1], "\n"))) {
			t.Errorf("%s: the answer is not JSON:\n%s", cmd, out)
		}
	}
}

// shellWords splits a command line as sh does for the quoting README
// uses: single quotes, double quotes, blanks.
func shellWords(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, errf(400, "unclosed quote")
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}
