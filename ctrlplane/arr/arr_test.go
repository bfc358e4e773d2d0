package arr

import (
	"flag"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/tmsh/conf"
	"lbx/l7/policy"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.tmsh from the importer")

// TestCorpus imports each testdata/*.config and compares the tmsh it
// turns into with testdata/*.tmsh; the tmsh parses back to the same
// objects and validates.
func TestCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.config")
	if len(files) < 3 {
		t.Fatalf("corpus has %d files", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Import(in, Options{})
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			got := r.Text(filepath.Base(f))
			golden := strings.TrimSuffix(f, ".config") + ".tmsh"
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestCorpus -update writes it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("tmsh differs from %s (-want +got):\n%s", golden, diff)
			}
			checkPushable(t, r, got)
		})
	}
}

// checkPushable parses the text back and validates it.
func checkPushable(t *testing.T, r *Result, text string) {
	t.Helper()
	c, err := conf.ParseConfig(text)
	if err != nil {
		t.Fatalf("the import's tmsh does not parse: %v\n%s", err, text)
	}
	if err := config.Validate(c, config.Env{}); err != nil {
		t.Fatalf("the import's tmsh does not validate: %v\n%s", err, text)
	}
	if len(c.Pools) != len(r.Config.Pools) || len(c.Policies) != len(r.Config.Policies) || len(c.Monitors) != len(r.Config.Monitors) {
		t.Fatalf("parsed back %d pools %d policies %d monitors, imported %d %d %d", len(c.Pools), len(c.Policies), len(c.Monitors),
			len(r.Config.Pools), len(r.Config.Policies), len(r.Config.Monitors))
	}
}

func importSample(t *testing.T) *Result {
	t.Helper()
	in, err := os.ReadFile("testdata/applicationHost.config")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Import(in, Options{})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return r
}

// TestSampleRoutes evaluates the imported policy on the paper's requests:
// static content to the static farm, a hosted site by host name, phones
// to the mobile farm (unless they ask for the desktop site), an old URL
// redirected, everything else to the application farm.
func TestSampleRoutes(t *testing.T) {
	r := importSample(t)
	comp, err := policy.Compile(r.Config, []string{"/Common/arr_rules"})
	if err != nil {
		t.Fatal(err)
	}
	iphone := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"
	for _, tc := range []struct {
		target, host, ua, cookie string
		want                     string // pool, or "redirect URL"
	}{
		{"/img/logo.JPG", "www.contoso.com", "", "", "/Common/staticFarm"},
		{"/site.css?v=3", "www.contoso.com", "", "", "/Common/staticFarm"},
		{"/static/fonts/a.woff", "www.contoso.com", "", "", "/Common/staticFarm"},
		{"/app.jsx", "www.contoso.com", "", "", "/Common/appFarm"},
		{"/", "fabrikam.com", "", "", "/Common/Fabrikam_Farm"},
		{"/cart", "www.fabrikam.com", iphone, "", "/Common/Fabrikam_Farm"},
		{"/cart", "www.fabrikam.com.evil", "", "", "/Common/appFarm"},
		{"/cart", "www.contoso.com", iphone, "", "/Common/mobileFarm"},
		{"/cart", "www.contoso.com", iphone, "desktop=1", "/Common/appFarm"},
		{"/catalog/shoes?legacy=1", "www.contoso.com", "", "", "redirect http://www.contoso.com/shop/"},
		{"/catalog/shoes", "www.contoso.com", "", "", "/Common/appFarm"},
		{"/admin/", "www.contoso.com", "", "", "/Common/appFarm"}, // the REMOTE_ADDR rule was not translated
		{"/cart", "www.contoso.com", "Mozilla/5.0 (Windows NT 10.0)", "ARRAffinity=x", "/Common/appFarm"},
	} {
		hr := httptest.NewRequest("GET", tc.target, nil)
		hr.Host = tc.host
		if tc.ua != "" {
			hr.Header.Set("User-Agent", tc.ua)
		}
		if tc.cookie != "" {
			hr.Header.Set("Cookie", tc.cookie)
		}
		req := policy.FromHTTP(hr, netip.MustParseAddrPort("198.18.1.10:5000"))
		d := comp.Evaluate(&req)
		a, ok := d.Target()
		got := "none"
		switch {
		case ok && a.Kind == config.ActionForwardPool:
			got = a.Forward.Pool
		case ok && a.Kind == config.ActionRedirect:
			got = "redirect " + a.Reply.Location
		}
		if got != tc.want {
			t.Errorf("%s Host %s UA %q cookie %q: %s (rules %v), want %s", tc.target, tc.host, tc.ua, tc.cookie, got, d.Matched, tc.want)
		}
	}
	if p := r.Affinity["appfarm"]; p != "/Common/appFarm_affinity" || r.Config.Persistence[p].CookieName.V != "ARRAffinity_%pool%" {
		t.Errorf("affinity %v", r.Affinity)
	}
}

