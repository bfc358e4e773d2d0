package metrics

import (
	"net/http"
	"time"

	"lbx/dataplane/drop"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/monitors"
)

// Config is the configuration store (*store.Store has it).
type Config interface {
	// Running returns a copy of the running configuration.
	Running() *config.Config
	// LastApply returns the version and time of the last apply.
	LastApply() (version uint64, at time.Time)
}

// Dataplane is the engine's flow table and drop counters
// (*dataplane.Engine has them).
type Dataplane interface {
	Flows() int
	FlowCapacity() int
	Drops(r drop.Reason) uint64
}

// Monitors is the monitor engine's view by check (*health.Monitoring has
// it).
type Monitors interface {
	// PoolMemberStatus is a member's pool monitors' status; ok is false
	// when its pool has no monitor.
	PoolMemberStatus(pool, member string) (monitors.MemberStatus, bool)
	// NodeStatus is a node's own monitors' status; ok is false when the
	// node has none.
	NodeStatus(node string) (monitors.MemberStatus, bool)
	ProbeLatencies() []monitors.Latency
}

// Sources are what a Collector reads. Config is required; the others may
// be nil, and their metrics are then absent.
type Sources struct {
	Config    Config
	Status    status.Sources
	Dataplane Dataplane
	Monitors  Monitors
}

// Collector is a prometheus.Collector of the appliance's state.
type Collector struct{ src Sources }

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector reading src.
func NewCollector(src Sources) *Collector { return &Collector{src: src} }

// Handler returns the /metrics handler: a registry of its own with a
// Collector over src and the Go runtime and process collectors.
func Handler(src Sources) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewCollector(src),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// traffic are the counters every virtual, pool and member has, in the
// order of trafficValues.
type traffic struct {
	conns, connsTotal, pktsIn, pktsOut, bytesIn, bytesOut *prometheus.Desc
}

func newTraffic(object, what string, labels ...string) traffic {
	d := func(name, help string, vt ...string) *prometheus.Desc {
		return prometheus.NewDesc("lbx_"+object+"_"+name, help+" "+what+".", labels, nil)
	}
	return traffic{
		conns:      d("connections", "Current connections of the"),
		connsTotal: d("connections_total", "Connections opened through the"),
		pktsIn:     d("in_packets_total", "Packets from clients (towards the servers) of the"),
		pktsOut:    d("out_packets_total", "Packets towards clients (from the servers) of the"),
		bytesIn:    d("in_bytes_total", "Bytes from clients (towards the servers) of the"),
		bytesOut:   d("out_bytes_total", "Bytes towards clients (from the servers) of the"),
	}
}

func (t traffic) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{t.conns, t.connsTotal, t.pktsIn, t.pktsOut, t.bytesIn, t.bytesOut} {
		ch <- d
	}
}

func (t traffic) collect(ch chan<- prometheus.Metric, tr status.Traffic, labels ...string) {
	ch <- prometheus.MustNewConstMetric(t.conns, prometheus.GaugeValue, float64(tr.CurConns), labels...)
	ch <- prometheus.MustNewConstMetric(t.connsTotal, prometheus.CounterValue, float64(tr.TotalConns), labels...)
	ch <- prometheus.MustNewConstMetric(t.pktsIn, prometheus.CounterValue, float64(tr.PktsIn), labels...)
	ch <- prometheus.MustNewConstMetric(t.pktsOut, prometheus.CounterValue, float64(tr.PktsOut), labels...)
	ch <- prometheus.MustNewConstMetric(t.bytesIn, prometheus.CounterValue, float64(tr.BytesIn), labels...)
	ch <- prometheus.MustNewConstMetric(t.bytesOut, prometheus.CounterValue, float64(tr.BytesOut), labels...)
}

