package arr

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"lbx/ctrlplane/config"
)

// Options name what Import makes.
type Options struct {
	// Policy is the name of the policy holding the rules (default
	// /Common/arr_rules).
	Policy string
}

// Note is something of the input Import could not translate, at its line.
type Note struct {
	Line int
	What string
}

func (n Note) String() string { return "line " + strconv.Itoa(n.Line) + ": " + n.What }

// Result is what Import made: a config fragment (pools, monitors,
// persistence profiles and the policy, with no virtual server) and what
// it could not translate.
type Result struct {
	Config   *config.Config
	Notes    []Note
	Farms    map[string]string // ARR farm name → pool full name
	Affinity map[string]string // farm → persistence profile, for farms with cookie affinity
}

type importer struct {
	res   *Result
	names map[string]bool // full names taken
}

func (im *importer) note(line int, format string, a ...any) {
	im.res.Notes = append(im.res.Notes, Note{line, fmt.Sprintf(format, a...)})
}

// Import translates an applicationHost.config.
func Import(text []byte, opt Options) (*Result, error) {
	root, err := parseXML(text)
	if err != nil {
		return nil, err
	}
	if opt.Policy == "" {
		opt.Policy = "arr_rules"
	}
	pname, err := config.FullName(opt.Policy)
	if err != nil {
		return nil, fmt.Errorf("policy name %q: %w", opt.Policy, err)
	}
	im := &importer{res: &Result{Config: config.NewConfig(), Farms: map[string]string{}, Affinity: map[string]string{}}, names: map[string]bool{}}
	farms := root.child("webFarms")
	if farms == nil || len(farms.all("webFarm")) == 0 {
		return nil, fmt.Errorf("no <webFarms> with a <webFarm>: nothing to import")
	}
	for _, f := range farms.all("webFarm") {
		im.farm(f)
	}
	for _, c := range farms.children {
		if c.name != "webFarm" {
			im.note(c.line, "<%s> under <webFarms> (server-wide ARR settings): not translated", c.name)
		}
	}
	rules := root.path("system.webServer", "rewrite", "globalRules")
	if rules != nil {
		im.rules(rules, pname)
	}
	slices.SortStableFunc(im.res.Notes, func(a, b Note) int { return a.Line - b.Line })
	return im.res, nil
}

// name makes a free name from an ARR name: characters tmsh refuses become
// '_', and a suffix keeps it unique.
func (im *importer) name(s, suffix string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' && i > 0 {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	base := b.String()
	if base == "" || base == "none" || base == "all" {
		base = "farm_" + base
	}
	if len(base) > 200 {
		base = base[:200]
	}
	base += suffix
	full := "/" + config.CommonPartition + "/" + base
	for i := 2; im.names[full]; i++ {
		full = "/" + config.CommonPartition + "/" + base + "_" + strconv.Itoa(i)
	}
	im.names[full] = true
	return full
}

// algorithms maps ARR's load-balancing algorithms onto pool methods.
var algorithms = map[string]config.LBMode{
	"WeightedRoundRobin":   config.LBRatioMember,
	"LeastRequests":        config.LBLeastConnectionsMember,
	"LeastResponseTime":    config.LBFastestAppResponse,
	"WeightedTotalTraffic": config.LBRatioMember,
}

