package ctrlplane

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var fenceRe = regexp.MustCompile("(?s)```(tmsh|yaml|alteon)\n(.*?)```")

// Every config example in README and docs/ is checked: tmsh blocks are
// run in one session on the testbed's default config, Alteon blocks are
// pushed onto it, YAML blocks load as boot config.
func TestDocExamples(t *testing.T) {
	files, _ := filepath.Glob("../docs/*.md")
	files = append(files, "../README.md")
	found := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range fenceRe.FindAllStringSubmatch(string(b), -1) {
			found++
			t.Run(filepath.Base(f)+"#"+m[1]+string(rune('0'+i)), func(t *testing.T) {
				switch m[1] {
				case "tmsh":
					s, _ := newTestStore(t, DefaultConfigText())
					if _, err := s.NewSession().Exec(m[2]); err != nil {
						t.Errorf("%s example does not apply: %v\n%s", f, err, m[2])
					}
				case "alteon":
					s, _ := newTestStore(t, DefaultConfigText())
					if out, err := s.Push(m[2]); err != nil || len(s.Running().Virtuals) < 3 {
						t.Errorf("%s Alteon example does not apply: %v\n%s\n%s", f, err, out, m[2])
					}
				case "yaml":
					p := filepath.Join(t.TempDir(), "boot.yaml")
					os.WriteFile(p, []byte(m[2]), 0o600)
					if _, err := LoadBoot(p, nil); err != nil {
						t.Errorf("%s boot example does not load: %v", f, err)
					}
				}
			})
		}
	}
	if found < 2 {
		t.Fatalf("found %d examples; README has at least a tmsh and a yaml one", found)
	}
}
