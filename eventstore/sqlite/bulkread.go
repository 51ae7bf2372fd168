package sqlite

import (
	"context"
	"fmt"
	"slices"

	"github.com/scelle-ledger/scelle/eventstore"
)

// ReadRange appends to dst the events of global positions [from, to), in
// position order: what ReadAll returns for the same range, read in bulk
// for rebuilding read models. It goes through SQLite's C API on a
// read-only connection of its own (see capiConn), as the audit reader
// does, which costs a fraction of ReadAll per event; it stops, as every
// read does, at the durable size (TreeSize) when it starts. Payloads of one
// call share a few large
// buffers.
//
// ReadRange is not part of the eventstore.Store port: callers find it by
// a type assertion and fall back to ReadAll.
func (s *Store) ReadRange(ctx context.Context, from, to uint64, dst []eventstore.RecordedEvent) ([]eventstore.RecordedEvent, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	if s.isClosed() {
		return dst, eventstore.ErrClosed
	}
	// Never past the durable size: see syncer.go.
	to = min(to, uint64(s.visible()))
	if from >= to {
		return dst, nil
	}
	c, err := openCAPI(s.path)
	if err != nil {
		return dst, fmt.Errorf("sqlite: read range: %w", err)
	}
	defer c.close()
	dst = slices.Grow(dst, int(min(to-from, 1<<16)))
	chunk := payloadChunk
	if span := to - from; span < payloadChunk/256 {
		chunk = int(span) * 256
	}
	rows := eventRows{chunk: chunk, strict: true}
	err = c.query(ctx, auditEventsSQL, []int64{clampInt64(from), clampInt64(to)}, func(st uintptr) {
		if rows.bad != nil {
			return
		}
		dst = append(dst, eventstore.RecordedEvent{})
		e := &dst[len(dst)-1]
		e.Position = rows.read(c, st, &e.Envelope, &e.Hash, &e.Payload)
	})
	if err == nil {
		err = rows.bad
	}
	if err != nil {
		return dst, s.readErr("read range", err)
	}
	return dst, nil
}
