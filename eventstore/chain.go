package eventstore

import (
	"fmt"
	"time"

	"github.com/scelle-ledger/scelle/ledger"
)

// Chain completes the envelopes of events appended to stream at revisions
// first, first+1, ..., recorded at now, after the stream's event whose hash
// is prev (zeros for a new stream), and links each to the one before
// (ledger.Link), so that every adapter stores the same envelopes and
// hashes. It appends the records to dst, positions left to the adapter. An
// event the ledger cannot encode is an *InvalidError naming it.
func Chain(dst []RecordedEvent, stream string, first uint64, now time.Time, prev ledger.Hash, events []EventData) ([]RecordedEvent, error) {
	for i := range events {
		ev := &events[i]
		dst = append(dst, RecordedEvent{
			Envelope: ledger.Envelope{
				EventID:       ev.ID,
				Stream:        stream,
				Revision:      first + uint64(i),
				Type:          ev.Type,
				SchemaVersion: ev.SchemaVersion,
				OccurredAt:    ev.OccurredAt,
				RecordedAt:    now,
				Actor:         ev.Actor,
				CorrelationID: ev.CorrelationID,
				CausationID:   ev.CausationID,
				PayloadDigest: ledger.PayloadDigest(ev.Payload),
			},
			Payload: ev.Payload,
		})
		e := &dst[len(dst)-1]
		h, err := ledger.Link(&e.Envelope, prev)
		if err != nil {
			return dst, &InvalidError{Field: fmt.Sprintf("events[%d]", i), Reason: err.Error()}
		}
		e.Hash, prev = h, h
	}
	return dst, nil
}