func (im *importer) farm(f *node) {
	name := f.attr("name")
	if name == "" {
		im.note(f.line, "<webFarm> without a name: skipped")
		return
	}
	if f.attr("enabled") == "false" {
		im.note(f.line, "webFarm %q is disabled: skipped", name)
		return
	}
	pool := config.NewPool(im.name(name, ""))
	pool.Description = "ARR web farm " + name
	im.res.Farms[strings.ToLower(name)] = pool.Name
	arr := f.child("applicationRequestRouting")
	weights := map[uint32]bool{}
	for _, s := range f.all("server") {
		addr, err := netip.ParseAddr(s.attr("address"))
		if err != nil || !addr.Is4() {
			im.note(s.line, "server %q of farm %s: not an IPv4 address (host names are not resolved): skipped", s.attr("address"), name)
			continue
		}
		if why := config.HostAddressProblem(addr); why != "" {
			im.note(s.line, "server %s of farm %s: %s: skipped", addr, name, why)
			continue
		}
		port := uint16(80)
		sa := s.child("applicationRequestRouting")
		if p := sa.attrOr("httpPort", ""); p != "" {
			n, err := strconv.ParseUint(p, 10, 16)
			if err != nil || n == 0 {
				im.note(sa.line, "server %s httpPort %q: not a port: skipped", addr, p)
				continue
			}
			port = uint16(n)
		}
		m := config.NewMember("/"+config.CommonPartition+"/"+addr.String(), port)
		m.Address = addr
		if w := sa.attrOr("weight", ""); w != "" {
			n, err := strconv.ParseUint(w, 10, 32)
			switch {
			case err != nil:
				im.note(sa.line, "server %s weight %q: not a number: ratio 1", addr, w)
			case n == 0:
				im.note(sa.line, "server %s weight 0: ratio 1, member disabled", addr)
				m.Session = config.SessionUserDisabled
			default:
				m.Ratio = uint32(min(n, 100))
				if n > 100 {
					im.note(sa.line, "server %s weight %d: ratio 100 (the most a member takes)", addr, n)
				}
			}
		}
		weights[m.Ratio] = true
		if s.attr("enabled") == "false" {
			m.Session = config.SessionUserDisabled
		}
		if pool.FindMember(m.Node, m.Port) >= 0 {
			im.note(s.line, "server %s:%d of farm %s: listed twice", addr, port, name)
			continue
		}
		pool.Members = append(pool.Members, m)
	}
	if lb := arr.child("loadBalancing"); lb != nil {
		alg := lb.attr("algorithm")
		mode, ok := algorithms[alg]
		switch {
		case alg == "" || alg == "WeightedRoundRobin" && len(weights) <= 1:
			pool.Mode = config.LBRoundRobin
		case ok:
			pool.Mode = mode
			if alg == "WeightedTotalTraffic" {
				im.note(lb.line, "farm %s algorithm WeightedTotalTraffic: ratio-member (weights of requests, not of bytes)", name)
			}
		case alg == "RequestHash":
			pool.Mode = config.LBSourceAddressHash
			im.note(lb.line, "farm %s algorithm RequestHash (hash of %s): source-address-hash (lbx hashes the client address, not a server variable)", name, lb.attrOr("hashServerVariable", "the URL"))
		default:
			im.note(lb.line, "farm %s algorithm %q: unknown; round-robin", name, alg)
		}
	}
	if hc := arr.child("healthCheck"); hc != nil && hc.attr("url") != "" {
		if m := im.monitor(name, hc); m != nil {
			im.res.Config.Monitors[m.Name] = m
			pool.Monitor = config.MonitorRule{Names: []string{m.Name}}
		}
	}
	if af := arr.child("affinity"); af != nil && af.attr("useCookie") == "true" {
		// ARR's affinity is the farm's own: its cookie is named after the
		// pool (cookie-name's %pool%), so the farms a virtual's policy
		// forwards to do not overwrite one another's cookie, as one fixed
		// name shared by the virtual's pools would.
		ck := af.attrOr("cookieName", "ARRAffinity")
		if !cookieToken(ck) {
			im.note(af.line, "farm %s affinity cookieName %q: not a cookie name; ARRAffinity used", name, ck)
			ck = "ARRAffinity"
		}
		p := &config.Persistence{Name: im.name(name, "_affinity"), Type: config.PersistCookie, DefaultsFrom: config.PersistCookie.Builtin(),
			Description: "ARR server affinity of farm " + name,
			Method:      config.Some("insert"), CookieName: config.Some(ck + "_%pool%")}
		im.res.Config.Persistence[p.Name] = p
		im.res.Affinity[strings.ToLower(name)] = p.Name
	}
	for _, c := range arr.kids() {
		switch c.name {
		case "loadBalancing", "healthCheck", "affinity":
		default:
			im.note(c.line, "farm %s <%s>: not translated", name, c.name)
		}
	}
	im.res.Config.Pools[pool.Name] = pool
}

// kids is n's children; none for a nil n.
func (n *node) kids() []*node {
	if n == nil {
		return nil
	}
	return n.children
}

func (n *node) attrOr(name, def string) string {
	if n == nil || !n.hasAttr(name) {
		return def
	}
	return n.attr(name)
}

