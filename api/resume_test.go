package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/domain"
	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

// TestCommands_resumeInterruptedSubSample: a server died after writing the
// new sub-sample's stream and before SubSampleTaken on the parent, for a
// command whose occurred_at was left to the server clock. Retrying the same
// command with the same key an hour later completes it with the very events
// already written, instead of refusing them as reused IDs.
func TestCommands_resumeInterruptedSubSample(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	caseID := openCase(e, "nadia", "MA-TGM-2026-0412")
	bale := exhibitsOf(recordSeizure(e, caseID, 1))[0]
	transfer(e, "nadia", "karim", bale, map[string]any{"agency": "MA-DOUANE-TGM", "person": "karim"}, "MA-S-0091201", nil)
	e.cmd("karim", "open-seal", map[string]any{"exhibit_id": bale, "purpose": "sampling", "authority_ref": "ORD-SAMPLING-12"}, 200)
	raw, err := json.Marshal(map[string]any{
		"exhibit_id": bale, "label": "1/S1", "purpose": "analysis", "seal_number": "MA-S-0091300",
		"weighing": map[string]any{"gross_mg": 20500, "net_mg": 20000, "tare_mg": 500, "uncertainty_mg": 20, "scale_id": "TGM-SC-01", "calibration_ref": "CAL-2026-118"},
	})
	if err != nil {
		t.Fatal(err)
	}
	k := key()

	// The interrupted attempt: decide as the server would, write only the
	// first append.
	cmd, ok := domain.NewCommand("TakeSubSample")
	if !ok {
		t.Fatal("no TakeSubSample command")
	}
	if err := json.Unmarshal(raw, cmd); err != nil {
		t.Fatal(err)
	}
	if !domain.OccurredAt(cmd).IsZero() {
		t.Fatal("the command must leave occurred_at to the server clock")
	}
	parent := domain.NewExhibit(readDomainEvents(t, e, domain.ExhibitStream(uuid.MustParse(bale)))...)
	rel := parent.Related()
	view := domain.NewView(parent, domain.NewCase(readDomainEvents(t, e, domain.CaseStream(rel.Cases[0]))...))
	for _, id := range rel.Seizures {
		view.Add(domain.NewSeizure(readDomainEvents(t, e, domain.SeizureStream(id))...))
	}
	p := domain.Principal{User: "karim", Agency: "MA-DOUANE-TGM", Roles: []domain.Role{"custodian"}}
	d, err := domain.Decide(p, cmd, view, time.Now(), k)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Appends) < 2 {
		t.Fatalf("take-sub-sample decided %d appends, want several", len(d.Appends))
	}
	first := d.Appends[0]
	corr := domain.EventID(p, k, 0)
	var evs []eventstore.EventData
	for _, ne := range first.Events {
		typ, ver, payload, err := domain.Encode(ne.Event)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, eventstore.EventData{ID: ne.ID, Type: typ, SchemaVersion: ver, Payload: payload, OccurredAt: ne.OccurredAt,
			Actor: ledger.Actor{User: p.User, Agency: p.Agency, Role: string(d.Role)}, CorrelationID: corr, CausationID: corr})
	}
	if _, err := e.store.Append(ctx, first.Stream, eventstore.NoStream, evs...); err != nil {
		t.Fatal(err)
	}

	e.advance(time.Hour)
	r := e.do("karim", "POST", "/v1/commands/take-sub-sample", raw, "Idempotency-Key", k)
	if r.Status != 200 {
		t.Fatalf("retry after the interruption: got %d, want 200: %s", r.Status, r.Body)
	}
	stored, err := e.store.ReadStream(ctx, first.Stream, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(evs) {
		t.Fatalf("%s holds %d events after the retry, want the %d of the first attempt", first.Stream, len(stored), len(evs))
	}
	for i := range stored {
		if stored[i].EventID != evs[i].ID || !stored[i].OccurredAt.Equal(evs[i].OccurredAt) {
			t.Errorf("event %d: got %s at %v, want %s at %v", i, stored[i].EventID, stored[i].OccurredAt, evs[i].ID, evs[i].OccurredAt)
		}
	}
	taken := readDomainEvents(t, e, domain.ExhibitStream(uuid.MustParse(bale)))
	if typ, _, _, err := domain.Encode(taken[len(taken)-1]); err != nil || typ != "SubSampleTaken" {
		t.Errorf("the parent's last event is %s (%v), want SubSampleTaken", typ, err)
	}
}

func readDomainEvents(t *testing.T, e *env, stream string) []domain.Event {
	t.Helper()
	recs, err := e.store.ReadStream(context.Background(), stream, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]domain.Event, len(recs))
	for i := range recs {
		if out[i], err = domain.Decode(recs[i].Type, recs[i].SchemaVersion, recs[i].Payload); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