var (
	virtualTraffic = newTraffic("virtual", "virtual server", "virtual")
	poolTraffic    = newTraffic("pool", "pool (its members' summed)", "pool")
	memberTraffic  = newTraffic("member", "pool member", "pool", "member")
	nodeTraffic    = newTraffic("node", "node (its installed pool members' summed)", "node")

	virtualAvailability = prometheus.NewDesc("lbx_virtual_availability",
		"Availability of the virtual server (state set: 1 for the current availability, available, offline or unknown; it follows its pool's, as on BIG-IP).",
		[]string{"virtual", "availability"}, nil)
	virtualEnabled = prometheus.NewDesc("lbx_virtual_enabled",
		"1 when the virtual server is enabled, 0 when disabled.", []string{"virtual"}, nil)
	httpRequests = prometheus.NewDesc("lbx_http_requests_total",
		"Requests read by the HTTP virtual server's proxy.", []string{"virtual"}, nil)
	httpResponses = prometheus.NewDesc("lbx_http_responses_total",
		"Responses sent to clients by the HTTP virtual server, by status class (the members' and those the appliance made).", []string{"virtual", "class"}, nil)
	httpErrors = prometheus.NewDesc("lbx_http_errors_total",
		"Requests the HTTP virtual server answered with an error of its own, by status: 400 malformed, 408 timeout, 431 header too large, 502 member failed, 503 no member.", []string{"virtual", "code"}, nil)
	httpReselects = prometheus.NewDesc("lbx_http_reselects_total",
		"Failed members replaced by another choice for a request.", []string{"virtual"}, nil)
	httpServerConns = prometheus.NewDesc("lbx_http_server_connections_total",
		"Server-side connections the HTTP virtual server opened.", []string{"virtual"}, nil)
	httpServerReuses = prometheus.NewDesc("lbx_http_server_reuses_total",
		"Requests sent over a reused server-side connection (one-connect or the client's own).", []string{"virtual"}, nil)
	httpServerBytes = prometheus.NewDesc("lbx_http_server_bytes_total",
		"Bytes the HTTP virtual server's server-side connections carried, by direction (in: from the members).", []string{"virtual", "direction"}, nil)
	virtualInfo = prometheus.NewDesc("lbx_virtual_info",
		"The virtual server's destination, protocol and pool; always 1.",
		[]string{"virtual", "destination", "protocol", "pool"}, nil)

	poolAvailability = prometheus.NewDesc("lbx_pool_availability",
		"Availability of the pool (state set: available, offline or unknown).",
		[]string{"pool", "availability"}, nil)
	poolMembers = prometheus.NewDesc("lbx_pool_members",
		"Members of the pool.", []string{"pool"}, nil)
	poolMembersUp = prometheus.NewDesc("lbx_pool_members_up",
		"Members of the pool whose status is up.", []string{"pool"}, nil)

	memberStatus = prometheus.NewDesc("lbx_member_status",
		"Status of the pool member as show prints it (state set: up, down, checking, disabled, unknown = not monitored, offline = forced offline).",
		[]string{"pool", "member", "status"}, nil)
	memberUp = prometheus.NewDesc("lbx_member_up",
		"1 when the pool member's status is up, else 0.", []string{"pool", "member"}, nil)

	nodeAvailability = prometheus.NewDesc("lbx_node_availability",
		"Availability of the node under its own monitors (state set: available, offline, unknown = not monitored).",
		[]string{"node", "availability"}, nil)
	nodeState = prometheus.NewDesc("lbx_node_state",
		"The operator's state of the node (state set: enabled, disabled, forced-offline, oper-disabled = disabled at runtime, not in the configuration).",
		[]string{"node", "state"}, nil)
	nodeMembers = prometheus.NewDesc("lbx_node_members",
		"Installed pool members on the node's address.", []string{"node"}, nil)

	monitorLabels = []string{"pool", "member", "node", "monitor"}
	monitorState  = prometheus.NewDesc("lbx_monitor_state",
		"One monitor's state on one pool member (pool and member set) or node (node set) (state set: checking, up, down, disabled).",
		append(monitorLabels, "state"), nil)
	monitorUp = prometheus.NewDesc("lbx_monitor_up",
		"1 when the monitor's state on the member or node is up, else 0.", monitorLabels, nil)
	monitorLastResult = prometheus.NewDesc("lbx_monitor_last_result",
		"The monitor's last probe verdict on the member or node (state set: success, failure, disable); absent before the first probe.",
		append(monitorLabels, "result"), nil)
	monitorLastProbe = prometheus.NewDesc("lbx_monitor_last_probe_timestamp_seconds",
		"When the monitor's last verdict on the member or node arrived (Unix time, monitor clock); absent before the first probe.",
		monitorLabels, nil)
	monitorLastDuration = prometheus.NewDesc("lbx_monitor_last_probe_duration_seconds",
		"How long the monitor's last probe of the member or node took; absent before the first probe.",
		monitorLabels, nil)
	monitorLatency = prometheus.NewDesc("lbx_monitor_probe_duration_seconds",
		"Probe durations of the monitor over every member and node it checks, since start (a probe that got no answer counts with the time it waited).",
		[]string{"monitor", "type"}, nil)

	flowEntries = prometheus.NewDesc("lbx_flow_table_entries",
		"Flows in the dataplane's flow table.", nil, nil)
	flowCapacity = prometheus.NewDesc("lbx_flow_table_capacity",
		"Flows the dataplane's flow table can hold.", nil, nil)
	drops = prometheus.NewDesc("lbx_drops_total",
		"Frames the dataplane dropped, by reason (docs/DROPS.md; show sys dataplane prints them as drop.<reason>).",
		[]string{"reason"}, nil)

	configVersion = prometheus.NewDesc("lbx_config_version",
		"Configurations applied since start (boot included): the running configuration's version.", nil, nil)
	configLastApply = prometheus.NewDesc("lbx_config_last_apply_timestamp_seconds",
		"When the last configuration apply finished (Unix time); absent before the first.", nil, nil)
)

