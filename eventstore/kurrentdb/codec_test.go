package kurrentdb

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

func TestConnectionString(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"esdb://localhost:2113?tls=false", "esdb://localhost:2113?tls=false"},
		{"kurrentdb://localhost:32768?tls=false", "esdb://localhost:32768?tls=false"},
		{"kurrent://127.0.0.1:2113", "esdb://127.0.0.1:2113"},
		{"KurrentDB://admin:changeit@node1:2113,node2:2113", "esdb://admin:changeit@node1:2113,node2:2113"},
		{"esdb+discover://cluster.dns:2113", "esdb+discover://cluster.dns:2113"},
		{"kurrentdb+discover://cluster.dns:2113?tls=true", "esdb+discover://cluster.dns:2113?tls=true"},
		{"kurrent+discover://cluster.dns", "esdb+discover://cluster.dns"},
	} {
		got, err := ConnectionString(c.in)
		if err != nil || got != c.want {
			t.Errorf("ConnectionString(%q): got %q, %v, want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "localhost:2113", "http://localhost:2113", "esdb://", "tcp://x:1113"} {
		_, err := ConnectionString(in)
		var ie *eventstore.InvalidError
		if !errors.As(err, &ie) || ie.Field != "url" {
			t.Errorf("ConnectionString(%q): got %v, want an *eventstore.InvalidError on field url", in, err)
		}
	}
}

// sealed returns an event as Append stores it: envelope, hash, payload.
func sealed(t testing.TB, stream string, rev uint64, prev ledger.Hash) eventstore.RecordedEvent {
	t.Helper()
	payload := []byte(`  {"note": "scellé n° 7 — ☂", "net_mg": 12500}  `)
	e := eventstore.RecordedEvent{
		Envelope: ledger.Envelope{
			EventID:       uuid.New(),
			Stream:        stream,
			Revision:      rev,
			Type:          "ExhibitWeighed",
			SchemaVersion: 3,
			OccurredAt:    time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("WEST", 3600)),
			RecordedAt:    time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC),
			Actor:         ledger.Actor{User: "analyste-é", Agency: "MA-ADII-Tanger Med", Role: "analyst"},
			CorrelationID: uuid.New(),
			CausationID:   uuid.Nil,
			PayloadDigest: ledger.PayloadDigest(payload),
		},
		Payload: payload,
	}
	h, err := ledger.Link(&e.Envelope, prev)
	if err != nil {
		t.Fatalf("link: %v", err)
	}
	e.Hash = h
	return e
}

// stored is what KurrentDB gives back for data written as d.
func stored(ns string, d esdb.EventData, rev, pos uint64) *esdb.RecordedEvent {
	return &esdb.RecordedEvent{
		EventID:      d.EventID,
		EventType:    d.EventType,
		ContentType:  "application/json",
		StreamID:     ns + "exhibit-7",
		EventNumber:  rev,
		Position:     esdb.Position{Commit: pos, Prepare: pos},
		CreatedDate:  time.Now(),
		Data:         d.Data,
		UserMetadata: d.Metadata,
	}
}

func TestEventCodec_RoundTrip(t *testing.T) {
	prev := ledger.PayloadDigest([]byte("previous"))
	e := sealed(t, "exhibit-7", 4, prev)
	d, err := encodeEvent(&e)
	if err != nil {
		t.Fatalf("encode: got %v, want no error", err)
	}
	if d.EventID != e.EventID || d.EventType != e.Type || d.ContentType != esdb.ContentTypeJson || string(d.Data) != string(e.Payload) {
		t.Fatalf("encode: got %+v, want id, type, JSON content type and the payload byte for byte", d)
	}
	got, err := decodeEvent("ns-", stored("ns-", d, 4, 987654))
	if err != nil {
		t.Fatalf("decode: got %v, want no error", err)
	}
	if !sameEnvelope(got.Envelope, e.Envelope) {
		t.Fatalf("decode: got envelope %+v, want %+v", got.Envelope, e.Envelope)
	}
	if got.Hash != e.Hash || got.PrevHash != prev || string(got.Payload) != string(e.Payload) || got.Position != 987654 {
		t.Fatalf("decode: got hash %s prev %s payload %q position %d, want %s %s %q 987654", got.Hash, got.PrevHash, got.Payload, got.Position, e.Hash, prev, e.Payload)
	}
	// The decoded envelope hashes to the stored hash: nothing the hash
	// covers was lost (times to the nanosecond, offsets, UTF-8).
	h, err := ledger.Link(&got.Envelope, got.PrevHash)
	if err != nil || h != e.Hash {
		t.Fatalf("hash of the decoded envelope: got %s, %v, want %s", h, err, e.Hash)
	}
	if _, off := got.OccurredAt.Zone(); off != 3600 {
		t.Fatalf("occurred_at offset: got %d, want 3600 (the writer's)", off)
	}
	// The metadata is readable JSON with the documented fields.
	var m map[string]any
	if err := json.Unmarshal(d.Metadata, &m); err != nil {
		t.Fatalf("metadata is not JSON: %v", err)
	}
	for _, k := range []string{"scelle_metadata", "stream", "revision", "schema_version", "occurred_at", "recorded_at", "actor", "correlation_id", "causation_id", "payload_digest", "prev_hash", "hash"} {
		if _, ok := m[k]; !ok {
			t.Errorf("metadata: got no %q in %s", k, d.Metadata)
		}
	}
	if m["occurred_at"] != "1999-12-31T23:59:59.999999999+01:00" {
		t.Errorf("metadata occurred_at: got %v, want RFC 3339 with nanoseconds and offset", m["occurred_at"])
	}
}

