package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
)

// payloadOfSize returns a JSON object of exactly n bytes (n >= 8).
func payloadOfSize(n int) []byte {
	return []byte(`{"x":"` + strings.Repeat("a", n-8) + `"}`)
}

// eventSize is how eventstore.MaxEventSize counts an event.
func eventSize(e eventstore.EventData) int {
	return len(e.Payload) + len(e.Type) + len(e.Actor.User) + len(e.Actor.Agency) + len(e.Actor.Role)
}

// testBadInput checks that each malformed append fails with an
// *InvalidError naming the field, and writes nothing.
func (s *suite) testBadInput(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)
	mustAppend(t, ctx, st, "exhibit-ok", eventstore.NoStream, newEvent("ExhibitRegistered"))
	base := len(readAll(t, ctx, st))

	with := func(change func(e *eventstore.EventData)) eventstore.EventData {
		e := newEvent("ExhibitWeighed")
		change(&e)
		return e
	}
	over := with(func(e *eventstore.EventData) {})
	over.Payload = payloadOfSize(eventstore.MaxEventSize - eventSize(over) + len(over.Payload) + 1)
	dup := newEvent("ExhibitWeighed")

	cases := []struct {
		name     string
		stream   string
		expected eventstore.ExpectedRevision
		events   []eventstore.EventData
		field    string
	}{
		{"empty stream name", "", eventstore.Any, []eventstore.EventData{newEvent("T")}, "stream"},
		{"space in stream name", "exhibit 1", eventstore.Any, []eventstore.EventData{newEvent("T")}, "stream"},
		{"tab in stream name", "exhibit\t1", eventstore.Any, []eventstore.EventData{newEvent("T")}, "stream"},
		{"control char in stream name", "exhibit-\x01", eventstore.Any, []eventstore.EventData{newEvent("T")}, "stream"},
		{"NUL in stream name", "exhibit-\x00", eventstore.Any, []eventstore.EventData{newEvent("T")}, "stream"},
		{"invalid UTF-8 stream name", "exhibit-\xff\xfe", eventstore.Any, []eventstore.EventData{newEvent("T")}, "stream"},
		{"stream name starting with $", "$all", eventstore.Any, []eventstore.EventData{newEvent("T")}, "stream"},
		{"stream name over 255 bytes", "exhibit-" + strings.Repeat("x", 248), eventstore.Any, []eventstore.EventData{newEvent("T")}, "stream"},
		{"zero expected revision", "exhibit-1", eventstore.ExpectedRevision{}, []eventstore.EventData{newEvent("T")}, "expected_revision"},
		{"no events", "exhibit-1", eventstore.Any, nil, "events"},
		{"event over 1 MiB", "exhibit-1", eventstore.Any, []eventstore.EventData{over}, "events[0].payload"},
		{"payload not JSON", "exhibit-1", eventstore.Any, []eventstore.EventData{with(func(e *eventstore.EventData) { e.Payload = []byte("net weight 12 g") })}, "events[0].payload"},
		{"truncated JSON payload", "exhibit-1", eventstore.Any, []eventstore.EventData{with(func(e *eventstore.EventData) { e.Payload = []byte(`{"net_mg": 12`) })}, "events[0].payload"},
		{"empty payload", "exhibit-1", eventstore.Any, []eventstore.EventData{with(func(e *eventstore.EventData) { e.Payload = nil })}, "events[0].payload"},
		{"nil event id", "exhibit-1", eventstore.Any, []eventstore.EventData{with(func(e *eventstore.EventData) { e.ID = uuid.Nil })}, "events[0].id"},
		{"empty event type", "exhibit-1", eventstore.Any, []eventstore.EventData{with(func(e *eventstore.EventData) { e.Type = "" })}, "events[0].type"},
		{"zero schema version", "exhibit-1", eventstore.Any, []eventstore.EventData{with(func(e *eventstore.EventData) { e.SchemaVersion = 0 })}, "events[0].schema_version"},
		{"zero occurred_at", "exhibit-1", eventstore.Any, []eventstore.EventData{with(func(e *eventstore.EventData) { e.OccurredAt = time.Time{} })}, "events[0].occurred_at"},
		{"bad second event", "exhibit-1", eventstore.Any, []eventstore.EventData{newEvent("T"), with(func(e *eventstore.EventData) { e.Payload = []byte("{") })}, "events[1].payload"},
		{"duplicate id", "exhibit-1", eventstore.Any, []eventstore.EventData{dup, newEvent("T"), dup}, "events[2].id"},
		{"bad input to an existing stream", "exhibit-ok", eventstore.Exact(0), []eventstore.EventData{with(func(e *eventstore.EventData) { e.ID = uuid.Nil })}, "events[0].id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := st.Append(ctx, c.stream, c.expected, c.events...)
			wantInvalid(t, err, c.field)
			wantGlobalLen(t, ctx, st, base)
		})
	}

	t.Run("largest event accepted", func(t *testing.T) {
		e := newEvent("ExhibitPhotographed")
		e.Payload = payloadOfSize(eventstore.MaxEventSize - eventSize(e) + len(e.Payload))
		if got := eventSize(e); got != eventstore.MaxEventSize {
			t.Fatalf("test event size: got %d, want %d", got, eventstore.MaxEventSize)
		}
		mustAppend(t, ctx, st, "exhibit-big", eventstore.NoStream, e)
		got := readStream(t, ctx, st, "exhibit-big")
		if len(got) != 1 || string(got[0].Payload) != string(e.Payload) {
			t.Fatalf("read back the largest event: got %d events, want 1 with its %d-byte payload", len(got), len(e.Payload))
		}
		// The longest valid stream name is accepted too.
		mustAppend(t, ctx, st, strings.Repeat("s", eventstore.MaxStreamNameLength), eventstore.NoStream, newEvent("T"))
	})
}

