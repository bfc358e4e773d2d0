package rest

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Requests with X-F5-REST-Coordination-Id are queued, and applied in one
// change at VALIDATING: all or nothing.
func TestTransactions(t *testing.T) {
	f := newFixture(t)
	f.push(setup)
	open := func() string {
		b := f.must(asAdmin, "POST", "/mgmt/tm/transaction", map[string]any{}, 200)
		if b["state"] != "STARTED" {
			t.Fatalf("transaction: %v", b)
		}
		return fmt.Sprint(int64(b["transId"].(float64)))
	}
	in := func(id string, method, path string, body any, code int) {
		t.Helper()
		ans := f.do(asAdmin, method, path, body, "X-F5-REST-Coordination-Id", id)
		if ans.code != code {
			t.Fatalf("%s %s in transaction %s: %d %s", method, path, id, ans.code, ans.raw)
		}
	}

	id := open()
	before, version := f.running(), f.st.Version()
	in(id, "POST", "/mgmt/tm/ltm/node", map[string]any{"name": "n2", "address": "198.18.2.12"}, 200)
	in(id, "POST", "/mgmt/tm/ltm/pool/web/members", map[string]any{"name": "n2:80"}, 200)
	in(id, "PATCH", "/mgmt/tm/ltm/pool/web/members/~Common~n1:80", map[string]any{"session": "user-disabled"}, 200)
	in(id, "POST", "/mgmt/tm/ltm/node", `{"name":`, 400) // checked when queued
	if f.running() != before || f.st.Version() != version {
		t.Fatal("queued requests were applied")
	}
	done := f.must(asAdmin, "PATCH", "/mgmt/tm/transaction/"+id, map[string]any{"state": "VALIDATING", "validateOnly": false}, 200)
	if done["state"] != "COMPLETED" || f.st.Version() != version+1 {
		t.Fatalf("commit: %v, version %d → %d", done, version, f.st.Version())
	}
	m := f.must(asAdmin, "GET", "/mgmt/tm/ltm/pool/web/members/~Common~n2:80", nil, 200)
	if m["address"] != "198.18.2.12" {
		t.Errorf("member %v", m)
	}
	f.must(asAdmin, "PATCH", "/mgmt/tm/transaction/"+id, map[string]any{"state": "VALIDATING"}, 404)

	// A failing request fails the whole transaction, which changes nothing.
	id = open()
	in(id, "DELETE", "/mgmt/tm/ltm/pool/web/members/~Common~n2:80", nil, 200)
	in(id, "DELETE", "/mgmt/tm/ltm/node/n1", nil, 200) // still used by n1:80
	before, version = f.running(), f.st.Version()
	ans := f.do(asAdmin, "PATCH", "/mgmt/tm/transaction/"+id, map[string]any{"state": "VALIDATING"})
	if ans.code != 400 || !strings.Contains(ans.raw, "is referenced by a member") {
		t.Fatalf("failing transaction: %d %s", ans.code, ans.raw)
	}
	if f.running() != before || f.st.Version() != version {
		t.Fatal("a failed transaction changed the configuration")
	}
	// Another user does not see the transaction.
	id = open()
	if ans := f.do(asOlga, "PATCH", "/mgmt/tm/ltm/node/n1", map[string]any{"session": "user-disabled"}, "X-F5-REST-Coordination-Id", id); ans.code != 404 {
		t.Fatalf("operator in the admin's transaction: %d %s", ans.code, ans.raw)
	}
}

func TestQueries(t *testing.T) {
	f := newFixture(t)
	var conf strings.Builder
	for i := range 25 {
		fmt.Fprintf(&conf, "ltm pool /Common/p%02d { }\n", i)
	}
	f.push(conf.String())
	// device_info pages until a page is empty.
	var names []string
	for skip := 0; ; skip += 10 {
		page := items(t, f.must(asAdmin, "GET", fmt.Sprintf("/mgmt/tm/ltm/pool?$top=10&$skip=%d&$filter=partition+eq+Common", skip), nil, 200))
		if len(page) == 0 {
			break
		}
		for _, it := range page {
			names = append(names, it["name"].(string))
		}
		if skip > 100 {
			t.Fatal("paging does not end")
		}
	}
	if len(names) != 25 || names[0] != "p00" || names[24] != "p24" {
		t.Errorf("paged names %v", names)
	}
	if got := items(t, f.must(asAdmin, "GET", "/mgmt/tm/ltm/pool?$filter=partition%20eq%20Other", nil, 200)); len(got) != 0 {
		t.Errorf("filter by another partition: %d items", len(got))
	}
	sel := items(t, f.must(asAdmin, "GET", "/mgmt/tm/ltm/pool?$select=name,selfLink&$top=1", nil, 200))
	if len(sel) != 1 || len(sel[0]) != 2 || sel[0]["selfLink"] == nil {
		t.Errorf("$select: %v", sel)
	}
}