// monitor makes an http monitor from a farm's health test: the URL's path
// and host in the request, responseMatch as the receive string.
func (im *importer) monitor(farm string, hc *node) *config.Monitor {
	u, err := url.Parse(hc.attr("url"))
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		im.note(hc.line, "farm %s healthCheck url %q: want http://HOST/PATH: no monitor", farm, hc.attr("url"))
		return nil
	}
	m := &config.Monitor{Name: im.name(farm, "_health"), Type: config.MonitorHTTP, Description: "ARR health test of farm " + farm}
	if u.Scheme == "https" {
		// ARR tests an https URL on the servers' httpsPort (443 unless
		// set); the members are their httpPort.
		m.Type = config.MonitorHTTPS
		m.Destination = config.Some("*:443")
	}
	m.DefaultsFrom = m.Type.Builtin()
	path := u.RequestURI()
	m.Send = config.Some("GET " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nConnection: close\r\n\r\n")
	if r := hc.attr("responseMatch"); r != "" {
		m.Recv = config.Some(regexp.QuoteMeta(r)) // ARR looks for the text in the body
	} else {
		m.Recv = config.Some("^HTTP/1\\.[01] 200")
	}
	interval := uint32(30) // ARR's default
	if s := hc.attr("interval"); s != "" {
		if d, ok := parseTimeSpan(s); ok && d >= time.Second {
			interval = uint32(d / time.Second)
		} else {
			im.note(hc.line, "farm %s healthCheck interval %q: want hh:mm:ss; %d s", farm, s, interval)
		}
	}
	m.Interval = config.Some(interval)
	// ARR marks a server unhealthy at the first failed test; BIG-IP's
	// rule of thumb is three intervals and a second.
	m.Timeout = config.Some(3*interval + 1)
	if s := hc.attr("timeout"); s != "" {
		if d, ok := parseTimeSpan(s); ok && uint32(d/time.Second) > m.Timeout.V {
			m.Timeout = config.Some(uint32(d / time.Second))
		}
	}
	return m
}

// parseTimeSpan reads a .NET TimeSpan, [d.]hh:mm:ss.
func parseTimeSpan(s string) (time.Duration, bool) {
	var days int64
	if d, rest, ok := strings.Cut(s, "."); ok && strings.Count(d, ":") == 0 {
		n, err := strconv.ParseInt(d, 10, 32)
		if err != nil {
			return 0, false
		}
		days, s = n, rest
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, false
	}
	var v [3]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f < 0 {
			return 0, false
		}
		v[i] = f
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(v[0])*time.Hour + time.Duration(v[1])*time.Minute + time.Duration(v[2]*float64(time.Second))
	return d, d >= 0 && d < 24*365*time.Hour
}

// farmTarget matches the Rewrite URL of an ARR routing rule.
var farmTarget = regexp.MustCompile(`^(?i:https?)://([^/{}]+)/\{R:0\}$`)

// inputs maps URL Rewrite server variables onto condition operands.
func inputCondition(input string) (config.PolicyCondition, bool) {
	v := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(input), "{"), "}")
	switch strings.ToUpper(v) {
	case "HTTP_HOST", "SERVER_NAME":
		return config.PolicyCondition{Operand: config.OperandHTTPHost}, true
	case "URL", "PATH_INFO":
		return config.PolicyCondition{Operand: config.OperandHTTPURI, Selector: "path"}, true
	case "REQUEST_URI":
		return config.PolicyCondition{Operand: config.OperandHTTPURI}, true
	case "QUERY_STRING":
		return config.PolicyCondition{Operand: config.OperandHTTPURI, Selector: "query-string"}, true
	case "HTTP_USER_AGENT":
		return config.PolicyCondition{Operand: config.OperandHTTPUserAgent}, true
	case "HTTP_COOKIE":
		return config.PolicyCondition{Operand: config.OperandHTTPHeader, Name: "Cookie"}, true
	case "REQUEST_METHOD":
		return config.PolicyCondition{Operand: config.OperandHTTPMethod}, true
	}
	if h, ok := strings.CutPrefix(strings.ToUpper(v), "HTTP_"); ok && h != "" && input == "{"+v+"}" {
		// Any other request header: HTTP_X_FORWARDED_PROTO is X-Forwarded-Proto.
		return config.PolicyCondition{Operand: config.OperandHTTPHeader, Name: strings.ReplaceAll(h, "_", "-")}, true
	}
	return config.PolicyCondition{}, false
}

