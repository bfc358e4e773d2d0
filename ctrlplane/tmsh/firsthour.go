package tmsh

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"lbx/ctrlplane/status"
	"lbx/ctrlplane/tmsh/conf"
)

// firstHourCommands are the tmsh commands an admin types first that are not
// one per object kind: monitors without their type, whole-module lists,
// the running config, the version, the partition.
var firstHourCommands = []Command{
	{Verb: "list", Module: "ltm", Kind: "monitor", Args: "[NAME|GLOB …] [PROPERTY …] [all-properties] [one-line]", Help: "print monitors of every type", ReadOnly: true, obj: anyMonitorKind, run: runListMonitor},
	{Verb: "show", Module: "ltm", Kind: "monitor", Args: "[NAME|GLOB …]", Help: "monitor settings and the members it checks, every type", ReadOnly: true, obj: anyMonitorKind, run: runShowMonitorAny},
	{Verb: "list", Module: "net", Args: "[all-properties] [one-line] [recursive]", Help: "print the whole net configuration", ReadOnly: true, run: runListAll},
	{Verb: "list", Module: "auth", Args: "[all-properties] [one-line] [recursive]", Help: "print the whole auth configuration", ReadOnly: true, run: runListAll},
	{Verb: "list", Module: "sys", Args: "[all-properties] [one-line] [recursive]", Help: "print the sys stanzas kept from a loaded configuration", ReadOnly: true, run: runListAll},
	{Verb: "show", Module: "running-config", Args: "[all-properties] [one-line] [recursive]", Help: "print the whole running configuration", ReadOnly: true, run: runListAll},
	{Verb: "show", Module: "sys", Kind: "version", Help: "lbx's version", ReadOnly: true, run: runShowVersion},
	{Verb: "cd", Module: "/Common", Help: "change to a partition (lbx has /Common only)", ReadOnly: true, run: runCd},
}

// runShowVersion prints lbx's build as BIG-IP prints its version.
func runShowVersion(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	if !args.Done() {
		t := args.Next()
		return "", conf.LineErrorf(t.Line, "show sys version: unexpected %s", t.Describe())
	}
	v := status.BuildVersion()
	var b strings.Builder
	b.WriteString("\nSys::Version\nMain Package\n")
	row := func(k, v string) { fmt.Fprintf(&b, "  %-9s %s\n", k, v) }
	row("Product", v.Product)
	row("Version", v.Version)
	row("Build", v.Build)
	row("Edition", v.Edition)
	row("Date", v.Date)
	b.WriteByte('\n')
	return b.String(), nil
}

// runCd accepts the one partition lbx has.
func runCd(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	if !args.Done() {
		t := args.Next()
		return "", conf.LineErrorf(t.Line, "cd: unexpected %s", t.Describe())
	}
	return "", nil
}

// cdOther answers `cd /PARTITION` for any partition but /Common (and a
// bare `cd`, which goes to /Common as in tmsh); ok is false when st is
// no cd.
func cdOther(st conf.Statement) (ok bool, err error) {
	if !st.Toks[0].IsWord("cd") {
		return false, nil
	}
	if len(st.Toks) == 1 {
		return true, nil
	}
	t := st.Toks[1]
	if len(st.Toks) == 2 && (t.Kind == conf.TokWord || t.Kind == conf.TokString) {
		p := strings.TrimSuffix(t.Text, "/")
		if p == "/Common" || p == "Common" || p == "/" || p == "" {
			return true, nil
		}
		return true, conf.LineErrorf(t.Line, "cd %s: partitions other than /Common are not implemented in lbx", t.Text)
	}
	return true, conf.LineErrorf(t.Line, "cd: want /PARTITION, got %s", t.Describe())
}

// isQuit reports whether st is quit or exit, which leave the interactive
// shell (cli/ handles them there). In a script or a -c text they end
// nothing more than the text itself does, so they are accepted and do
// nothing, as the last line of a tmsh script often is quit.
func isQuit(st conf.Statement) bool {
	return len(st.Toks) == 1 && (st.Toks[0].IsWord("quit") || st.Toks[0].IsWord("exit"))
}

