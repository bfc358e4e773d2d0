// Package metrics serves the appliance's state in Prometheus's text format
// (github.com/prometheus/client_golang): per virtual server, pool, pool
// member and node their counters and states, the monitors' results and probe
// latency, the flow table's size and capacity, the dataplane's drops by
// reason, and the configuration's version and last apply time. README's
// "Metrics" section lists every metric.
//
// Nothing here runs per packet. A Collector reads at scrape time what the
// other layers already keep: the status layer's structs (ctrlplane/status,
// over the running configuration and the dataplane's atomic counters),
// the monitor engine's statuses and latency histograms (kept on its loop
// as results arrive), the engine's drop counters and flow table, and the
// store's version. The dataplane's hot path gains neither a lock nor a
// write. A scrape takes the store's lock once, to copy the running
// configuration, so it waits for an apply in progress.
//
// States are state sets, as Prometheus's own exporters do them: one series
// per possible state with the value 1 for the current one and 0 for the
// others (lbx_member_status{status="down"} 1), so an alert names the state
// it means instead of a number.
//
// Handler builds its own registry (never the global one) with the
// Collector and the Go runtime and process collectors, and returns the
// http.Handler that serves it; the management listener mounts it at
// /metrics.
//
// Goroutines: none. Collect runs on the scraping request's goroutine (the
// registry may run several collectors at once; a Collector keeps no state
// of its own).
package metrics
