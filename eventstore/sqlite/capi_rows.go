package sqlite

import (
	"fmt"
	"time"

	"github.com/scelle-ledger/scelle/ledger"
)

// eventRows decodes rows of auditEventsSQL read through the C API, for the
// audit reader and the bulk reader. Payloads share arenas of about chunk
// bytes; a row's strings are interned against the previous row's, since
// consecutive events mostly share stream, type and actor.
type eventRows struct {
	chunk                           int
	arena                           []byte
	stream, typ, user, agency, role string
	// strict makes a fixed-size column of another length an error (bad)
	// instead of a short copy: the audit reader must read a damaged row to
	// report it, the bulk reader must not return one.
	strict bool
	// lean: the query has NULL for columns 11 to 15, which stay zero
	// (ReadRangeLean).
	lean bool
	bad  error
}

// read decodes the current row of st into its envelope, hash and payload,
// and returns its position.
func (d *eventRows) read(c *capiConn, st uintptr, env *ledger.Envelope, hash *ledger.Hash, payload *[]byte) uint64 {
	pos := uint64(c.int64At(st, 0))
	fixed := func(dst []byte, col int32) {
		b := c.bytesAt(st, col)
		if d.strict && len(b) != len(dst) {
			if d.bad == nil {
				d.bad = fmt.Errorf("event at position %d: column %d has %d bytes, want %d", pos, col, len(b), len(dst))
			}
			return
		}
		copy(dst, b)
	}
	fixed(env.EventID[:], 1)
	env.Stream = c.stringAt(st, 2, &d.stream)
	env.Revision = uint64(c.int64At(st, 3))
	env.Type = c.stringAt(st, 4, &d.typ)
	env.SchemaVersion = uint32(c.int64At(st, 5))
	env.OccurredAt = time.Unix(0, c.int64At(st, 6)).UTC()
	env.RecordedAt = time.Unix(0, c.int64At(st, 7)).UTC()
	env.Actor = ledger.Actor{User: c.stringAt(st, 8, &d.user), Agency: c.stringAt(st, 9, &d.agency), Role: c.stringAt(st, 10, &d.role)}
	if !d.lean {
		fixed(env.CorrelationID[:], 11)
		fixed(env.CausationID[:], 12)
		fixed(env.PayloadDigest[:], 13)
		fixed(env.PrevHash[:], 14)
		fixed(hash[:], 15)
	}
	p := c.bytesAt(st, 16)
	if cap(d.arena)-len(d.arena) < len(p) || d.arena == nil {
		d.arena = make([]byte, 0, max(d.chunk, len(p)))
	}
	at := len(d.arena)
	d.arena = append(d.arena, p...)
	*payload = d.arena[at:len(d.arena):len(d.arena)]
	return pos
}