// notImplemented answers a command lookup that failed (with lookupErr) with
// what the words are in tmsh and that lbx does not implement them; nil when
// they are not a known tmsh command (the lookup's error stands).
func notImplemented(st conf.Statement, lookupErr error) error {
	var w []string
	for _, t := range st.Toks {
		if t.Kind != conf.TokWord {
			break
		}
		w = append(w, t.Text)
		if len(w) == 3 {
			break
		}
	}
	if len(w) == 0 {
		return nil
	}
	line := st.Toks[0].Line
	if _, ok := tmshModuleNames[w[0]]; ok && len(st.Toks) == 1 {
		return conf.LineErrorf(line, "%s: entering a module is not implemented in lbx; type whole commands (list %s …)", w[0], w[0])
	}
	if what, ok := tmshVerbs[w[0]]; ok {
		return conf.LineErrorf(line, "%s (%s): not implemented in lbx", w[0], what)
	}
	if !slices.Contains(lbxVerbs, w[0]) || len(w) < 2 {
		return nil
	}
	what, ok := tmshModuleNames[w[1]]
	if !ok {
		return nil
	}
	if kinds, ok := tmshKinds[w[1]]; ok {
		// A module lbx has: only the kinds tmsh has are answered so;
		// for others the lookup's error (what lbx takes) stands.
		if len(w) < 3 || !slices.Contains(kinds, w[2]) {
			return nil
		}
		if w[0] == "list" {
			return conf.LineErrorf(line, "%s: not implemented in lbx (stanzas of this kind in a loaded configuration are kept and listed; there are none)", strings.Join(w, " "))
		}
		var le *conf.LineError
		if errors.As(lookupErr, &le) {
			lookupErr = le.Err
		}
		return conf.LineErrorf(line, "%s: not implemented in lbx (%v)", strings.Join(w, " "), lookupErr)
	}
	said := strings.Join(w[:2], " ")
	if len(w) == 3 {
		said = strings.Join(w, " ")
	}
	return conf.LineErrorf(line, "%s: %s: not implemented in lbx", said, what)
}

// tmshKinds are, for the modules lbx implements some kinds of, the common
// tmsh kinds it does not (or not with that verb).
var tmshKinds = map[string][]string{
	"ltm": {"rule", "profile", "policy", "data-group", "snat", "nat", "ifile", "virtual-address", "snat-translation",
		"default-node-monitor", "auth", "dns", "message-routing", "lsn-pool", "cipher", "tacdb", "global-settings", "classification"},
	"net": {"vlan", "interface", "trunk", "route-domain", "tunnels", "arp", "ndp", "dns-resolver", "packet-filter",
		"rate-shaping", "stp", "lldp", "fdb", "ipsec", "bwc", "cos", "port-mirror", "self-allow", "timer-policy"},
	"sys": {"global-settings", "ntp", "dns", "syslog", "provision", "httpd", "sshd", "management-ip", "management-route",
		"software", "license", "hardware", "db", "failover", "ha-group", "folder", "ucs", "crypto", "file", "icall",
		"snmp", "smtp-server", "log-config", "performance", "service", "cpu", "memory", "disk", "connection", "clock", "application", "sflow"},
	"auth": {"partition", "password-policy", "remote-role", "remote-user", "ldap", "radius", "tacacs", "source"},
	"cli":  {"alias", "script", "history", "global-settings", "admin-partitions"},
}

// lbxVerbs are the tmsh verbs lbx has for some objects.
var lbxVerbs = []string{"list", "show", "create", "modify", "delete", "load", "save", "submit", "reset-stats"}

// tmshVerbs are tmsh verbs lbx has for no object, with what they do.
var tmshVerbs = map[string]string{
	"run":      "run a utility or script",
	"tmsh":     "start a nested tmsh",
	"edit":     "edit objects in a text editor",
	"install":  "install software or a license",
	"reboot":   "restart the system",
	"restart":  "restart a service",
	"start":    "start a service",
	"stop":     "stop a service",
	"generate": "generate keys or configuration",
	"mv":       "rename an object",
	"publish":  "publish a policy",
	"mkdir":    "create a folder",
	"rmdir":    "delete a folder",
	"ls":       "list folder contents",
	"pwd":      "print the partition",
}

// tmshModuleNames are what tmsh's module words are.
var tmshModuleNames = map[string]string{
	"ltm":       "local traffic manager (ltm)",
	"sys":       "system (sys)",
	"net":       "network (net)",
	"auth":      "authentication (auth)",
	"cli":       "CLI settings (cli)",
	"cm":        "device management and config sync (cm)",
	"gtm":       "global traffic manager (gtm)",
	"apm":       "access policy manager (apm)",
	"asm":       "application security manager (asm)",
	"security":  "advanced firewall and security (security)",
	"pem":       "policy enforcement manager (pem)",
	"analytics": "application visibility and reporting (analytics)",
	"ilx":       "iRules LX (ilx)",
	"wom":       "WAN optimization (wom)",
	"vcmp":      "virtual clustered multiprocessing (vcmp)",
	"util":      "utilities (util)",
	"gslb":      "global server load balancing (gslb)",
}
