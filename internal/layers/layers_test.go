package layers

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// allowed maps each lbx package to the lbx packages it may import, from
// DESIGN.md's package map. A package missing here fails the test, so a new
// package states its place in the map. "*" allows any lbx package.
var allowed = map[string][]string{
	"lbx/internal/layers":     {},
	"lbx/internal/clock":      {},
	"lbx/internal/spareproc":  {},
	"lbx/internal/prealloc":   {},
	"lbx/internal/atomicfile": {},
	"lbx/internal/nsspawn":    {},
	"lbx/internal/loginlimit": {"lbx/internal/clock"},
	"lbx/internal/pemfile":    {},
	"lbx/pools":               {},
	"lbx/dataplane":           {"lbx/dataplane/csum", "lbx/dataplane/drop", "lbx/dataplane/flowtable", "lbx/dataplane/fragtrack", "lbx/dataplane/l7spec", "lbx/dataplane/neighbor", "lbx/dataplane/program", "lbx/pools"},
	// program is the compiled configuration the engine runs.
	"lbx/dataplane/program": {"lbx/dataplane/l7spec", "lbx/pools"},
	// drop names the reasons frames are dropped, each a counter.
	"lbx/dataplane/drop": {},
	// l7spec is the HTTP virtual's spec the Program carries for the proxy.
	"lbx/dataplane/l7spec":    {"lbx/pools"},
	"lbx/dataplane/flowtable": {"lbx/pools"},
	"lbx/dataplane/fragtrack": {},
	"lbx/dataplane/neighbor":  {},
	"lbx/dataplane/csum":      {},
	// csumtest is the tests' own checksum (csum's tests use it too, so
	// it imports no lbx package).
	"lbx/dataplane/csum/csumtest": {},
	"lbx/dataplane/localstack":    {"lbx/dataplane"},
	"lbx/dataplane/afxdp":         {"lbx/dataplane"},
	"lbx/dataplane/tap":           {"lbx/dataplane", "lbx/dataplane/csum"},
	"lbx/dataplane/porttest":      {"lbx/dataplane"},
	// ha/vrrp is VRRPv3 (packets, state machine); it knows no ports and no
	// config objects.
	"lbx/ha/vrrp": {"lbx/dataplane/csum"},
	// ha joins a VRRP router to the dataplane's gate and hooks.
	"lbx/ha": {"lbx/dataplane", "lbx/ha/vrrp"},
	// ha/trust is the device identity and the pinned mutual TLS that
	// config sync and connection mirroring share.
	"lbx/ha/trust": {},
	// ha/cfgsync is config sync (trust store, generations, TLS exchange);
	// the configuration it syncs is its Local's, so it imports no lbx
	// package but ha/trust and internal/atomicfile (everywhere).
	"lbx/ha/cfgsync": {"lbx/ha/trust"},
	// ha/mirror streams mirrored flows and persistence records between
	// the units' dataplanes, over ha/trust's TLS with config sync's
	// trust store (an interface: it does not import ha/cfgsync).
	"lbx/ha/mirror": {"lbx/dataplane", "lbx/ha/trust", "lbx/pools"},
	"lbx/monitors":  {},
	// l7/proxy is the HTTP full proxy of layer-7 virtuals: it selects
	// from the runtime pools and knows nothing of how it is wired.
	"lbx/l7/proxy":          {"lbx/pools"},
	"lbx/monitors/netprobe": {"lbx/monitors", "lbx/dataplane/localstack"},
	"lbx/ctrlplane/config":  {},
	"lbx/ctrlplane/ctlsock": {},
	"lbx/ctrlplane/compile": {"lbx/ctrlplane/config", "lbx/dataplane", "lbx/dataplane/l7spec", "lbx/l7/policy", "lbx/pools"},
	"lbx/ctrlplane/health":  {"lbx/ctrlplane/config", "lbx/monitors", "lbx/pools"},
	"lbx/ctrlplane/store":   {"lbx/ctrlplane/config", "lbx/ctrlplane/compile", "lbx/dataplane"},
	"lbx/ctrlplane/status":  {"lbx/ctrlplane/config", "lbx/ctrlplane/health", "lbx/dataplane", "lbx/ha/cfgsync", "lbx/monitors", "lbx/pools"},
	"lbx/ctrlplane/tmsh":    {"lbx/ctrlplane/config", "lbx/ctrlplane/store", "lbx/ctrlplane/status", "lbx/ctrlplane/tmsh/conf", "lbx/dataplane", "lbx/ha/cfgsync", "lbx/monitors", "lbx/pools"},
	// tmsh/conf is the bigip.conf language (lexer, stanzas, property
	// tables, printer, the store's Codec): the tmsh commands build on it,
	// and it knows nothing of them, the store or status.
	"lbx/ctrlplane/tmsh/conf": {"lbx/ctrlplane/config"},
	// tmsh/complete completes tmsh lines from tmsh's command table; it is
	// apart from tmsh to keep that package smaller.
	"lbx/ctrlplane/tmsh/complete": {"lbx/ctrlplane/config", "lbx/ctrlplane/tmsh"},
	"lbx/ctrlplane/alteon":        {"lbx/ctrlplane/config", "lbx/ctrlplane/store", "lbx/ctrlplane/status", "lbx/ha/cfgsync", "lbx/monitors"},
	"lbx/ctrlplane":               {"lbx/ctrlplane/alteon", "lbx/ctrlplane/compile", "lbx/ctrlplane/config", "lbx/ctrlplane/ctlsock", "lbx/ctrlplane/status", "lbx/ctrlplane/store", "lbx/ctrlplane/tmsh", "lbx/ctrlplane/tmsh/complete", "lbx/dataplane"},
	"lbx/ctrlplane/rest":          {"lbx/ctrlplane/config", "lbx/ctrlplane/rest/filexfer", "lbx/ctrlplane/rest/icpolicy", "lbx/ctrlplane/store", "lbx/ctrlplane/status", "lbx/ctrlplane/tmsh"},
	"lbx/ctrlplane/rest/icpolicy": {"lbx/ctrlplane/config"},
	// filexfer: iControl REST's file uploads (/mgmt/shared/file-transfer/uploads)
	// and the sys file objects' JSON.
	"lbx/ctrlplane/rest/filexfer": {"lbx/ctrlplane/config"},
	"lbx/ctrlplane/appliance":     {"lbx/l7/proxy", "lbx/l7/policy", "lbx/dataplane/l7spec", "lbx/ctrlplane", "lbx/ctrlplane/rest", "lbx/ctrlplane/compile", "lbx/ctrlplane/config", "lbx/ctrlplane/sshd", "lbx/ctrlplane/ctlsock", "lbx/ctrlplane/health", "lbx/ctrlplane/metrics", "lbx/ctrlplane/status", "lbx/ctrlplane/store", "lbx/ctrlplane/tmsh", "lbx/dataplane", "lbx/dataplane/localstack", "lbx/ha", "lbx/ha/cfgsync", "lbx/ha/mirror", "lbx/monitors", "lbx/monitors/netprobe"},
	"lbx/ctrlplane/sshd":          {"lbx/cli", "lbx/ctrlplane/config", "lbx/ctrlplane/ctlsock"},
	"lbx/ctrlplane/metrics":       {"lbx/ctrlplane/config", "lbx/ctrlplane/status", "lbx/dataplane", "lbx/dataplane/drop", "lbx/monitors"},
	"lbx/ctrlplane/ctrltest":      {"lbx/ctrlplane/compile", "lbx/dataplane", "lbx/pools"},
	"lbx/cli":                     {"lbx/ctrlplane/ctlsock"},
	// farm is `lbx farm`, the SafeKit-style cluster of servers sharing a
	// VIP; xdpfilter is its in-kernel filter.
	"lbx/farm":           {"lbx/farm/xdpfilter"},
	"lbx/farm/xdpfilter": {},
	// l7/policy evaluates the config's local traffic policies on HTTP
	// requests for the proxy.
	"lbx/l7/policy": {"lbx/ctrlplane/config"},
	// arr imports ARR's applicationHost.config, printed as tmsh.
	"lbx/ctrlplane/arr": {"lbx/ctrlplane/config", "lbx/ctrlplane/tmsh/conf"},
	// console is the login on the VM appliance's terminals (ttyS0, tty1).
	// vm builds the appliance disk and runs qemu; vm/guest is the VM's
	// /init side (mounts, modules, data disk, management NIC, power).
	"lbx/ctrlplane/console": {"lbx/cli", "lbx/ctrlplane/config", "lbx/ctrlplane/ctlsock"},
	"lbx/vm":                {},
	"lbx/vm/guest":          {},
	// capture is the testbed's packet capture and decoding.
	"lbx/testbed/capture": {},
	// topo is the testbed's topology file format (YAML), checked.
	"lbx/testbed/topo": {},
	// delaylink is the testbed's latency fault: an AF_PACKET relay.
	"lbx/testbed/delaylink": {},
	// publish relays the appliances' management ports onto the host.
	"lbx/testbed/publish": {},
	// testbed/ethtool sets veth offloads and sysfs files in a namespace.
	"lbx/testbed/ethtool": {},
	"lbx/testbed":         {"*"},
	"lbx/bench":           {"*"},
	"lbx/cmd/lbx":         {"*"},
}

