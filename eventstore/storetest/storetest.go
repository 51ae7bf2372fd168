// Package storetest owns the conformance suite of the eventstore.Store port:
// the one set of tests that every adapter (the embedded SQLite store, the
// KurrentDB adapter, any fake) must pass, so that they stay interchangeable.
//
// An adapter's test calls Run (or Options.Run) with a function that opens a
// new, empty store. Each subtest opens its own store; the suite closes the
// stores it closes on purpose, and open is expected to register its own
// cleanup (a second Close after the suite's may return ErrClosed).
//
// The suite checks, in this order: expected revisions and their conflict
// error, racing writers on one stream, deterministic idempotency, the global
// order against commit order, reads of streams and of the global order, the
// envelope and hash chain of every event read, catch-up subscriptions across
// the catch-up to live switch, large streams, and bad input.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

// Options says what an adapter guarantees beyond the port's minimum.
type Options struct {
	// DensePositions: global positions are 0, 1, 2, ... with no gap (the
	// SQLite adapter's, equal to the Merkle leaf index). Without it the
	// suite only requires strictly increasing positions (KurrentDB's are
	// byte offsets in its transaction log).
	DensePositions bool
	// LargeStreamEvents is the size of the large-stream test. Zero means
	// 100,000, or 5,000 under -short.
	LargeStreamEvents int
}

// Run runs the suite with the port's minimum guarantees (positions strictly
// increasing, not necessarily dense).
func Run(t *testing.T, open func(t *testing.T) eventstore.Store) {
	t.Helper()
	Options{}.Run(t, open)
}

// Run runs the whole suite against the stores open returns.
func (o Options) Run(t *testing.T, open func(t *testing.T) eventstore.Store) {
	t.Helper()
	s := &suite{opts: o, open: open}
	t.Run("ExpectedRevision", s.testExpectedRevision)
	t.Run("RacingExactRevisions", s.testRacingExactRevisions)
	t.Run("RacingRetryOnConflict", s.testRacingRetryOnConflict)
	t.Run("Idempotency", s.testIdempotency)
	t.Run("GlobalOrderIsCommitOrder", s.testGlobalOrder)
	t.Run("ReadAllPagingUnderLoad", s.testPagingUnderLoad)
	t.Run("ReadStream", s.testReadStream)
	t.Run("ReadAll", s.testReadAll)
	t.Run("Envelope", s.testEnvelope)
	t.Run("Subscribe", s.testSubscribe)
	t.Run("SubscribeCatchUpToLive", s.testSubscribeCatchUpToLive)
	t.Run("SubscribeEnd", s.testSubscribeEnding)
	t.Run("LargeStream", s.testLargeStream)
	t.Run("BadInput", s.testBadInput)
	t.Run("ClosedStore", s.testClosedStore)
	t.Run("CancelledContext", s.testCancelledContext)
}

type suite struct {
	opts Options
	open func(t *testing.T) eventstore.Store
}

// seq numbers the events the suite makes, so that every payload differs.
var seq atomic.Uint64

// baseTime is a business time with nanoseconds and a non-UTC zone, so that
// the round trip of occurred_at is checked to the nanosecond.
var baseTime = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.FixedZone("CET", 3600))

var testActor = ledger.Actor{User: "u-0042", Agency: "FR-DGDDI-BSI-Marseille", Role: "officer"}

// newEvent returns a valid event of the given type with a fresh ID and a
// payload that no other event of the run has.
func newEvent(typ string) eventstore.EventData {
	n := seq.Add(1)
	return eventstore.EventData{
		ID:            uuid.New(),
		Type:          typ,
		SchemaVersion: 1,
		Payload:       fmt.Appendf(nil, `{"n":%d,"exhibit":"3 of 12","net_mg":%d}`, n, 1000+n),
		OccurredAt:    baseTime.Add(time.Duration(n) * time.Nanosecond),
		Actor:         testActor,
		CorrelationID: uuid.New(),
		CausationID:   uuid.New(),
	}
}

func newEvents(typ string, n int) []eventstore.EventData {
	evs := make([]eventstore.EventData, n)
	for i := range evs {
		evs[i] = newEvent(typ)
	}
	return evs
}

func ids(evs []eventstore.EventData) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i := range evs {
		out[i] = evs[i].ID
	}
	return out
}

func recordedIDs(evs []eventstore.RecordedEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i := range evs {
		out[i] = evs[i].EventID
	}
	return out
}

