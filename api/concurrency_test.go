package api_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/scelle-ledger/scelle/api"
)

// TestConcurrency_conflictingTransfers: 100 concurrent offers of one
// exhibit, each with its own key; exactly one wins, the others get 409
// (a transfer is already pending, or the stream moved) or 412 (stale
// If-Match), and the history shows one offer.
func TestConcurrency_conflictingTransfers(t *testing.T) {
	e := newEnv(t)
	caseID := openCase(e, "nadia", "MA-TGM-2026-0412")
	ex := exhibitsOf(recordSeizure(e, caseID, 1))[0]
	r := e.do("nadia", "GET", "/v1/exhibits/"+ex+"/history", nil)
	etag := r.Header.Get("ETag")
	const n = 100
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := []string{"Idempotency-Key", key()}
			if i%2 == 0 {
				h = append(h, "If-Match", etag)
			}
			to := "MA-DOUANE-TGM"
			r := e.do("youssef", "POST", "/v1/commands/offer-transfer", map[string]any{
				"exhibit_id": ex, "to": map[string]any{"agency": to, "person": "karim"}, "purpose": "custody"}, h...)
			statuses[i] = r.Status
		}()
	}
	wg.Wait()
	won := 0
	for i, s := range statuses {
		switch s {
		case http.StatusOK:
			won++
		case http.StatusConflict, http.StatusPreconditionFailed:
		default:
			t.Errorf("offer %d: status %d, want 200, 409 or 412", i, s)
		}
	}
	if won != 1 {
		t.Fatalf("%d offers succeeded, want exactly 1 (statuses %v)", won, statuses)
	}
	r = e.do("nadia", "GET", "/v1/exhibits/"+ex+"/history", nil)
	var h api.History
	r.json(t, &h)
	offers := 0
	for _, ev := range h.Events {
		if ev.Type == "TransferOffered" {
			offers++
		}
	}
	if offers != 1 {
		t.Fatalf("history has %d TransferOffered, want 1", offers)
	}
}
