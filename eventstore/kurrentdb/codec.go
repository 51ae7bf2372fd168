package kurrentdb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

// metadataFormat is the version of the metadata layout below. A reader
// refuses a version it does not know.
const metadataFormat = 1

// metadata is the JSON stored as a KurrentDB event's user metadata: the part
// of the ledger.Envelope that KurrentDB does not carry itself (event ID,
// type and stream revision are KurrentDB's own), and the event's hash.
// Stream and revision are repeated so that a reader can tell an event that
// was copied to another stream or place from a genuine one.
type metadata struct {
	Format        int          `json:"scelle_metadata"`
	Stream        string       `json:"stream"`
	Revision      uint64       `json:"revision"`
	SchemaVersion uint32       `json:"schema_version"`
	OccurredAt    time.Time    `json:"occurred_at"`
	RecordedAt    time.Time    `json:"recorded_at"`
	Actor         ledger.Actor `json:"actor"`
	CorrelationID uuid.UUID    `json:"correlation_id"`
	CausationID   uuid.UUID    `json:"causation_id"`
	PayloadDigest ledger.Hash  `json:"payload_digest"`
	PrevHash      ledger.Hash  `json:"prev_hash"`
	Hash          ledger.Hash  `json:"hash"`
}

// encodeEvent returns the KurrentDB event that stores e: the payload as
// JSON data, byte for byte, and the envelope as metadata. occurred_at keeps
// its UTC offset and nanoseconds (RFC 3339); recorded_at is stored in UTC.
func encodeEvent(e *eventstore.RecordedEvent) (esdb.EventData, error) {
	md := metadata{
		Format:        metadataFormat,
		Stream:        e.Stream,
		Revision:      e.Revision,
		SchemaVersion: e.SchemaVersion,
		OccurredAt:    e.OccurredAt,
		RecordedAt:    e.RecordedAt.UTC(),
		Actor:         e.Actor,
		CorrelationID: e.CorrelationID,
		CausationID:   e.CausationID,
		PayloadDigest: e.PayloadDigest,
		PrevHash:      e.PrevHash,
		Hash:          e.Hash,
	}
	b, err := json.Marshal(&md)
	if err != nil {
		return esdb.EventData{}, fmt.Errorf("encode metadata of event %s: %w", e.EventID, err)
	}
	return esdb.EventData{
		EventID:     e.EventID,
		EventType:   e.Type,
		ContentType: esdb.ContentTypeJson,
		Data:        e.Payload,
		Metadata:    b,
	}, nil
}

// ours reports whether a KurrentDB event in $all belongs to this store: a
// stream of the namespace, neither a system stream nor a system event type
// (both start with '$'; scelle refuses such names).
func ours(ns, stream, eventType string) bool {
	return !strings.HasPrefix(stream, "$") && !strings.HasPrefix(eventType, "$") &&
		len(stream) > len(ns) && strings.HasPrefix(stream, ns)
}

// decodeEvent reads a KurrentDB event written by encodeEvent, in the store
// whose namespace is ns, back into a RecordedEvent. Its position is
// KurrentDB's commit position.
func decodeEvent(ns string, r *esdb.RecordedEvent) (eventstore.RecordedEvent, error) {
	if r == nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("decode event: no event (an unresolved link?)")
	}
	where := fmt.Sprintf("decode event %s (%s@%d)", r.EventID, r.StreamID, r.EventNumber)
	if !strings.HasPrefix(r.StreamID, ns) || len(r.StreamID) == len(ns) {
		return eventstore.RecordedEvent{}, fmt.Errorf("%s: stream is outside namespace %q", where, ns)
	}
	stream := r.StreamID[len(ns):]
	dec := json.NewDecoder(bytes.NewReader(r.UserMetadata))
	dec.DisallowUnknownFields()
	var md metadata
	if err := dec.Decode(&md); err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("%s: metadata is not scelle's envelope: %w", where, err)
	}
	switch {
	case md.Format != metadataFormat:
		return eventstore.RecordedEvent{}, fmt.Errorf("%s: metadata format %d, want %d", where, md.Format, metadataFormat)
	case md.Stream != stream || md.Revision != r.EventNumber:
		return eventstore.RecordedEvent{}, fmt.Errorf("%s: envelope says %s@%d: the event was moved or copied", where, md.Stream, md.Revision)
	case r.Position.Commit == math.MaxUint64:
		return eventstore.RecordedEvent{}, fmt.Errorf("%s: the server did not report its position (an EventStoreDB too old for this adapter?)", where)
	}
	payload := r.Data
	if payload == nil {
		payload = []byte{}
	}
	return eventstore.RecordedEvent{
		Envelope: ledger.Envelope{
			EventID:       r.EventID,
			Stream:        stream,
			Revision:      r.EventNumber,
			Type:          r.EventType,
			SchemaVersion: md.SchemaVersion,
			OccurredAt:    md.OccurredAt,
			RecordedAt:    md.RecordedAt,
			Actor:         md.Actor,
			CorrelationID: md.CorrelationID,
			CausationID:   md.CausationID,
			PayloadDigest: md.PayloadDigest,
			PrevHash:      md.PrevHash,
		},
		Hash:     md.Hash,
		Payload:  payload,
		Position: r.Position.Commit,
	}, nil
}