// TestSampleNotes: every part of the sample lbx cannot translate is
// reported with its line.
func TestSampleNotes(t *testing.T) {
	r := importSample(t)
	var got []string
	for _, n := range r.Notes {
		got = append(got, n.String())
	}
	text := strings.Join(got, "\n")
	for _, want := range []string{
		"line 43: farm appFarm <protocol>: not translated",
		`line 49: server "web3.fabrikam.local" of farm Fabrikam Farm: not an IPv4 address`,
		"line 59: farm mobileFarm algorithm RequestHash",
		"line 62: <applicationRequestRouting> under <webFarms>",
		`line 106: rule "Internal only" condition input "{REMOTE_ADDR}": no policy operand for it; rule skipped`,
		`line 111: rule "No bots on search" match url: pattern "^/search(?!/help)": not a regular expression lbx runs`,
		`line 114: rule "Maintenance" is disabled: skipped`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("notes lack %q:\n%s", want, text)
		}
	}
	if len(got) != 7 {
		t.Errorf("%d notes, want 7:\n%s", len(got), text)
	}
}

func TestImportErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "not an applicationHost.config",
		"<configuration>":  "not XML",
		"<a/>":             "want one <configuration> root element",
		"<configuration/>": "no <webFarms> with a <webFarm>",
		"<configuration><webFarms/></configuration>":                             "no <webFarms>",
		`<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><configuration/>`: "a DOCTYPE is not accepted",
		strings.Repeat("<a>", MaxDepth+2):                                        "nest more than",
	} {
		if _, err := Import([]byte(in), Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Import(%.40q) = %v, want %q", in, err, want)
		}
	}
	if _, err := Import([]byte("<configuration><webFarms><webFarm name='a'/></webFarms></configuration>"), Options{Policy: "bad name"}); err == nil ||
		!strings.Contains(err.Error(), `policy name "bad name"`) {
		t.Errorf("bad policy name: %v", err)
	}
}

func farmWithCookie(ck string) []byte {
	return []byte(`<configuration><webFarms><webFarm name="f"><server address="10.0.0.1"/>` +
		`<applicationRequestRouting><affinity useCookie="true" cookieName="` + ck + `"/></applicationRequestRouting></webFarm></webFarms></configuration>`)
}

// An affinity cookieName that cannot name a cookie is noted and replaced;
// a good one is templated with the pool.
func TestImportAffinityCookieName(t *testing.T) {
	farm := farmWithCookie
	r, err := Import(farm("my aff;x"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := r.Config.Persistence[r.Affinity["f"]]; p == nil || p.CookieName.V != "ARRAffinity_%pool%" || len(r.Notes) != 1 || !strings.Contains(r.Notes[0].What, `cookieName "my aff;x": not a cookie name`) {
		t.Fatalf("bad cookieName: profile %+v, notes %v", p, r.Notes)
	}
	r, err = Import(farm("SiteAff"), Options{})
	if err != nil || r.Config.Persistence[r.Affinity["f"]].CookieName.V != "SiteAff_%pool%" {
		t.Fatalf("good cookieName: %v %+v", err, r)
	}
}

// FuzzImport: whatever parses imports to tmsh that parses and validates.
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.config")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<configuration><webFarms><webFarm name="a b"><server address="10.0.0.1"><applicationRequestRouting weight="300" httpPort="0"/></server></webFarm></webFarms>` +
		`<system.webServer><rewrite><globalRules><rule name="r"><match url="(" /><action type="Rewrite" url="http://a b/{R:0}"/></rule></globalRules></rewrite></system.webServer></configuration>`))
	f.Add(farmWithCookie("a b"))
	f.Add([]byte(`<configuration><webFarms><webFarm name="none"><server address="0.0.0.0"/><server address="224.0.0.1"/><server address="10.0.0.1"/><server address="10.0.0.1"/></webFarm></webFarms></configuration>`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := Import(in, Options{})
		if err != nil {
			return
		}
		checkPushable(t, r, r.Text("fuzz"))
	})
}