func sameEnvelope(a, b ledger.Envelope) bool {
	return a.EventID == b.EventID && a.Stream == b.Stream && a.Revision == b.Revision && a.Type == b.Type &&
		a.SchemaVersion == b.SchemaVersion && a.OccurredAt.Equal(b.OccurredAt) && a.RecordedAt.Equal(b.RecordedAt) &&
		a.Actor == b.Actor && a.CorrelationID == b.CorrelationID && a.CausationID == b.CausationID &&
		a.PayloadDigest == b.PayloadDigest && a.PrevHash == b.PrevHash
}

func TestEventCodec_Refuses(t *testing.T) {
	e := sealed(t, "exhibit-7", 2, ledger.Hash{})
	d, err := encodeEvent(&e)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	withMeta := func(change func(m map[string]any)) *esdb.RecordedEvent {
		var m map[string]any
		if err := json.Unmarshal(d.Metadata, &m); err != nil {
			t.Fatal(err)
		}
		change(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		r := stored("", d, 2, 5000)
		r.UserMetadata = b
		return r
	}
	cases := map[string]struct {
		ns   string
		r    *esdb.RecordedEvent
		want string
	}{
		"no event":            {"", nil, "no event"},
		"moved to a revision": {"", stored("", d, 3, 5000), "moved or copied"},
		"copied to a stream":  {"", func() *esdb.RecordedEvent { r := stored("", d, 2, 5000); r.StreamID = "exhibit-8"; return r }(), "moved or copied"},
		"outside namespace":   {"other-", stored("", d, 2, 5000), "outside namespace"},
		"no metadata":         {"", func() *esdb.RecordedEvent { r := stored("", d, 2, 5000); r.UserMetadata = nil; return r }(), "not scelle's envelope"},
		"foreign metadata":    {"", withMeta(func(m map[string]any) { m["$correlationId"] = "x" }), "not scelle's envelope"},
		"newer format":        {"", withMeta(func(m map[string]any) { m["scelle_metadata"] = 2 }), "format 2"},
		"bad hash":            {"", withMeta(func(m map[string]any) { m["hash"] = "zz" }), "not scelle's envelope"},
		"no position":         {"", func() *esdb.RecordedEvent { r := stored("", d, 2, 0); r.Position.Commit = math.MaxUint64; return r }(), "did not report its position"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := decodeEvent(c.ns, c.r)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error saying %q", err, c.want)
			}
		})
	}
}

func TestOurs(t *testing.T) {
	for _, c := range []struct {
		ns, stream, typ string
		want            bool
	}{
		{"", "exhibit-1", "ExhibitSealed", true},
		{"", "$settings", "$settings", false},
		{"", "$$exhibit-1", "$metadata", false},
		{"", "$ce-exhibit", "$>", false},
		{"", "exhibit-1", "$metadata", false},
		{"t1-", "t1-exhibit-1", "ExhibitSealed", true},
		{"t1-", "t10-exhibit-1", "ExhibitSealed", false},
		{"t1-", "exhibit-1", "ExhibitSealed", false},
		{"t1-", "t1-", "ExhibitSealed", false},
	} {
		if got := ours(c.ns, c.stream, c.typ); got != c.want {
			t.Errorf("ours(%q, %q, %q): got %v, want %v", c.ns, c.stream, c.typ, got, c.want)
		}
	}
}