// everywhere are leaf packages any lbx package may import.
var everywhere = []string{"lbx/internal/atomicfile", "lbx/internal/clock", "lbx/internal/loginlimit", "lbx/internal/nsspawn", "lbx/internal/pemfile", "lbx/internal/prealloc", "lbx/internal/spareproc"}

// forbidden are packages that production code (anything but tests and the
// binaries) never imports: the testbed and the test fixtures.
var forbidden = []string{"lbx/testbed", "lbx/cmd/lbx", "lbx/dataplane/porttest", "lbx/ctrlplane/ctrltest", "lbx/dataplane/csum/csumtest"}

// binaries may import the forbidden ones.
var binaries = []string{"lbx/cmd/lbx", "lbx/bench"}

// maxLines is the size (non-test lines) past which a package is a room
// that wants splitting.
const maxLines = 4000

// oversize are packages allowed past maxLines for now, each with its own
// ceiling and the reason. Keep this list short and the ceilings tight: a
// package here is the next one to split.
var oversize = map[string]int{}

type pkg struct {
	path, dir string
	imports   []string
	goFiles   []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{.Dir}}|{{join .Imports \",\"}}|{{join .GoFiles \",\"}}", "lbx/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "|")
		if len(f) != 4 {
			t.Fatalf("go list line %q", sc.Text())
		}
		pkgs = append(pkgs, pkg{path: f[0], dir: f[1], imports: strings.Split(f[2], ","), goFiles: strings.Split(f[3], ",")})
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	return pkgs
}

func TestImportDirections(t *testing.T) {
	for _, p := range listPackages(t) {
		rules, ok := allowed[p.path]
		if !ok {
			t.Errorf("%s: not in the package map of this test (and DESIGN.md): add it with the lbx packages it may import", p.path)
			continue
		}
		for _, imp := range p.imports {
			if !strings.HasPrefix(imp, "lbx/") {
				continue
			}
			if slices.Contains(forbidden, imp) && !slices.Contains(binaries, p.path) {
				t.Errorf("%s imports %s, which only the binaries may", p.path, imp)
			}
			if !slices.Contains(rules, "*") && !slices.Contains(rules, imp) && !slices.Contains(everywhere, imp) {
				t.Errorf("%s imports %s; the package map allows it %v", p.path, imp, rules)
			}
		}
	}
}

func TestPackageShape(t *testing.T) {
	for _, p := range listPackages(t) {
		if _, err := os.Stat(filepath.Join(p.dir, "doc.go")); err != nil && p.path != "lbx/cmd/lbx" && p.path != "lbx/bench" {
			t.Errorf("%s: no doc.go saying what it owns and its goroutines", p.path)
		}
		lines := 0
		for _, f := range p.goFiles {
			b, err := os.ReadFile(filepath.Join(p.dir, f))
			if err != nil {
				t.Fatal(err)
			}
			lines += bytes.Count(b, []byte("\n"))
		}
		limit := maxLines
		if l, ok := oversize[p.path]; ok {
			limit = l
		}
		if lines > limit {
			t.Errorf("%s: %d non-test lines, over %d: split it along the package map", p.path, lines, limit)
		}
	}
}
