package alteon

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
)

// The Alteon view of a configuration: /cfg/dump, cur and diff print the
// tmsh objects as the menus that set them. What has no Alteon form (a tmsh
// load-balancing mode without a metric, persistence, priority groups, …)
// is printed as a /* lbx: … */ comment, so nothing is hidden; such lines
// are skipped when the dump is pushed back.

// altBlock is one menu of a dump: its path line and its indented commands.
type altBlock struct {
	path  string
	lines []string
}

func (b *altBlock) add(format string, args ...any) {
	b.lines = append(b.lines, fmt.Sprintf(format, args...))
}

func (b *altBlock) note(format string, args ...any) {
	b.lines = append(b.lines, "/* lbx: "+fmt.Sprintf(format, args...)+" */")
}

func (b *altBlock) write(w *strings.Builder) {
	w.WriteString(b.path + "\n")
	for _, l := range b.lines {
		w.WriteString("\t" + l + "\n")
	}
}

// serviceApps names a service's application in its path line, as Alteon
// prints "service 80 http".
var serviceApps = map[uint16]string{21: "ftp", 25: "smtp", 53: "dns", 80: "http", 110: "pop3", 143: "imap", 389: "ldap", 443: "https", 554: "rtsp", 1812: "radius", 5060: "sip"}

func serviceApp(port uint16) string {
	if a, ok := serviceApps[port]; ok {
		return a
	}
	return "basic-slb"
}

// altBlocks is the dump of c, menu by menu, in the order a dump lists
// them: layer 3, then health checks, real servers, groups, virtual servers.
func altBlocks(c *config.Config, drafts map[string]*virtDraft) []altBlock {
	return append(l3Blocks(c), slbBlocks(c, drafts)...)
}

