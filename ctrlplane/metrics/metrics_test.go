package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"lbx/ctrlplane/ctrltest"
	"lbx/ctrlplane/metrics"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/store"
	"lbx/ctrlplane/tmsh"
)

// With only a store and the status layer (no engine counters, no monitor
// engine) the collector serves what it has and leaves the rest out; a
// pedantic registry checks that every metric collected was described.
// The in-process appliance's tests (ctrlplane/appliance) assert values
// under real traffic.
func TestCollectorWithoutDataplaneOrMonitors(t *testing.T) {
	dp := &ctrltest.Dataplane{}
	st := store.New(dp, ctrltest.Net, tmsh.Codec{}, "", nil)
	if err := st.LoadText(ctrltest.DefaultConfigText()); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewCollector(metrics.Sources{Config: st, Status: status.FromDataplane(dp, nil)}))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range fams {
		names[f.GetName()] = true
	}
	for _, want := range []string{"lbx_config_version", "lbx_config_last_apply_timestamp_seconds", "lbx_virtual_connections_total", "lbx_member_status"} {
		if !names[want] {
			t.Errorf("%s missing", want)
		}
	}
	for n := range names {
		if strings.HasPrefix(n, "lbx_flow_") || strings.HasPrefix(n, "lbx_drops") || strings.HasPrefix(n, "lbx_monitor_") {
			t.Errorf("%s served without its source", n)
		}
	}
	want := `
# HELP lbx_config_version Configurations applied since start (boot included): the running configuration's version.
# TYPE lbx_config_version gauge
lbx_config_version 1
# HELP lbx_member_up 1 when the pool member's status is up, else 0.
# TYPE lbx_member_up gauge
lbx_member_up{member="/Common/198.18.2.11:7",pool="/Common/udp_pool"} 0
lbx_member_up{member="/Common/198.18.2.11:80",pool="/Common/web_pool"} 0
lbx_member_up{member="/Common/198.18.2.12:7",pool="/Common/udp_pool"} 0
lbx_member_up{member="/Common/198.18.2.12:80",pool="/Common/web_pool"} 0
lbx_member_up{member="/Common/198.18.2.13:7",pool="/Common/udp_pool"} 0
lbx_member_up{member="/Common/198.18.2.13:80",pool="/Common/web_pool"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "lbx_config_version", "lbx_member_up"); err != nil {
		t.Error(err)
	}
}

// BenchmarkScrape measures one scrape of 200 virtual servers, each with a
// pool of 10 members (2,000 members), without monitors: what a Prometheus
// server pays per interval, on the scraping goroutine only.
func BenchmarkScrape(b *testing.B) {
	var conf strings.Builder
	for n := range 10 {
		fmt.Fprintf(&conf, "ltm node /Common/n%d { address 198.18.2.%d }\n", n, 10+n)
	}
	for v := range 200 {
		fmt.Fprintf(&conf, "ltm pool /Common/p%d { members {", v)
		for n := range 10 {
			fmt.Fprintf(&conf, " /Common/n%d:%d { address 198.18.2.%d }", n, 1000+v, 10+n)
		}
		fmt.Fprintf(&conf, " } }\nltm virtual /Common/v%d { destination /Common/198.18.1.100:%d ip-protocol tcp pool /Common/p%d }\n", v, 1000+v, v)
	}
	dp := &ctrltest.Dataplane{}
	st := store.New(dp, ctrltest.Net, tmsh.Codec{}, "", nil)
	if err := st.LoadText(conf.String()); err != nil {
		b.Fatal(err)
	}
	h := metrics.Handler(metrics.Sources{Config: st, Status: status.FromDataplane(dp, nil)})
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