var (
	availabilities = []status.Availability{status.Available, status.Offline, status.Unknown}
	memberStatuses = []string{"up", "down", "checking", "disabled", "unknown", "offline"}
	monitorStates  = []monitors.State{monitors.Checking, monitors.Up, monitors.Down, monitors.Disabled}
	verdicts       = []monitors.Verdict{monitors.Success, monitors.Failure, monitors.Disable}
	// nodeStates are the words of status.Node.State with their label values.
	nodeStates = []struct{ word, label string }{
		{"enabled", "enabled"}, {"disabled", "disabled"}, {"forced offline", "forced-offline"},
		{status.ReasonOperDisabled, "oper-disabled"},
	}
)

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	virtualTraffic.describe(ch)
	poolTraffic.describe(ch)
	memberTraffic.describe(ch)
	nodeTraffic.describe(ch)
	for _, d := range []*prometheus.Desc{
		virtualAvailability, virtualEnabled, virtualInfo,
		httpRequests, httpResponses, httpErrors, httpReselects, httpServerConns, httpServerReuses, httpServerBytes,
		poolAvailability, poolMembers, poolMembersUp,
		memberStatus, memberUp,
		nodeAvailability, nodeState, nodeMembers,
		monitorState, monitorUp, monitorLastResult, monitorLastProbe, monitorLastDuration, monitorLatency,
		flowEntries, flowCapacity, drops,
		configVersion, configLastApply,
	} {
		ch <- d
	}
}

// Collect reads the appliance's state and sends it as metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	cfg := c.src.Config.Running()
	v := status.New(cfg, c.src.Status)
	c.collectVirtuals(ch, v)
	c.collectPools(ch, v)
	c.collectNodes(ch, v)
	if c.src.Monitors != nil {
		c.collectMonitors(ch, cfg)
	}
	if dp := c.src.Dataplane; dp != nil {
		ch <- prometheus.MustNewConstMetric(flowEntries, prometheus.GaugeValue, float64(dp.Flows()))
		ch <- prometheus.MustNewConstMetric(flowCapacity, prometheus.GaugeValue, float64(dp.FlowCapacity()))
		for _, r := range drop.Reasons() {
			ch <- prometheus.MustNewConstMetric(drops, prometheus.CounterValue, float64(dp.Drops(r)), r.String())
		}
	}
	version, at := c.src.Config.LastApply()
	ch <- prometheus.MustNewConstMetric(configVersion, prometheus.GaugeValue, float64(version))
	if !at.IsZero() {
		ch <- prometheus.MustNewConstMetric(configLastApply, prometheus.GaugeValue, seconds(at))
	}
}

func (c *Collector) collectVirtuals(ch chan<- prometheus.Metric, v *status.View) {
	for _, vs := range v.Config().VirtualList() {
		st, ok := v.Virtual(vs.Name)
		if !ok {
			continue
		}
		for _, a := range availabilities {
			ch <- prometheus.MustNewConstMetric(virtualAvailability, prometheus.GaugeValue, boolValue(st.Availability == a), st.Name, a.String())
		}
		ch <- prometheus.MustNewConstMetric(virtualEnabled, prometheus.GaugeValue, boolValue(st.Enabled), st.Name)
		ch <- prometheus.MustNewConstMetric(virtualInfo, prometheus.GaugeValue, 1, st.Name, st.Destination.String(), st.Protocol, st.Pool)
		virtualTraffic.collect(ch, st.Traffic, st.Name)
		if h := st.HTTP; h != nil {
			collectHTTP(ch, st.Name, h)
		}
	}
}

// collectHTTP sends an HTTP virtual's proxy counters.
func collectHTTP(ch chan<- prometheus.Metric, name string, h *status.HTTPStats) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{name}, labels...)...)
	}
	counter(httpRequests, h.Requests)
	for i, n := range h.ByClass {
		counter(httpResponses, n, string(rune('1'+i))+"xx")
	}
	counter(httpErrors, h.BadRequests, "400")
	counter(httpErrors, h.Timeouts, "408")
	counter(httpErrors, h.HeaderTooLarge, "431")
	counter(httpErrors, h.BadGateway, "502")
	counter(httpErrors, h.NoMember, "503")
	counter(httpReselects, h.Reselects)
	counter(httpServerConns, h.ServerConns)
	counter(httpServerReuses, h.ServerReuses)
	counter(httpServerBytes, h.ServerBytesIn, "in")
	counter(httpServerBytes, h.ServerBytesOut, "out")
}

