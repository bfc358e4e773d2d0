package rest

import (
	"lbx/ctrlplane/config"
	"lbx/ctrlplane/status"
)

// The /stats answers: BIG-IP's format, one entry keyed by the object's
// stats link, its nestedStats entries with flat dotted names. Every key
// the clients read is there; lbx's counters fill what it counts, zeros
// the rest.

type stat map[string]any

func val(n any) map[string]any     { return map[string]any{"value": n} }
func desc(s string) map[string]any { return map[string]any{"description": s} }

func statsAnswer(kind, path string, entries stat) map[string]any {
	key := "https://localhost/mgmt/tm/" + path + "/stats"
	return map[string]any{
		"kind": kind, "generation": 1, "selfLink": link(path + "/stats"),
		"entries": map[string]any{key: map[string]any{"nestedStats": map[string]any{"entries": entries}}},
	}
}

// traffic adds the server- or client-side counters of t under prefix.
func traffic(e stat, prefix string, t status.Traffic) {
	e[prefix+".bitsIn"] = val(t.BytesIn * 8)
	e[prefix+".bitsOut"] = val(t.BytesOut * 8)
	e[prefix+".pktsIn"] = val(t.PktsIn)
	e[prefix+".pktsOut"] = val(t.PktsOut)
	e[prefix+".curConns"] = val(t.CurConns)
	e[prefix+".maxConns"] = val(0)
	e[prefix+".totConns"] = val(t.TotalConns)
}

func zeros(e stat, prefix string, names ...string) {
	for _, n := range names {
		e[prefix+n] = val(0)
	}
}

func poolStats(v *status.View, name string) (any, error) {
	st, ok := v.Pool(name)
	if !ok {
		return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindPool, Name: name}}
	}
	up := 0
	for _, m := range st.Members {
		if m.Up {
			up++
		}
	}
	e := stat{
		"tmName": desc(name), "activeMemberCnt": val(up), "availableMemberCnt": val(up), "memberCnt": val(len(st.Members)),
		"curSessions": val(0), "totRequests": val(0), "minActiveMembers": val(st.MinActiveMembers),
		"status.availabilityState": desc(st.Availability.String()), "status.enabledState": desc("enabled"),
		"status.statusReason": desc(st.Reason),
	}
	for _, q := range []string{"connq.", "connqAll."} {
		zeros(e, q, "ageEdm", "ageEma", "ageHead", "ageMax", "depth", "serviced")
	}
	traffic(e, "serverside", st.Traffic)
	path := "ltm/pool/" + tilde(name)
	return statsAnswer("tm:ltm:pool:poolstats", path+"/"+tilde(name), e), nil
}

func nodeStats(v *status.View, name string) (any, error) {
	st, ok := v.Node(name)
	if !ok {
		return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindNode, Name: name}}
	}
	n := v.Config().Nodes[name]
	sess := "enabled"
	if n.Session == config.SessionUserDisabled {
		sess = "user-disabled"
	}
	if n.State == config.StateUserDown {
		sess = "forced-offline"
	}
	rule := "none"
	if len(n.Monitor.Names) > 0 {
		rule = n.Monitor.String()
	}
	enabled := "enabled"
	if st.State != "enabled" {
		enabled = "disabled"
	}
	e := stat{
		"tmName": desc(name), "addr": desc(st.Address.String()), "monitorRule": desc(rule),
		"monitorStatus": desc(nodeMonitorState(v, n)), "sessionStatus": desc(sess),
		"curSessions": val(0), "totRequests": val(0),
		"status.availabilityState": desc(st.Availability.String()), "status.enabledState": desc(enabled),
		"status.statusReason": desc(st.Reason),
	}
	traffic(e, "serverside", st.Traffic)
	path := "ltm/node/" + tilde(name)
	return statsAnswer("tm:ltm:node:nodestats", path+"/"+tilde(name), e), nil
}