// slbBlocks is the /c/slb part of the dump.
func slbBlocks(c *config.Config, drafts map[string]*virtDraft) []altBlock {
	var out []altBlock
	for _, m := range c.MonitorList() {
		out = append(out, healthBlock(c, m))
	}
	nodes := c.NodeList()
	slices.SortFunc(nodes, func(a, b *config.Node) int { return compareIDs(config.BaseName(a.Name), config.BaseName(b.Name)) })
	for _, n := range nodes {
		out = append(out, realBlock(n))
	}
	ps := c.PoolList()
	slices.SortFunc(ps, func(a, b *config.Pool) int { return compareIDs(config.BaseName(a.Name), config.BaseName(b.Name)) })
	for _, p := range ps {
		out = append(out, groupBlock(p))
	}
	if b, ok := l7StringsBlock(c); ok {
		out = append(out, b)
	}
	virts := map[string][]*config.Virtual{}
	for _, v := range c.VirtualList() {
		id, _ := virtOf(v)
		virts[id] = append(virts[id], v)
	}
	ids := sortedIDs(virts)
	for id := range drafts {
		if virts[id] == nil {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, compareIDs)
	for _, id := range ids {
		out = append(out, virtBlocks(c, id, drafts[id])...)
	}
	return out
}

func healthBlock(c *config.Config, m *config.Monitor) altBlock {
	e := c.EffectiveMonitor(m)
	typ, ok := altHealthType(m.Type)
	b := altBlock{path: "/c/slb/advhc/health " + config.BaseName(m.Name) + " " + typ}
	if !ok {
		b.path = "/* lbx: ltm monitor " + m.Type.String() + " " + m.Name + " has no Alteon health check type */"
		return b
	}
	if m.Description != "" {
		b.add("name %q", m.Description)
	}
	host, port := monitorDest(&e)
	if host != "*" {
		b.add("dest %s", host)
	}
	if port != "*" {
		b.add("dport %s", port)
	}
	if !e.Alteon() {
		b.note("BIG-IP timing: interval %d, timeout %d (no retry/restr)", e.Interval.V, e.Timeout.V)
	} else {
		if e.Interval.V != altDefaultInter {
			b.add("inter %d", e.Interval.V)
		}
		if e.Timeout.V != altDefaultTimeout {
			b.add("timeout %d", e.Timeout.V)
		}
		if e.AlteonRetry.V != altDefaultRetry {
			b.add("retry %d", e.AlteonRetry.V)
		}
		if e.AlteonRestore.V != altDefaultRestr {
			b.add("restr %d", e.AlteonRestore.V)
		}
	}
	if m.Type == config.MonitorTCP && e.CloseCheck.V {
		b.add("closechk legacy")
	}
	if e.Send.V != config.BuiltinMonitor(m.Type.Builtin()).Send.V || e.Recv.V != "" || e.RecvDisable.V != "" {
		b.note("send/recv strings are set in tmsh (list ltm monitor %s %s)", m.Type, m.Name)
	}
	return b
}

func realBlock(n *config.Node) altBlock {
	b := altBlock{path: "/c/slb/real " + config.BaseName(n.Name)}
	b.add("%s", yesNo(n.Session == config.SessionUserDisabled, "dis", "ena"))
	b.add("ipver v4")
	if n.Address.IsValid() {
		b.add("rip %s", n.Address)
	}
	if n.Description != "" {
		b.add("name %q", n.Description)
	}
	if n.ConnectionLimit > 0 {
		b.add("maxcon %d", n.ConnectionLimit)
	}
	if n.State == config.StateUserDown {
		b.note("forced offline (tmsh state user-down)")
	}
	if len(n.Monitor.Names) > 0 {
		b.note("node monitor %s", n.Monitor)
	}
	return b
}

func groupBlock(p *config.Pool) altBlock {
	b := altBlock{path: "/c/slb/group " + config.BaseName(p.Name)}
	b.add("ipver v4")
	metric := ""
	for _, m := range altMetrics {
		if m.mode == p.Mode {
			metric = m.name
		}
	}
	switch metric {
	case "":
		b.note("load-balancing-mode %s has no Alteon metric", p.Mode)
	case "leastconns":
	default:
		b.add("metric %s", metric)
	}
	switch {
	case len(p.Monitor.Names) == 1:
		b.add("health %s", altHealthID(p.Monitor.Names[0]))
	case len(p.Monitor.Names) > 1:
		b.note("monitor %s", p.Monitor)
	}
	if p.Description != "" {
		b.add("name %q", p.Description)
	}
	if p.SlowRampTime != 0 {
		b.add("slowstr %d", p.SlowRampTime)
	}
	var dis []string
	for i := range p.Members {
		m := &p.Members[i]
		id := config.BaseName(m.Node)
		b.add("add %s", id)
		if m.Session == config.SessionUserDisabled {
			dis = append(dis, id)
		}
		if m.Port != memberPort(p) {
			b.note("real %s listens on port %d, the group's others on %d", id, m.Port, memberPort(p))
		}
		if m.PriorityGroup != 0 || m.Ratio != 1 || m.ConnectionLimit != 0 || m.State == config.StateUserDown {
			b.note("member %s: priority-group %d, ratio %d, connection-limit %d, state %s", m.Name(), m.PriorityGroup, m.Ratio, m.ConnectionLimit, m.State)
		}
	}
	for _, id := range dis {
		b.add("dis %s", id)
	}
	if p.MinActiveMembers > 0 {
		b.note("min-active-members %d (priority group activation)", p.MinActiveMembers)
	}
	return b
}

// altHealthID is how a group names a monitor: a predefined check's name
// for a built-in, else the monitor's.
func altHealthID(name string) string {
	for id, t := range altPredefined {
		if t.Builtin() == name {
			return id
		}
	}
	return config.BaseName(name)
}

func virtBlocks(c *config.Config, id string, d *virtDraft) []altBlock {
	vs := virtServices(c, id)
	vb := altBlock{path: "/c/slb/virt " + id}
	disabled, desc, mirror := true, "", false
	var vip string
	switch {
	case len(vs) > 0:
		disabled, desc, mirror = vs[0].Disabled, vs[0].Description, vs[0].Mirror
		if vs[0].Destination.Addr().IsValid() {
			vip = vs[0].Destination.Addr().String()
		}
	case d != nil:
		disabled, desc, mirror = d.disabled, d.name, d.mirror
		if d.vip.IsValid() {
			vip = d.vip.String()
		}
	}
	vb.add("%s", yesNo(disabled, "dis", "ena"))
	vb.add("ipver v4")
	if vip != "" {
		vb.add("vip %s", vip)
	}
	if desc != "" {
		vb.add("vname %q", desc)
	}
	if mirror {
		vb.add("mirror ena")
	}
	out := []altBlock{vb}
	for _, v := range vs {
		port := v.Destination.Port()
		sp := fmt.Sprintf("/c/slb/virt %s/service %d %s", id, port, serviceApp(port))
		sb := altBlock{path: sp}
		if v.Pool != "" {
			sb.add("group %s", config.BaseName(v.Pool))
			if p := c.Pools[v.Pool]; p != nil {
				if rp := memberPort(p); rp != 0 && rp != port {
					sb.add("rport %d", rp)
				}
			}
		}
		if v.Protocol == config.ProtocolUDP {
			sb.add("protocol udp")
		}
		if !v.TranslateAddress {
			sb.add("nonat ena")
		}
		if v.Mirror != mirror {
			sb.note("virtual %s: mirror %s (set in tmsh)", v.Name, yesNo(v.Mirror, "enabled", "disabled"))
		}
		if v.Disabled != disabled || v.Destination.Addr().String() != vip {
			sb.note("virtual %s: destination %s, %s", v.Name, config.FormatDestination(v.Destination), yesNo(v.Disabled, "disabled", "enabled"))
		}
		if len(v.Persist) > 0 {
			sb.note("persistence %s (set in tmsh)", v.Persist[0].Name)
		}
		rules := cntRuleBlocks(c, v, sp, &sb)
		out = append(out, sb)
		if v.SNAT != config.SNATNone {
			pb := altBlock{path: sp + "/pip"}
			pb.add("mode egress")
			out = append(out, pb)
		}
		out = append(out, rules...)
	}
	return out
}

// altDumpText is the whole dump.
func altDumpText(c *config.Config, drafts map[string]*virtDraft) string {
	return altDumpOf(c, drafts, "pending changes included")
}

// altDumpOf is the whole dump of c, saying what it is in its header.
func altDumpOf(c *config.Config, drafts map[string]*virtDraft, what string) string {
	var b strings.Builder
	b.WriteString("script start \"lbx\" 4 /**** DO NOT EDIT THIS LINE!\n")
	b.WriteString("/* Configuration dump of lbx in the Alteon dialect (" + what + ")\n")
	for _, blk := range l3Blocks(c) {
		blk.write(&b)
	}
	b.WriteString("/c/slb\n\ton\n")
	for _, blk := range slbBlocks(c, drafts) {
		blk.write(&b)
	}
	b.WriteString("/\nscript end /**** DO NOT EDIT THIS LINE!\n")
	return b.String()
}

func runAltDump(a *altCtx, _ altFrame, _ []string) (string, error) {
	return altDumpText(a.x.Config(), a.st.drafts), nil
}

// altCur prints the open menu's object (and, for a virt, its services).
func altCur(a *altCtx, f altFrame) string {
	var path string
	switch f.kind {
	case altSLB:
		return altDumpText(a.x.Config(), a.st.drafts)
	case altVirt:
		path = "/c/slb/virt " + f.id
	default:
		path = altMenus[f.kind].path(f)
	}
	var b strings.Builder
	for _, blk := range altBlocks(a.x.Config(), a.st.drafts) {
		// "/c/slb/virt 1/service 80 http/pip" is the menu "/c/slb/virt 1/service 80/pip".
		p := serviceAppRe.ReplaceAllString(blk.path, "$1")
		if p == path || strings.HasPrefix(p, path+"/") || (f.kind == altHealth && strings.HasPrefix(p, path+" ")) {
			blk.write(&b)
		}
	}
	if b.Len() == 0 {
		return "(not configured yet)\n"
	}
	return b.String()
}

var serviceAppRe = regexp.MustCompile(`(/service [0-9]+) [^/]+`)

// altDiff prints the pending changes: each menu that is new or changed in
// cand, and a del for each one gone.
func altDiff(running, cand *config.Config, drafts map[string]*virtDraft) string {
	old := map[string][]string{}
	var order []string
	for _, b := range altBlocks(running, nil) {
		old[b.path] = b.lines
		order = append(order, b.path)
	}
	var out strings.Builder
	seen := map[string]bool{}
	for _, b := range altBlocks(cand, drafts) {
		seen[b.path] = true
		if prev, ok := old[b.path]; ok && slices.Equal(prev, b.lines) || b.path == l3NotesPath {
			continue // unchanged, or only comments
		}
		if b.path == routeBlockPath {
			b.lines = routeDiff(old[b.path], b.lines)
		}
		b.write(&out)
	}
	for _, p := range order {
		switch {
		case seen[p] || strings.HasPrefix(p, "/*") || p == l3NotesPath:
		case p == routeBlockPath:
			(&altBlock{path: p, lines: routeDiff(old[p], nil)}).write(&out)
		case strings.HasSuffix(p, "/pip"):
			out.WriteString(p + "\n\tmode disable\n")
		default:
			out.WriteString(p + "\n\tdel\n")
		}
	}
	if out.Len() == 0 {
		return "No pending changes.\n"
	}
	return out.String()
}

// --- /info/slb ------------------------------------------------------------

// yesNo picks one of two words.
func yesNo(v bool, yes, no string) string {
	if v {
		return yes
	}
	return no
}

func runInfoReal(a *altCtx, _ altFrame, args []string) (string, error) {
	c := a.x.Config()
	view := a.x.view()
	nodes := c.NodeList()
	if len(args) == 1 {
		n := c.Nodes[altName(args[0])]
		if n == nil {
			return "", fmt.Errorf("real %s does not exist", args[0])
		}
		nodes = []*config.Node{n}
	}
	slices.SortFunc(nodes, func(a, b *config.Node) int { return compareIDs(config.BaseName(a.Name), config.BaseName(b.Name)) })
	var b strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&b, "%s: %s, %s\n", config.BaseName(n.Name), n.Address, realState(a.x.src, n))
		for _, p := range c.PoolList() {
			for i := range p.Members {
				m := &p.Members[i]
				if m.Node != n.Name {
					continue
				}
				ms, _ := view.Member(p.Name, m.Name())
				st, why := ms.Status, ms.Reason
				fmt.Fprintf(&b, "    group %s, port %s: %s", config.BaseName(p.Name), altPort(m.Port), st)
				if why != "" {
					b.WriteString(" (" + why + ")")
				}
				b.WriteByte('\n')
			}
		}
	}
	return b.String(), nil
}