// Every stats key the clients index is there, with the live states.
func TestStats(t *testing.T) {
	f := newFixture(t)
	f.push(setup)
	entries := func(path string) map[string]any {
		b := f.must(asAdmin, "GET", path, nil, 200)
		es := b["entries"].(map[string]any)
		if len(es) != 1 {
			t.Fatalf("%s: %d entries", path, len(es))
		}
		for k, v := range es {
			if !strings.HasPrefix(k, "https://localhost/") || !strings.HasSuffix(k, "/stats") {
				t.Errorf("%s: entry key %q", path, k)
			}
			return v.(map[string]any)["nestedStats"].(map[string]any)["entries"].(map[string]any)
		}
		return nil
	}
	need := map[string][]string{
		"/mgmt/tm/ltm/pool/~Common~web/stats": {"activeMemberCnt", "availableMemberCnt", "memberCnt", "curSessions", "totRequests",
			"connq.ageEdm", "connq.ageEma", "connq.ageHead", "connq.ageMax", "connq.depth", "connq.serviced",
			"connqAll.ageEdm", "connqAll.ageEma", "connqAll.ageHead", "connqAll.ageMax", "connqAll.depth", "connqAll.serviced",
			"serverside.bitsIn", "serverside.bitsOut", "serverside.curConns", "serverside.maxConns", "serverside.pktsIn", "serverside.pktsOut", "serverside.totConns",
			"status.availabilityState", "status.enabledState", "status.statusReason"},
		"/mgmt/tm/ltm/node/~Common~n1/stats":                        {"monitorRule", "monitorStatus", "sessionStatus", "status.availabilityState", "status.enabledState", "status.statusReason"},
		"/mgmt/tm/ltm/pool/~Common~web/members/~Common~n1:80/stats": {"monitorStatus", "sessionStatus", "status.availabilityState", "status.enabledState", "serverside.curConns"},
		"/mgmt/tm/ltm/virtual/~Common~vs/stats": {"cmpEnableMode", "csMaxConnDur", "csMeanConnDur", "csMinConnDur", "fiveMinAvgUsageRatio", "fiveSecAvgUsageRatio", "oneMinAvgUsageRatio",
			"status.availabilityState", "status.statusReason", "syncookieStatus", "totRequests"},
	}
	for _, side := range []string{"clientside.", "ephemeral."} {
		for _, k := range []string{"bitsIn", "bitsOut", "curConns", "evictedConns", "maxConns", "pktsIn", "pktsOut", "slowKilled", "totConns"} {
			need["/mgmt/tm/ltm/virtual/~Common~vs/stats"] = append(need["/mgmt/tm/ltm/virtual/~Common~vs/stats"], side+k)
		}
	}
	for _, k := range []string{"accepts", "hwAccepts", "hwSyncookies", "hwsyncookieInstance", "rejects", "swsyncookieInstance", "syncacheCurr", "syncacheOver", "syncookies"} {
		need["/mgmt/tm/ltm/virtual/~Common~vs/stats"] = append(need["/mgmt/tm/ltm/virtual/~Common~vs/stats"], "syncookie."+k)
	}
	for path, keys := range need {
		e := entries(path)
		for _, k := range keys {
			if _, ok := e[k]; !ok {
				t.Errorf("%s: no %s", path, k)
			}
		}
	}
	// The operator's state shows at once.
	f.must(asAdmin, "PATCH", "/mgmt/tm/ltm/node/n1", map[string]any{"session": "user-disabled", "state": "user-down"}, 200)
	if e := entries("/mgmt/tm/ltm/node/~Common~n1/stats"); fmt.Sprint(e["sessionStatus"]) != "map[description:forced-offline]" || fmt.Sprint(e["status.enabledState"]) != "map[description:disabled]" {
		t.Errorf("node stats after force offline: %v %v", e["sessionStatus"], e["status.enabledState"])
	}
	f.must(asAdmin, "GET", "/mgmt/tm/ltm/pool/~Common~nope/stats", nil, 404)
}

// util bash runs tmsh as the user; sys config saves through the store.
func TestBashAndSave(t *testing.T) {
	f := newFixture(t)
	f.push(setup)
	b := f.must(asAdmin, "POST", "/mgmt/tm/util/bash", map[string]any{"command": "run", "utilCmdArgs": `-c "tmsh save sys config"`}, 200)
	if b["commandResult"] != "Saving running configuration...\n" || b["kind"] != "tm:util:bash:runstate" {
		t.Errorf("save: %v", b)
	}
	saved, err := os.ReadFile(f.st.SavedPath())
	if err != nil || !strings.Contains(string(saved), "ltm pool /Common/web") {
		t.Fatalf("saved file: %v\n%s", err, saved)
	}
	b = f.must(asGus, "POST", "/mgmt/tm/util/bash", map[string]any{"command": "run", "utilCmdArgs": `-c 'tmsh list ltm pool web'`}, 200)
	if !strings.Contains(b["commandResult"].(string), "ltm pool /Common/web") {
		t.Errorf("list as guest: %v", b)
	}
	f.must(asAdmin, "POST", "/mgmt/tm/ltm/node", map[string]any{"name": "n2", "address": "198.18.2.12"}, 200)
	f.must(asAdmin, "POST", "/mgmt/tm/sys/config", map[string]any{"command": "save"}, 200)
	saved, _ = os.ReadFile(f.st.SavedPath())
	if !strings.Contains(string(saved), "ltm node /Common/n2") {
		t.Errorf("sys config save did not save:\n%s", saved)
	}
	f.must(asAdmin, "POST", "/mgmt/tm/sys/config", map[string]any{"command": "reboot"}, 400)
}
