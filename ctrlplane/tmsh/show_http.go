package tmsh

import (
	"fmt"
	"slices"
	"strings"

	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
	"lbx/ctrlplane/tmsh/conf"
)

// httpTable prints an HTTP virtual's proxy counters (BIG-IP's http
// profile statistics: requests, responses by status class, the errors
// the appliance answered, and the server side).
func httpTable(b *strings.Builder, h *status.HTTPStats) {
	row := func(label string, v uint64) { fmt.Fprintf(b, "  %-22s%18s\n", label, conf.Utoa(v)) }
	fmt.Fprintf(b, "%-32s%10s\n", "HTTP Requests", "ClientSide")
	row("Total Requests", h.Requests)
	row("Member Responses", h.Responses)
	for i, n := range h.ByClass {
		row(fmt.Sprintf("Responses %dxx", i+1), n)
	}
	row("400 Bad Request", h.BadRequests)
	row("408 Request Timeout", h.Timeouts)
	row("431 Header Too Large", h.HeaderTooLarge)
	row("502 Bad Gateway", h.BadGateway)
	row("503 No Member", h.NoMember)
	row("Policy Replies", h.Replies)
	row("Policy Resets", h.Resets)
	row("TLS Handshake Fails", h.TLSFails)
	row("Cookies Inserted", h.Cookies)
	row("Persisted Requests", h.Persisted)
	b.WriteByte('\n')
	fmt.Fprintf(b, "%-32s%10s\n", "HTTP Server Side", "ServerSide")
	row("Connections Opened", h.ServerConns)
	row("Requests Reused", h.ServerReuses)
	row("Idle Connections", uint64(h.IdleServer))
	row("Connect Failures", h.ConnectFails)
	row("Reselects", h.Reselects)
	row("Aborted Responses", h.ServerAborts)
	row("Bytes In", h.ServerBytesIn)
	row("Bytes Out", h.ServerBytesOut)
}

// add sums o into h (show ltm profile http over its virtuals).
func addHTTP(h *status.HTTPStats, o *status.HTTPStats) {
	h.Requests += o.Requests
	h.Responses += o.Responses
	for i := range h.ByClass {
		h.ByClass[i] += o.ByClass[i]
	}
	h.BadRequests += o.BadRequests
	h.Timeouts += o.Timeouts
	h.HeaderTooLarge += o.HeaderTooLarge
	h.BadGateway += o.BadGateway
	h.NoMember += o.NoMember
	h.Reselects += o.Reselects
	h.ServerAborts += o.ServerAborts
	h.ConnectFails += o.ConnectFails
	h.ServerConns += o.ServerConns
	h.ServerReuses += o.ServerReuses
	h.IdleServer += o.IdleServer
	h.ClientBytesIn += o.ClientBytesIn
	h.ClientBytesOut += o.ClientBytesOut
	h.ServerBytesIn += o.ServerBytesIn
	h.ServerBytesOut += o.ServerBytesOut
	h.TLSFails += o.TLSFails
	h.Cookies += o.Cookies
	h.Persisted += o.Persisted
	h.Replies += o.Replies
	h.Resets += o.Resets
}

// runShowHTTPProfile prints an http profile's counters summed over the
// HTTP virtuals that use it.
func runShowHTTPProfile(x *execCtx, cmd *Command, args *conf.Cursor) (string, error) {
	view := x.view()
	return showEach(x, cmd, args, func(b *strings.Builder, name string) {
		showHeader(b, "Ltm::HTTP Profile: "+name)
		var sum status.HTTPStats
		var users []string
		for _, v := range x.cand().VirtualList() {
			if !slices.ContainsFunc(v.Profiles, func(p config.Profile) bool { return p.Name == name }) {
				continue
			}
			users = append(users, v.Name)
			if st, _ := view.Virtual(v.Name); st.HTTP != nil {
				addHTTP(&sum, st.HTTP)
			}
		}
		statusLine(b, "Virtual Servers", listOrNone(users))
		b.WriteByte('\n')
		httpTable(b, &sum)
	})
}
