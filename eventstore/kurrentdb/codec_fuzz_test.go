package kurrentdb

import (
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/ledger"
)

// FuzzDecodeEvent feeds arbitrary metadata to the decoder: it never
// panics, and whatever it accepts encodes and decodes back to the same
// envelope and hash.
func FuzzDecodeEvent(f *testing.F) {
	e := sealed(f, "exhibit-7", 2, ledger.PayloadDigest([]byte("x")))
	d, err := encodeEvent(&e)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(d.Metadata, uint64(2), "exhibit-7")
	f.Add([]byte(`{"scelle_metadata":1,"stream":"s","revision":0,"occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00Z"}`), uint64(0), "s")
	f.Add([]byte(`{"scelle_metadata":1,"hash":"00"}`), uint64(0), "s")
	f.Add([]byte(`null`), uint64(0), "s")
	f.Fuzz(func(t *testing.T, meta []byte, rev uint64, stream string) {
		r := &esdb.RecordedEvent{EventID: uuid.New(), EventType: "T", StreamID: stream, EventNumber: rev,
			Position: esdb.Position{Commit: 4096, Prepare: 4096}, Data: []byte(`{}`), UserMetadata: meta}
		got, err := decodeEvent("", r)
		if err != nil {
			return
		}
		d, err := encodeEvent(&got)
		if err != nil {
			return // a decoded time outside what JSON encodes: refused on write
		}
		r.UserMetadata = d.Metadata
		again, err := decodeEvent("", r)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", d.Metadata, err)
		}
		if !sameEnvelope(again.Envelope, got.Envelope) || again.Hash != got.Hash {
			t.Fatalf("round trip: got %+v, want %+v", again.Envelope, got.Envelope)
		}
	})
}