// pattern fills c's comparison from a URL Rewrite pattern in its syntax;
// urlMatch says it is the rule's <match url>, which IIS compares with the
// path without its leading '/'.
func pattern(c *config.PolicyCondition, syntax, pat string, urlMatch bool) error {
	switch strings.ToLower(syntax) {
	case "", "ecmascript":
		if urlMatch && strings.HasPrefix(pat, "^") {
			pat = "^/" + pat[1:]
		}
		if _, err := regexp.Compile(pat); err != nil {
			return fmt.Errorf("pattern %q: not a regular expression lbx runs (RE2 syntax: no look-around or back-references): %v", pat, err)
		}
		c.Op, c.Values = config.OpMatches, []string{pat}
	case "wildcard":
		lead := ""
		if urlMatch {
			lead = "/"
		}
		inner := strings.Trim(pat, "*")
		switch {
		case !strings.ContainsAny(inner, "*?") && len(pat) >= 2 && pat[0] == '*' && pat[len(pat)-1] == '*':
			c.Op, c.Values = config.OpContains, []string{inner}
		case !strings.ContainsAny(inner, "*?") && strings.HasPrefix(pat, "*") && inner != "":
			c.Op, c.Values = config.OpEndsWith, []string{inner}
		case !strings.ContainsAny(inner, "*?") && strings.HasSuffix(pat, "*") && inner != "":
			c.Op, c.Values = config.OpStartsWith, []string{lead + inner}
		case !strings.ContainsAny(pat, "*?"):
			c.Op, c.Values = config.OpEquals, []string{lead + pat}
		default:
			var b strings.Builder
			b.WriteString("^" + regexp.QuoteMeta(lead))
			for _, r := range pat {
				switch r {
				case '*':
					b.WriteString(".*")
				case '?':
					b.WriteString(".")
				default:
					b.WriteString(regexp.QuoteMeta(string(r)))
				}
			}
			b.WriteString("$")
			c.Op, c.Values = config.OpMatches, []string{b.String()}
		}
	case "exactmatch":
		if urlMatch {
			pat = "/" + pat
		}
		c.Op, c.Values = config.OpEquals, []string{pat}
	default:
		return fmt.Errorf("patternSyntax %q: want ECMAScript, Wildcard or ExactMatch", syntax)
	}
	return nil
}

// matchesEverything reports whether a url match takes every request.
func matchesEverything(syntax, pat string) bool {
	switch strings.ToLower(syntax) {
	case "", "ecmascript":
		return pat == ".*" || pat == "(.*)" || pat == "^(.*)$" || pat == "^.*$" || pat == ""
	case "wildcard":
		return strings.Trim(pat, "*") == ""
	}
	return false
}

func (im *importer) rules(rules *node, pname string) {
	pol := config.NewPolicy(pname)
	pol.Description = "ARR URL Rewrite global rules"
	pol.Requires, pol.Controls = []string{"http"}, []string{"forwarding"}
	ordinal := uint32(1)
	stopAll := true
	for _, r := range rules.all("rule") {
		name := r.attr("name")
		if r.attr("enabled") == "false" {
			im.note(r.line, "rule %q is disabled: skipped", name)
			continue
		}
		syntax := r.attrOr("patternSyntax", "ECMAScript")
		act := r.child("action")
		if act == nil {
			im.note(r.line, "rule %q has no <action>: skipped", name)
			continue
		}
		action, ok := im.action(name, act)
		if !ok {
			continue
		}
		var common []config.PolicyCondition
		if m := r.child("match"); m != nil {
			if m.hasAttr("serverVariable") {
				im.note(m.line, "rule %q matches server variable %s: not translated; rule skipped", name, m.attr("serverVariable"))
				continue
			}
			pat := m.attr("url")
			if !matchesEverything(syntax, pat) || m.attr("negate") == "true" {
				c := config.PolicyCondition{Operand: config.OperandHTTPURI, Selector: "path", Not: m.attr("negate") == "true", CaseSensitive: m.attr("ignoreCase") == "false"}
				if err := pattern(&c, syntax, pat, true); err != nil {
					im.note(m.line, "rule %q match url: %v; rule skipped", name, err)
					continue
				}
				common = append(common, c)
			}
		}
		conds := r.child("conditions")
		var each []config.PolicyCondition
		bad := false
		for _, a := range conds.all("add") {
			c, ok := inputCondition(a.attr("input"))
			if !ok {
				im.note(a.line, "rule %q condition input %q: no policy operand for it; rule skipped", name, a.attr("input"))
				bad = true
				break
			}
			if mt := a.attr("matchType"); mt != "" && !strings.EqualFold(mt, "Pattern") {
				im.note(a.line, "rule %q condition matchType %s: not translated; rule skipped", name, mt)
				bad = true
				break
			}
			c.Not = a.attr("negate") == "true"
			c.CaseSensitive = a.attr("ignoreCase") == "false"
			if err := pattern(&c, syntax, a.attr("pattern"), false); err != nil {
				im.note(a.line, "rule %q condition %s: %v; rule skipped", name, a.attr("input"), err)
				bad = true
				break
			}
			if err := config.CheckCondition(&c); err != nil {
				im.note(a.line, "rule %q condition %s: %v; rule skipped", name, a.attr("input"), err)
				bad = true
				break
			}
			each = append(each, c)
		}
		if bad {
			continue
		}
		if r.attr("stopProcessing") != "true" {
			stopAll = false
		}
		base := ruleName(name)
		if strings.EqualFold(conds.attrOr("logicalGrouping", "MatchAll"), "MatchAny") && len(each) > 1 {
			// One policy rule per alternative, each with the url match.
			for i, c := range each {
				pr := config.PolicyRule{Name: uniqueRule(pol, base+"_"+strconv.Itoa(i+1)), Ordinal: ordinal, Description: "ARR rule " + name + " (MatchAny)",
					Conditions: append(slices.Clone(common), c), Actions: []config.PolicyAction{action}}
				pol.Rules = append(pol.Rules, pr)
				ordinal++
			}
			continue
		}
		pr := config.PolicyRule{Name: uniqueRule(pol, base), Ordinal: ordinal, Description: "ARR rule " + name,
			Conditions: append(common, each...), Actions: []config.PolicyAction{action}}
		pol.Rules = append(pol.Rules, pr)
		ordinal++
	}
	if !stopAll {
		im.note(rules.line, "rules without stopProcessing: the policy is first-match, so the first matching rule routes (ARR would go on to later rules)")
	}
	for _, c := range rules.children {
		if c.name != "rule" {
			im.note(c.line, "<%s> in <globalRules>: not translated", c.name)
		}
	}
	if len(pol.Rules) > 0 {
		im.res.Config.Policies[pol.Name] = pol
	}
}