func positions(evs []eventstore.RecordedEvent) []uint64 {
	out := make([]uint64, len(evs))
	for i := range evs {
		out[i] = evs[i].Position
	}
	return out
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustAppend(t *testing.T, ctx context.Context, s eventstore.Store, stream string, expected eventstore.ExpectedRevision, evs ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(ctx, stream, expected, evs...)
	if err != nil {
		t.Fatalf("append %d events to %s expecting %v: got %v, want no error", len(evs), stream, expected, err)
	}
	return res
}

// readAll reads the whole global order forwards.
func readAll(t *testing.T, ctx context.Context, s eventstore.Store) []eventstore.RecordedEvent {
	t.Helper()
	evs, err := s.ReadAll(ctx, eventstore.ReadOptions{Direction: eventstore.Forwards, From: eventstore.Start})
	if err != nil {
		t.Fatalf("read all: got %v, want no error", err)
	}
	return evs
}

// readStream reads a whole stream forwards.
func readStream(t *testing.T, ctx context.Context, s eventstore.Store, stream string) []eventstore.RecordedEvent {
	t.Helper()
	evs, err := s.ReadStream(ctx, stream, eventstore.ReadOptions{Direction: eventstore.Forwards, From: eventstore.Start})
	if err != nil {
		t.Fatalf("read stream %s: got %v, want no error", stream, err)
	}
	return evs
}

// wantStreamNotFound checks that stream has no event.
func wantStreamNotFound(t *testing.T, ctx context.Context, s eventstore.Store, stream string) {
	t.Helper()
	evs, err := s.ReadStream(ctx, stream, eventstore.ReadOptions{From: eventstore.Start})
	if !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("read stream %s: got %d events and error %v, want %v", stream, len(evs), err, eventstore.ErrStreamNotFound)
	}
}

// wantWrongRevision checks err is the conflict error with the given fields.
func wantWrongRevision(t *testing.T, err error, stream string, expected eventstore.ExpectedRevision, actual uint64, exists bool) {
	t.Helper()
	if !errors.Is(err, eventstore.ErrWrongRevision) {
		t.Fatalf("append to %s expecting %v: got %v, want an error matching %v", stream, expected, err, eventstore.ErrWrongRevision)
	}
	var wre *eventstore.WrongRevisionError
	if !errors.As(err, &wre) {
		t.Fatalf("append to %s expecting %v: got %T (%v), want *eventstore.WrongRevisionError", stream, expected, err, err)
	}
	if wre.Stream != stream {
		t.Errorf("conflict stream: got %q, want %q", wre.Stream, stream)
	}
	if wre.Expected != expected {
		t.Errorf("conflict expected revision: got %v, want %v", wre.Expected, expected)
	}
	if wre.Exists != exists {
		t.Errorf("conflict on %s expecting %v: got Exists %v, want %v", stream, expected, wre.Exists, exists)
	}
	if exists && wre.Actual != actual {
		t.Errorf("conflict on %s expecting %v: got actual revision %d, want %d", stream, expected, wre.Actual, actual)
	}
}

// wantInvalid checks err is an *InvalidError naming field.
func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	if !errors.Is(err, eventstore.ErrInvalid) {
		t.Fatalf("got %v, want an error matching %v on field %q", err, eventstore.ErrInvalid, field)
	}
	var ie *eventstore.InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("got %T (%v), want *eventstore.InvalidError", err, err)
	}
	if ie.Field != field {
		t.Errorf("invalid field: got %q (%v), want %q", ie.Field, err, field)
	}
}

// wantIDReused checks err is an *IDReusedError naming one of ids.
func wantIDReused(t *testing.T, err error, ids ...uuid.UUID) {
	t.Helper()
	if !errors.Is(err, eventstore.ErrIDReused) {
		t.Fatalf("got %v, want an error matching %v for id %v", err, eventstore.ErrIDReused, ids)
	}
	var ire *eventstore.IDReusedError
	if !errors.As(err, &ire) {
		t.Fatalf("got %T (%v), want *eventstore.IDReusedError", err, err)
	}
	if !slices.Contains(ids, ire.ID) {
		t.Errorf("reused id: got %s, want one of %v", ire.ID, ids)
	}
}

// wantGlobalLen checks the global order still holds n events (nothing was
// written by a failed call).
func wantGlobalLen(t *testing.T, ctx context.Context, s eventstore.Store, n int) {
	t.Helper()
	if got := len(readAll(t, ctx, s)); got != n {
		t.Fatalf("events in the global order: got %d, want %d", got, n)
	}
}

// checkPositions checks that the global order's positions are strictly
// increasing, and dense from 0 when the adapter says so.
func (s *suite) checkPositions(t *testing.T, evs []eventstore.RecordedEvent) {
	t.Helper()
	for i := range evs {
		if s.opts.DensePositions && evs[i].Position != uint64(i) {
			t.Fatalf("position of global event %d: got %d, want %d (dense positions)", i, evs[i].Position, i)
		}
		if i > 0 && evs[i].Position <= evs[i-1].Position {
			t.Fatalf("position of global event %d: got %d after %d, want strictly increasing", i, evs[i].Position, evs[i-1].Position)
		}
	}
}

// checkSameEvents checks that got lists the events of want, in order.
func checkSameEvents(t *testing.T, what string, got []eventstore.RecordedEvent, want []uuid.UUID) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d events, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i].EventID != want[i] {
			t.Fatalf("%s: event %d: got id %s, want %s", what, i, got[i].EventID, want[i])
		}
	}
}
