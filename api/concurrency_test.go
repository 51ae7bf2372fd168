package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/api"
	"github.com/scelle-ledger/scelle/domain"
	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
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

// TestConcurrency_compatibleCommandsAllApply: commands that do not
// conflict in the domain (annotations) but race on one exhibit's stream
// all succeed without If-Match: one whose stream moved between its load
// and its append is decided again on the new state.
func TestConcurrency_compatibleCommandsAllApply(t *testing.T) {
	e := newEnv(t)
	caseID := openCase(e, "nadia", "MA-TGM-2026-0412")
	ex := exhibitsOf(recordSeizure(e, caseID, 1))[0]
	const n = 24
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("nadia", "POST", "/v1/commands/add-annotation", map[string]any{
				"exhibit_id": ex, "kind": "note", "text": fmt.Sprintf("note %d", i)}, "Idempotency-Key", key())
			statuses[i] = r.Status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("annotation %d: status %d, want 200", i, s)
		}
	}
	r := e.do("nadia", "GET", "/v1/exhibits/"+ex+"/history", nil)
	var h api.History
	r.json(t, &h)
	notes := 0
	for _, ev := range h.Events {
		if ev.Type == "AnnotationAdded" {
			notes++
		}
	}
	if notes != n {
		t.Fatalf("history has %d annotations, want %d", notes, n)
	}
}

// TestConcurrency_decidedAgainAfterAnotherWriter: another writer (another
// server on a shared KurrentDB) appended to the exhibit behind this
// server's back. A command without If-Match is decided again on the new
// head and succeeds; with the ETag read before, it is a 412.
func TestConcurrency_decidedAgainAfterAnotherWriter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	caseID := openCase(e, "nadia", "MA-TGM-2026-0412")
	ex := exhibitsOf(recordSeizure(e, caseID, 1))[0]
	r := e.do("nadia", "GET", "/v1/exhibits/"+ex+"/history", nil)
	etag := r.Header.Get("ETag")
	// Warm this server's view of the stream, then write behind its back.
	e.cmd("nadia", "add-annotation", map[string]any{"exhibit_id": ex, "kind": "note", "text": "first"}, 200)
	etag = e.do("nadia", "GET", "/v1/exhibits/"+ex+"/history", nil).Header.Get("ETag")
	stream := domain.ExhibitStream(uuid.MustParse(ex))
	head, err := e.store.ReadStream(ctx, stream, eventstore.ReadOptions{Direction: eventstore.Backwards, From: eventstore.End, Count: 1})
	if err != nil || len(head) != 1 {
		t.Fatalf("read the head of %s: %v", stream, err)
	}
	p := domain.Principal{User: "nadia", Agency: "MA-DOUANE-TGM", Roles: []domain.Role{"officer"}}
	typ, ver, payload, err := domain.Encode(domain.AnnotationAdded{ExhibitRef: domain.ExhibitRef{ExhibitID: uuid.MustParse(ex), CaseID: uuid.MustParse(caseID)},
		AnnotationID: domain.EntityID(p, "elsewhere", "annotation"), Kind: "note", Text: "from another server"})
	if err != nil {
		t.Fatal(err)
	}
	id := domain.EventID(p, "elsewhere", 0)
	if _, err := e.store.Append(ctx, stream, eventstore.Exact(head[0].Revision), eventstore.EventData{ID: id, Type: typ, SchemaVersion: ver, Payload: payload,
		OccurredAt: time.Now(), Actor: ledger.Actor{User: p.User, Agency: p.Agency, Role: "officer"}, CorrelationID: id, CausationID: id}); err != nil {
		t.Fatal(err)
	}

	r = e.do("nadia", "POST", "/v1/commands/add-annotation", map[string]any{"exhibit_id": ex, "kind": "note", "text": "no ETag"},
		"Idempotency-Key", key())
	if r.Status != http.StatusOK {
		t.Fatalf("without If-Match: status %d, want 200 (decided again on the new head): %s", r.Status, r.Body)
	}
	r = e.do("nadia", "POST", "/v1/commands/add-annotation", map[string]any{"exhibit_id": ex, "kind": "note", "text": "stale ETag"},
		"Idempotency-Key", key(), "If-Match", etag)
	if r.Status != http.StatusPreconditionFailed {
		t.Fatalf("with the ETag read before the other writer: status %d, want 412: %s", r.Status, r.Body)
	}
	recs, err := e.store.ReadStream(ctx, stream, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if last := recs[len(recs)-1]; last.Type != "AnnotationAdded" || last.Revision != head[0].Revision+2 || len(recs) != int(head[0].Revision)+3 {
		t.Fatalf("the stream ends with %s at revision %d, want the annotation at %d", last.Type, last.Revision, head[0].Revision+2)
	}
}
