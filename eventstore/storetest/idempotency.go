package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

// testIdempotency checks deterministic idempotency: a retry of the same
// events returns the original result and writes nothing, whatever the
// expected revision; an ID reused otherwise is refused.
func (s *suite) testIdempotency(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)
	const stream = "exhibit-retried"

	first := newEvents("ExhibitRegistered", 2)
	orig := mustAppend(t, ctx, st, stream, eventstore.NoStream, first...)
	// Move the stream and the global order on, so that a retry that wrote
	// again or answered from the current head would show.
	later := newEvent("ExhibitSealed")
	mustAppend(t, ctx, st, stream, eventstore.Exact(1), later)
	mustAppend(t, ctx, st, "exhibit-other", eventstore.NoStream, newEvent("ExhibitRegistered"))
	before := readAll(t, ctx, st)

	t.Run("same events", func(t *testing.T) {
		for _, exp := range []eventstore.ExpectedRevision{eventstore.NoStream, eventstore.Any, eventstore.StreamExists, eventstore.Exact(0), eventstore.Exact(1), eventstore.Exact(2), eventstore.Exact(99)} {
			res, err := st.Append(ctx, stream, exp, first...)
			if err != nil {
				t.Fatalf("retry expecting %v: got %v, want the original result", exp, err)
			}
			if res != orig {
				t.Fatalf("retry expecting %v: got %+v, want the original %+v", exp, res, orig)
			}
		}
		single := mustAppend(t, ctx, st, stream, eventstore.Exact(0), later)
		if single.Revision != 2 {
			t.Fatalf("retry of a later single event: got revision %d, want 2", single.Revision)
		}
		after := readAll(t, ctx, st)
		checkSameEvents(t, "global order after retries", after, recordedIDs(before))
		for i := range after {
			if after[i].Position != before[i].Position {
				t.Fatalf("global event %d: got position %d after retries, want %d", i, after[i].Position, before[i].Position)
			}
		}
	})

	t.Run("other content", func(t *testing.T) {
		cases := map[string]func(e *eventstore.EventData){
			"payload":        func(e *eventstore.EventData) { e.Payload = []byte(`{"n":-1}`) },
			"type":           func(e *eventstore.EventData) { e.Type = "ExhibitDestroyed" },
			"schema version": func(e *eventstore.EventData) { e.SchemaVersion++ },
			"occurred at":    func(e *eventstore.EventData) { e.OccurredAt = e.OccurredAt.Add(time.Nanosecond) },
			"actor":          func(e *eventstore.EventData) { e.Actor = ledger.Actor{User: "u-9", Agency: "MA-ADII", Role: "officer"} },
			"correlation":    func(e *eventstore.EventData) { e.CorrelationID[0] ^= 1 },
			"causation":      func(e *eventstore.EventData) { e.CausationID[0] ^= 1 },
		}
		for name, change := range cases {
			changed := append([]eventstore.EventData(nil), first...)
			changed[1].Payload = append([]byte(nil), first[1].Payload...)
			change(&changed[1])
			_, err := st.Append(ctx, stream, eventstore.Any, changed...)
			t.Run(name, func(t *testing.T) { wantIDReused(t, err, first[1].ID) })
		}
		wantGlobalLen(t, ctx, st, len(before))
	})

	t.Run("other stream", func(t *testing.T) {
		_, err := st.Append(ctx, "exhibit-thief", eventstore.Any, first...)
		wantIDReused(t, err, first[0].ID)
		wantStreamNotFound(t, ctx, st, "exhibit-thief")
		wantGlobalLen(t, ctx, st, len(before))
	})

	t.Run("partial overlap", func(t *testing.T) {
		fresh := newEvent("ExhibitWeighed")
		for name, c := range map[string]struct {
			evs    []eventstore.EventData
			reused []uuid.UUID
		}{
			"new then old":   {[]eventstore.EventData{fresh, first[0]}, []uuid.UUID{first[0].ID}},
			"old then new":   {[]eventstore.EventData{later, fresh}, []uuid.UUID{later.ID}},
			"reordered":      {[]eventstore.EventData{first[1], first[0]}, []uuid.UUID{first[0].ID, first[1].ID}},
			"across appends": {[]eventstore.EventData{first[1], later, fresh}, []uuid.UUID{first[1].ID, later.ID}},
		} {
			_, err := st.Append(ctx, stream, eventstore.Any, c.evs...)
			t.Run(name, func(t *testing.T) { wantIDReused(t, err, c.reused...) })
		}
		if got := len(readStream(t, ctx, st, stream)); got != 3 {
			t.Fatalf("events in %s: got %d, want 3", stream, got)
		}
		wantGlobalLen(t, ctx, st, len(before))
	})

	t.Run("duplicate in one append", func(t *testing.T) {
		ev := newEvent("ExhibitWeighed")
		_, err := st.Append(ctx, "exhibit-dup", eventstore.Any, ev, newEvent("ExhibitWeighed"), ev)
		wantInvalid(t, err, "events[2].id")
		wantStreamNotFound(t, ctx, st, "exhibit-dup")
		wantGlobalLen(t, ctx, st, len(before))
	})
}