func memberStats(v *status.View, pool, name string) (any, error) {
	p := v.Config().Pools[pool]
	if p == nil {
		return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindPool, Name: pool}}
	}
	st, ok := v.Member(pool, name)
	if !ok {
		return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindMember, Name: name}}
	}
	m := &p.Members[0]
	for i := range p.Members {
		if p.Members[i].Name() == name {
			m = &p.Members[i]
		}
	}
	sess, state := memberState(v, p, m)
	avail := "unknown"
	switch st.Status {
	case "up":
		avail = "available"
	case "down":
		avail = "offline"
	}
	enabled := "enabled"
	if m.Session == config.SessionUserDisabled || m.State == config.StateUserDown {
		enabled = "disabled"
	}
	e := stat{
		"tmName": desc(name), "addr": desc(st.Address.String()), "port": val(st.Port), "nodeName": desc(st.Node),
		"poolName": desc(pool), "monitorRule": desc(p.Monitor.String()), "monitorStatus": desc(state),
		"sessionStatus": desc(sess), "curSessions": val(0), "totRequests": val(0),
		"status.availabilityState": desc(avail), "status.enabledState": desc(enabled), "status.statusReason": desc(st.Reason),
	}
	traffic(e, "serverside", st.Traffic)
	path := "ltm/pool/" + tilde(pool) + "/members/" + tilde(name)
	return statsAnswer("tm:ltm:pool:members:membersstats", path, e), nil
}

func virtualStats(v *status.View, name string) (any, error) {
	st, ok := v.Virtual(name)
	if !ok {
		return nil, &config.NotFoundError{Ref: config.Ref{Kind: config.KindVirtual, Name: name}}
	}
	enabled := "enabled"
	if !st.Enabled {
		enabled = "disabled"
	}
	e := stat{
		"tmName": desc(name), "destination": desc(config.FormatDestination(st.Destination)),
		"cmpEnabled": desc("enabled"), "cmpEnableMode": desc("all-cpus"),
		"csMaxConnDur": val(0), "csMeanConnDur": val(0), "csMinConnDur": val(0),
		"fiveMinAvgUsageRatio": val(0), "fiveSecAvgUsageRatio": val(0), "oneMinAvgUsageRatio": val(0),
		"status.availabilityState": desc(st.Availability.String()), "status.enabledState": desc(enabled),
		"status.statusReason": desc(st.Reason), "syncookieStatus": desc("not-activated"), "totRequests": val(0),
	}
	traffic(e, "clientside", st.Traffic)
	e["clientside.evictedConns"], e["clientside.slowKilled"] = val(0), val(0)
	zeros(e, "ephemeral.", "bitsIn", "bitsOut", "curConns", "evictedConns", "maxConns", "pktsIn", "pktsOut", "slowKilled", "totConns")
	zeros(e, "syncookie.", "accepts", "hwAccepts", "hwSyncookies", "hwsyncookieInstance", "rejects", "swsyncookieInstance", "syncacheCurr", "syncacheOver", "syncookies")
	if h := st.HTTP; h != nil {
		// An HTTP virtual: its proxy's counters, under BIG-IP's http
		// profile statistics names where it has them.
		e["totRequests"] = val(h.Requests)
		for i, n := range h.ByClass {
			e["http.resp_"+string(rune('1'+i))+"xxCnt"] = val(n)
		}
		for k, n := range map[string]uint64{
			"http.responses": h.Responses, "http.badRequests": h.BadRequests, "http.requestTimeouts": h.Timeouts,
			"http.headerTooLarge": h.HeaderTooLarge, "http.badGateway": h.BadGateway, "http.noMember": h.NoMember,
			"http.reselects": h.Reselects, "http.serverAborts": h.ServerAborts, "http.connectFails": h.ConnectFails,
			"serverside.totConns": h.ServerConns, "serverside.reusedRequests": h.ServerReuses,
			"serverside.bitsIn": h.ServerBytesIn * 8, "serverside.bitsOut": h.ServerBytesOut * 8,
			"http.cookiesInserted": h.Cookies, "http.persisted": h.Persisted, "http.policyReplies": h.Replies,
			"http.policyResets": h.Resets, "clientssl.handshakeFailures": h.TLSFails,
		} {
			e[k] = val(n)
		}
		e["serverside.idleConns"] = val(h.IdleServer)
	}
	path := "ltm/virtual/" + tilde(name)
	return statsAnswer("tm:ltm:virtual:virtualstats", path+"/"+tilde(name), e), nil
}