func altPort(p uint16) string {
	if p == 0 {
		return "service port"
	}
	return u16(p)
}

func runInfoGroup(a *altCtx, _ altFrame, args []string) (string, error) {
	p := a.x.Config().Pools[altName(args[0])]
	if p == nil {
		return "", fmt.Errorf("group %s does not exist", args[0])
	}
	var b strings.Builder
	health := "none"
	if len(p.Monitor.Names) > 0 {
		health = altHealthID(p.Monitor.Names[0])
		if len(p.Monitor.Names) > 1 {
			health = p.Monitor.String()
		}
	}
	fmt.Fprintf(&b, "%s: metric %s, health %s\n", args[0], groupMetric(p), health)
	view := a.x.view()
	for i := range p.Members {
		m := &p.Members[i]
		ms, _ := view.Member(p.Name, m.Name())
		st, why := ms.Status, ms.Reason
		fmt.Fprintf(&b, "    real %s: %s, %s", config.BaseName(m.Node), m.Address, st)
		if why != "" {
			b.WriteString(", " + why)
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func groupMetric(p *config.Pool) string {
	for _, m := range altMetrics {
		if m.mode == p.Mode {
			return m.name
		}
	}
	return p.Mode.String()
}

func runInfoTrace(a *altCtx, _ altFrame, args []string) (string, error) {
	p := a.x.Config().Pools[altName(args[0])]
	if p == nil {
		return "", fmt.Errorf("group %s does not exist", args[0])
	}
	i := findMemberNode(p, altName(args[1]))
	if i < 0 {
		return "", fmt.Errorf("real %s is not in group %s", args[1], args[0])
	}
	member := p.Members[i].Name()
	tr, ok := a.x.view().Trace(p.Name, member)
	if !ok {
		return "", fmt.Errorf("real %s of group %s is not monitored", args[1], args[0])
	}
	return status.TraceText(p.Name, member, tr), nil
}

// --- /stats/slb ---------------------------------------------------------

// statsHeader and statsRow print the session and octet counters as an
// Alteon's /stats menus do: current and total sessions, then octets.
const statsHeader = "%-28s %10s %10s %14s %14s\n"

func statsRow(b *strings.Builder, what string, t status.Traffic) {
	fmt.Fprintf(b, "%-28s %10d %10d %14d %14d\n", what, t.CurConns, t.TotalConns, t.BytesIn, t.BytesOut)
}

func runStatsVirt(a *altCtx, _ altFrame, args []string) (string, error) {
	vs := virtServices(a.x.Config(), args[0])
	if len(vs) == 0 {
		return "", fmt.Errorf("virt %s has no service", args[0])
	}
	view := a.x.view()
	var b strings.Builder
	fmt.Fprintf(&b, "Virtual server %s stats:\n", args[0])
	fmt.Fprintf(&b, statsHeader, "service", "current", "total", "octets in", "octets out")
	for _, v := range vs {
		st, _ := view.Virtual(v.Name)
		what := fmt.Sprintf("%d %s (%s)", v.Destination.Port(), st.Protocol, st.Availability)
		statsRow(&b, what, st.Traffic)
	}
	return b.String(), nil
}

func runStatsGroup(a *altCtx, _ altFrame, args []string) (string, error) {
	p, ok := a.x.view().Pool(altName(args[0]))
	if !ok {
		return "", fmt.Errorf("group %s does not exist", args[0])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Real server group %s stats:\n", args[0])
	fmt.Fprintf(&b, statsHeader, "real server", "current", "total", "octets in", "octets out")
	for _, m := range p.Members {
		statsRow(&b, fmt.Sprintf("%s %s (%s)", config.BaseName(m.Node), m.Address, m.Status), m.Traffic)
	}
	statsRow(&b, "total", p.Traffic)
	return b.String(), nil
}

func runStatsReal(a *altCtx, _ altFrame, args []string) (string, error) {
	n, ok := a.x.view().Node(altName(args[0]))
	if !ok {
		return "", fmt.Errorf("real %s does not exist", args[0])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Real server %s stats:\n", args[0])
	fmt.Fprintf(&b, statsHeader, "real server", "current", "total", "octets in", "octets out")
	statsRow(&b, fmt.Sprintf("%s %s (%s)", args[0], n.Address, n.Availability), n.Traffic)
	return b.String(), nil
}