func (c *Collector) collectPools(ch chan<- prometheus.Metric, v *status.View) {
	for _, p := range v.Config().PoolList() {
		st, ok := v.Pool(p.Name)
		if !ok {
			continue
		}
		for _, a := range availabilities {
			ch <- prometheus.MustNewConstMetric(poolAvailability, prometheus.GaugeValue, boolValue(st.Availability == a), st.Name, a.String())
		}
		up := 0
		for i := range st.Members {
			m := &st.Members[i]
			if m.Up {
				up++
			}
			known := false
			for _, s := range memberStatuses {
				known = known || m.Status == s
				ch <- prometheus.MustNewConstMetric(memberStatus, prometheus.GaugeValue, boolValue(m.Status == s), st.Name, m.Name, s)
			}
			if !known { // a word the status layer learnt after this list
				ch <- prometheus.MustNewConstMetric(memberStatus, prometheus.GaugeValue, 1, st.Name, m.Name, m.Status)
			}
			ch <- prometheus.MustNewConstMetric(memberUp, prometheus.GaugeValue, boolValue(m.Up), st.Name, m.Name)
			memberTraffic.collect(ch, m.Traffic, st.Name, m.Name)
		}
		ch <- prometheus.MustNewConstMetric(poolMembers, prometheus.GaugeValue, float64(len(st.Members)), st.Name)
		ch <- prometheus.MustNewConstMetric(poolMembersUp, prometheus.GaugeValue, float64(up), st.Name)
		poolTraffic.collect(ch, st.Traffic, st.Name)
	}
}

func (c *Collector) collectNodes(ch chan<- prometheus.Metric, v *status.View) {
	for _, n := range v.Config().NodeList() {
		st, ok := v.Node(n.Name)
		if !ok {
			continue
		}
		for _, a := range availabilities {
			ch <- prometheus.MustNewConstMetric(nodeAvailability, prometheus.GaugeValue, boolValue(st.Availability == a), st.Name, a.String())
		}
		for _, s := range nodeStates {
			ch <- prometheus.MustNewConstMetric(nodeState, prometheus.GaugeValue, boolValue(st.State == s.word), st.Name, s.label)
		}
		ch <- prometheus.MustNewConstMetric(nodeMembers, prometheus.GaugeValue, float64(st.Members), st.Name)
		nodeTraffic.collect(ch, st.Traffic, st.Name)
	}
}

// collectMonitors sends each check's monitors: a pool's on each of its
// members (node label empty), a node's on the node (pool and member
// empty), as the monitor engine runs them: BIG-IP probes a node once,
// however many pools use it.
func (c *Collector) collectMonitors(ch chan<- prometheus.Metric, cfg *config.Config) {
	mon := c.src.Monitors
	for _, p := range cfg.PoolList() {
		for i := range p.Members {
			name := p.Members[i].Name()
			if st, ok := mon.PoolMemberStatus(p.Name, name); ok {
				collectCheck(ch, st, p.Name, name, "")
			}
		}
	}
	for _, n := range cfg.NodeList() {
		if st, ok := mon.NodeStatus(n.Name); ok {
			collectCheck(ch, st, "", "", n.Name)
		}
	}
	for _, l := range mon.ProbeLatencies() {
		buckets := make(map[float64]uint64, len(l.Buckets))
		for i, b := range monitors.LatencyBuckets {
			buckets[b.Seconds()] = l.Buckets[i]
		}
		ch <- prometheus.MustNewConstHistogram(monitorLatency, l.Count, l.Sum.Seconds(), buckets, l.Monitor, l.Type.String())
	}
}

func collectCheck(ch chan<- prometheus.Metric, st monitors.MemberStatus, pool, member, node string) {
	seen := make(map[string]bool, len(st.Monitors))
	for _, ms := range st.Monitors {
		if seen[ms.Name] { // a rule naming one monitor twice
			continue
		}
		seen[ms.Name] = true
		for _, s := range monitorStates {
			ch <- prometheus.MustNewConstMetric(monitorState, prometheus.GaugeValue, boolValue(ms.State == s), pool, member, node, ms.Name, s.String())
		}
		ch <- prometheus.MustNewConstMetric(monitorUp, prometheus.GaugeValue, boolValue(ms.State == monitors.Up), pool, member, node, ms.Name)
		if !ms.Probed {
			continue
		}
		for _, vd := range verdicts {
			ch <- prometheus.MustNewConstMetric(monitorLastResult, prometheus.GaugeValue, boolValue(ms.LastVerdict == vd), pool, member, node, ms.Name, vd.String())
		}
		ch <- prometheus.MustNewConstMetric(monitorLastProbe, prometheus.GaugeValue, seconds(ms.LastProbe), pool, member, node, ms.Name)
		ch <- prometheus.MustNewConstMetric(monitorLastDuration, prometheus.GaugeValue, ms.LastDuration.Seconds(), pool, member, node, ms.Name)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func seconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
