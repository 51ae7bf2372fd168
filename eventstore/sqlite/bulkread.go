package sqlite

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
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
	var (
		arena                           []byte
		stream, typ, user, agency, role string // the previous row's
		bad                             error
	)
	err = c.query(ctx, auditEventsSQL, []int64{clampInt64(from), clampInt64(to)}, func(st uintptr) {
		if bad != nil {
			return
		}
		dst = append(dst, eventstore.RecordedEvent{})
		e := &dst[len(dst)-1]
		e.Position = uint64(c.int64At(st, 0))
		fixed := func(dst []byte, col int32) {
			if b := c.bytesAt(st, col); len(b) == len(dst) {
				copy(dst, b)
			} else if bad == nil {
				bad = fmt.Errorf("event at position %d: column %d has %d bytes, want %d", e.Position, col, len(b), len(dst))
			}
		}
		fixed(e.EventID[:], 1)
		e.Stream = c.stringAt(st, 2, &stream)
		e.Revision = uint64(c.int64At(st, 3))
		e.Type = c.stringAt(st, 4, &typ)
		e.SchemaVersion = uint32(c.int64At(st, 5))
		e.OccurredAt = time.Unix(0, c.int64At(st, 6)).UTC()
		e.RecordedAt = time.Unix(0, c.int64At(st, 7)).UTC()
		e.Actor = ledger.Actor{User: c.stringAt(st, 8, &user), Agency: c.stringAt(st, 9, &agency), Role: c.stringAt(st, 10, &role)}
		fixed(e.CorrelationID[:], 11)
		fixed(e.CausationID[:], 12)
		fixed(e.PayloadDigest[:], 13)
		fixed(e.PrevHash[:], 14)
		fixed(e.Hash[:], 15)
		p := c.bytesAt(st, 16)
		if cap(arena)-len(arena) < len(p) || arena == nil {
			arena = make([]byte, 0, max(chunk, len(p)))
		}
		at := len(arena)
		arena = append(arena, p...)
		e.Payload = arena[at:len(arena):len(arena)]
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return dst, s.readErr("read range", err)
	}
	return dst, nil
}