// testClosedStore checks that every call on a closed store fails with
// ErrClosed.
func (s *suite) testClosedStore(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)
	mustAppend(t, ctx, st, "exhibit-1", eventstore.NoStream, newEvent("ExhibitRegistered"))
	if err := st.Close(); err != nil {
		t.Fatalf("close: got %v, want no error", err)
	}
	_, err := st.Append(ctx, "exhibit-1", eventstore.Any, newEvent("ExhibitSealed"))
	wantErr(t, "append", err, eventstore.ErrClosed)
	_, err = st.Append(ctx, "exhibit-2", eventstore.NoStream, newEvent("ExhibitSealed"))
	wantErr(t, "append to a new stream", err, eventstore.ErrClosed)
	_, err = st.ReadStream(ctx, "exhibit-1", eventstore.ReadOptions{})
	wantErr(t, "read stream", err, eventstore.ErrClosed)
	_, err = st.ReadAll(ctx, eventstore.ReadOptions{})
	wantErr(t, "read all", err, eventstore.ErrClosed)
	_, err = st.SubscribeAll(ctx, eventstore.SubscribeOptions{})
	wantErr(t, "subscribe", err, eventstore.ErrClosed)
}

// testCancelledContext checks that calls with a cancelled context fail with
// the context's error and write nothing.
func (s *suite) testCancelledContext(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)
	mustAppend(t, ctx, st, "exhibit-1", eventstore.NoStream, newEvent("ExhibitRegistered"))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := st.Append(cctx, "exhibit-1", eventstore.Exact(0), newEvent("ExhibitSealed"))
	wantErr(t, "append", err, context.Canceled)
	_, err = st.Append(cctx, "exhibit-2", eventstore.NoStream, newEvents("ExhibitSealed", 3)...)
	wantErr(t, "append to a new stream", err, context.Canceled)
	_, err = st.ReadStream(cctx, "exhibit-1", eventstore.ReadOptions{})
	wantErr(t, "read stream", err, context.Canceled)
	_, err = st.ReadAll(cctx, eventstore.ReadOptions{})
	wantErr(t, "read all", err, context.Canceled)
	wantGlobalLen(t, ctx, st, 1)
	wantStreamNotFound(t, ctx, st, "exhibit-2")
	// The store is still usable with a live context.
	if res := mustAppend(t, ctx, st, "exhibit-1", eventstore.Exact(0), newEvent("ExhibitSealed")); res.Revision != 1 {
		t.Fatalf("append after a cancelled one: got revision %d, want 1", res.Revision)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}
