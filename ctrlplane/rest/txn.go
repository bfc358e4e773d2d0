package rest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"lbx/internal/clock"
)

// Transactions: POST /mgmt/tm/transaction opens one; requests carrying
// X-F5-REST-Coordination-Id are checked and queued, not applied; PATCH
// {"state":"VALIDATING"} applies the queue in order as one change (one
// store.Update), all or nothing.
const (
	txnTimeout = 120 * time.Second // an open transaction unused this long is dropped
	maxTxns    = 256
	maxTxnOps  = 1024
)

type txn struct {
	id      int64
	user    string
	ops     []op
	reqs    []map[string]any // what was queued, for GET
	created time.Time
	used    time.Time
}

type txnTable struct {
	clk clock.Clock

	mu   sync.Mutex
	next int64
	m    map[int64]*txn
}

func newTxnTable(clk clock.Clock) *txnTable {
	return &txnTable{clk: clk, m: map[int64]*txn{}, next: clk.Now().UnixMicro()}
}

// getLocked returns the user's live transaction id.
func (tt *txnTable) getLocked(id int64, user string) *txn {
	t := tt.m[id]
	if t == nil || t.user != user {
		return nil
	}
	if tt.clk.Now().Sub(t.used) > txnTimeout {
		delete(tt.m, id)
		return nil
	}
	return t
}

func txnJSON(t *txn, state string) map[string]any {
	return map[string]any{
		"kind": "tm:transactionstate", "transId": t.id, "state": state, "timeoutSeconds": int(txnTimeout / time.Second),
		"asyncExecution": false, "validateOnly": false, "executionTimeout": 300, "executionTime": 0,
		"failureReason": "", "selfLink": link("transaction/" + strconv.FormatInt(t.id, 10)),
	}
}

// transaction serves /mgmt/tm/transaction[/ID].
func (s *Server) transaction(req *request, segs []string) (int, any, error) {
	tt := s.txns
	if len(segs) == 0 {
		switch req.method {
		case http.MethodPost:
			now := tt.clk.Now()
			tt.mu.Lock()
			defer tt.mu.Unlock()
			for id, t := range tt.m {
				if now.Sub(t.used) > txnTimeout {
					delete(tt.m, id)
				}
			}
			if len(tt.m) >= maxTxns {
				return 0, nil, errf(400, "Too many open transactions (%d).", maxTxns)
			}
			tt.next++
			t := &txn{id: tt.next, user: req.who.User, created: now, used: now}
			tt.m[t.id] = t
			return 200, txnJSON(t, "STARTED"), nil
		case http.MethodGet:
			tt.mu.Lock()
			defer tt.mu.Unlock()
			items := []map[string]any{}
			for id := range tt.m {
				if t := tt.getLocked(id, req.who.User); t != nil {
					items = append(items, txnJSON(t, "STARTED"))
				}
			}
			return 200, map[string]any{"kind": "tm:transactioncollectionstate", "selfLink": link("transaction"), "items": items}, nil
		}
		return 0, nil, errMethod(req)
	}
	id, err := strconv.ParseInt(segs[0], 10, 64)
	if err != nil {
		return 0, nil, errf(404, "Transaction %q not found.", segs[0])
	}
	tt.mu.Lock()
	t := tt.getLocked(id, req.who.User)
	if t == nil {
		tt.mu.Unlock()
		return 0, nil, errf(404, "Transaction %d not found.", id)
	}
	switch req.method {
	case http.MethodGet:
		defer tt.mu.Unlock()
		return 200, txnJSON(t, "STARTED"), nil
	case http.MethodDelete:
		delete(tt.m, id)
		tt.mu.Unlock()
		return 200, nil, nil
	case http.MethodPatch:
		var in struct {
			State        string `json:"state"`
			ValidateOnly bool   `json:"validateOnly"`
		}
		if err := json.Unmarshal(req.body, &in); err != nil || in.State != "VALIDATING" {
			tt.mu.Unlock()
			return 0, nil, errf(400, "Transaction %d: want {\"state\":\"VALIDATING\"}.", id)
		}
		if in.ValidateOnly {
			tt.mu.Unlock()
			return 0, nil, errf(400, "Transaction %d: validateOnly is not supported yet.", id)
		}
		delete(tt.m, id) // applied or failed, it is done
		tt.mu.Unlock()
		if err := s.commit(req, t.ops); err != nil {
			return 0, nil, err
		}
		return 200, txnJSON(t, "COMPLETED"), nil
	}
	tt.mu.Unlock()
	return 0, nil, errMethod(req)
}

// queue adds a checked request to its transaction.
func (s *Server) queue(req *request, o op) (int, any, error) {
	tt := s.txns
	tt.mu.Lock()
	defer tt.mu.Unlock()
	t := tt.getLocked(req.txnID, req.who.User)
	if t == nil {
		return 0, nil, errf(404, "Transaction %d not found.", req.txnID)
	}
	if len(t.ops) >= maxTxnOps {
		return 0, nil, errf(400, "Transaction %d: more than %d requests.", t.id, maxTxnOps)
	}
	t.ops = append(t.ops, o)
	t.used = tt.clk.Now()
	var b any
	if json.Unmarshal(req.body, &b) != nil {
		b = nil
	}
	entry := map[string]any{"transId": t.id, "evalOrder": len(t.ops), "method": req.method, "uri": req.path, "body": b, "kind": "tm:transaction:commandsstate"}
	t.reqs = append(t.reqs, entry)
	return 200, entry, nil
}