// action translates a rule's action: Rewrite to a farm forwards to its
// pool; Redirect replies; AbortRequest resets.
func (im *importer) action(rule string, a *node) (config.PolicyAction, bool) {
	typ := a.attrOr("type", "None")
	u := a.attr("url")
	switch strings.ToLower(typ) {
	case "rewrite":
		m := farmTarget.FindStringSubmatch(u)
		if m == nil {
			im.note(a.line, "rule %q action Rewrite url %q: only http://FARM/{R:0} (routing to a farm) is translated; rule skipped", rule, u)
			return config.PolicyAction{}, false
		}
		pool, ok := im.res.Farms[strings.ToLower(m[1])]
		if !ok {
			im.note(a.line, "rule %q action Rewrite to %q: no such web farm; rule skipped", rule, m[1])
			return config.PolicyAction{}, false
		}
		return config.PolicyAction{Kind: config.ActionForwardPool, Pool: pool}, true
	case "redirect":
		if u == "" || strings.ContainsFunc(u, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			im.note(a.line, "rule %q action Redirect url %q: want a URL on one line; rule skipped", rule, u)
			return config.PolicyAction{}, false
		}
		if strings.Contains(u, "{") {
			im.note(a.line, "rule %q action Redirect url %q: back-references ({R:n}, {C:n}, server variables) are not translated; rule skipped", rule, u)
			return config.PolicyAction{}, false
		}
		return config.PolicyAction{Kind: config.ActionRedirect, Location: u}, true
	case "abortrequest":
		return config.PolicyAction{Kind: config.ActionReset}, true
	}
	im.note(a.line, "rule %q action type %s: not translated; rule skipped", rule, typ)
	return config.PolicyAction{}, false
}

// ruleName makes a rule name tmsh takes from an ARR rule's name.
func ruleName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 200; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' && b.Len() > 0 {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 || b.String() == "none" || b.String() == "all" {
		return "rule_" + b.String()
	}
	return b.String()
}

func uniqueRule(p *config.Policy, name string) string {
	taken := func(n string) bool {
		return slices.ContainsFunc(p.Rules, func(r config.PolicyRule) bool { return r.Name == n })
	}
	out := name
	for i := 2; taken(out); i++ {
		out = name + "_" + strconv.Itoa(i)
	}
	return out
}

// cookieToken reports whether s can name a cookie (an HTTP token).
func cookieToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}
