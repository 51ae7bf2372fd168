package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

// testEnvelope checks that every event read carries the envelope its writer
// proposed, the store's additions (stream, revision, recorded_at, payload
// digest) and the hash chain as ledger.Link computes it.
func (s *suite) testEnvelope(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)
	start := time.Now()

	proposed := map[uuid.UUID]eventstore.EventData{}
	streams := []string{"exhibit-env-1", "exhibit-env-2"}
	for i := range 6 {
		evs := newEvents("ExhibitWeighed", 1+i%3)
		// Vary every field a writer controls.
		evs[0].Actor = ledger.Actor{User: "analyste-é", Agency: "MA-ADII-Tanger Med", Role: "analyst"}
		evs[0].OccurredAt = time.Date(1999+i, 12, 31, 23, 59, 59, 999999999-i, time.FixedZone("WEST", 3600))
		evs[0].Payload = []byte(`  {"note": "espaces et unicode: scellé n° 7 — ☂", "z": [1, 2.50, -0]}  `)
		evs[0].SchemaVersion = uint32(2 + i)
		evs[0].CausationID = uuid.Nil
		for _, e := range evs {
			proposed[e.ID] = e
		}
		mustAppend(t, ctx, st, streams[i%2], eventstore.Any, evs...)
	}
	end := time.Now()

	check := func(t *testing.T, what string, got []eventstore.RecordedEvent) {
		t.Helper()
		for _, e := range got {
			p, ok := proposed[e.EventID]
			if !ok {
				t.Fatalf("%s: got unknown event %s", what, e.EventID)
			}
			if !eventstore.SameContent(&e, &p) {
				t.Fatalf("%s: event %s: got %+v payload %q, want the proposed %+v payload %q", what, e.EventID, e.Envelope, e.Payload, p, p.Payload)
			}
			if !e.OccurredAt.Equal(p.OccurredAt) {
				t.Fatalf("%s: event %s: got occurred_at %v, want %v", what, e.EventID, e.OccurredAt, p.OccurredAt)
			}
			if e.RecordedAt.IsZero() {
				t.Fatalf("%s: event %s: got zero recorded_at, want the store's clock", what, e.EventID)
			}
			if d := ledger.PayloadDigest(e.Payload); e.PayloadDigest != d {
				t.Fatalf("%s: event %s: got payload digest %s, want %s", what, e.EventID, e.PayloadDigest, d)
			}
		}
	}

	for _, stream := range streams {
		got := readStream(t, ctx, st, stream)
		check(t, stream, got)
		checkChain(t, got)
		for _, e := range got {
			if e.Stream != stream {
				t.Fatalf("read %s: got event of stream %q", stream, e.Stream)
			}
		}
	}
	all := readAll(t, ctx, st)
	check(t, "global order", all)
	if len(all) != len(proposed) {
		t.Fatalf("global order: got %d events, want %d", len(all), len(proposed))
	}
	// The global order carries the same envelopes and hashes as the streams.
	byID := map[uuid.UUID]eventstore.RecordedEvent{}
	for _, stream := range streams {
		for _, e := range readStream(t, ctx, st, stream) {
			byID[e.EventID] = e
		}
	}
	for _, e := range all {
		se := byID[e.EventID]
		if se.Hash != e.Hash || se.Envelope.PrevHash != e.PrevHash || !se.RecordedAt.Equal(e.RecordedAt) || se.Revision != e.Revision || se.Position != e.Position {
			t.Fatalf("event %s: read all gives %+v hash %s, read stream gives %+v hash %s", e.EventID, e.Envelope, e.Hash, se.Envelope, se.Hash)
		}
	}
	// recorded_at is the store's clock: it cannot run backwards within a
	// stream. (It may be injected, so its distance to the test's clock is
	// only reported.)
	for _, stream := range streams {
		got := readStream(t, ctx, st, stream)
		for i := 1; i < len(got); i++ {
			if got[i].RecordedAt.Before(got[i-1].RecordedAt) {
				t.Fatalf("%s: recorded_at of revision %d: got %v, before %v of revision %d", stream, i, got[i].RecordedAt, got[i-1].RecordedAt, i-1)
			}
		}
		if r := got[0].RecordedAt; r.Before(start.Add(-time.Second)) || r.After(end.Add(time.Second)) {
			t.Logf("%s: recorded_at %v is outside the test's run [%v, %v]: an injected clock?", stream, r, start, end)
		}
	}
}

// checkChain checks that evs, a stream read forwards from revision 0, link
// into the hash chain ledger.Link computes, and verify with VerifyChain.
func checkChain(t *testing.T, evs []eventstore.RecordedEvent) {
	t.Helper()
	var prev ledger.Hash
	envs := make([]ledger.Envelope, len(evs))
	hashes := make([]ledger.Hash, len(evs))
	for i, e := range evs {
		if e.Revision != uint64(i) {
			t.Fatalf("%s event %d: got revision %d, want %d", e.Stream, i, e.Revision, i)
		}
		if e.PrevHash != prev {
			t.Fatalf("%s@%d: got prev_hash %s, want %s (the previous revision's hash)", e.Stream, i, e.PrevHash, prev)
		}
		env := e.Envelope
		h, err := ledger.Link(&env, prev)
		if err != nil {
			t.Fatalf("%s@%d: link: got %v, want no error", e.Stream, i, err)
		}
		if h != e.Hash {
			t.Fatalf("%s@%d: got hash %s, want %s as ledger.Link computes it", e.Stream, i, e.Hash, h)
		}
		if d := ledger.PayloadDigest(e.Payload); e.PayloadDigest != d {
			t.Fatalf("%s@%d: got payload digest %s, want %s", e.Stream, i, e.PayloadDigest, d)
		}
		envs[i], hashes[i] = e.Envelope, e.Hash
		prev = h
	}
	if err := ledger.VerifyChain(envs, hashes); err != nil {
		t.Fatalf("verify chain: got %v, want no error", err)
	}
}
