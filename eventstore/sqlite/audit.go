package sqlite

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

var (
	_ ledger.AuditSource = (*AuditReader)(nil)
	_ ledger.NodeReader  = (*AuditReader)(nil)
	_ ledger.LeafReader  = (*AuditReader)(nil)
)

// AuditReader reads a store file for ledger.Audit and for evidence bundles
// built from it, strictly read-only: an audit never writes to the evidence
// it examines.
//
// Unlike Open, OpenAudit does not refuse a file whose application_id was
// changed, nor one whose append-only triggers were dropped, and it does not
// take the file from another Store of this process: it must read a store
// that was tampered with, or one a stopped server left behind, and let the
// audit name what is wrong. It needs only the events and merkle_nodes
// tables of a schema version it knows.
//
// Reads go straight to SQLite's C API (see capiConn) over a small pool of
// connections, one per goroutine reading at a time: ledger.Audit's workers
// read disjoint position ranges in parallel. Close it once every call has
// returned.
type AuditReader struct {
	path  string
	idle  chan *capiConn
	slots chan struct{} // one token per connection that may still be opened

	mu     sync.Mutex
	conns  []*capiConn
	closed bool
}

// auditEventsSQL reads the events of a position range: every column of
// the envelope, its hash and the payload, all of which audit checks.
const auditEventsSQL = `SELECT ` + eventColumns + ` FROM events WHERE position >= ?1 AND position < ?2 ORDER BY position`

const (
	auditLeavesSQL = `SELECT id, hash FROM merkle_nodes WHERE id >= ?1 AND id < ?2 AND (id & 63) = 0 ORDER BY id`
	auditNodeSQL   = `SELECT hash FROM merkle_nodes WHERE id = ?1`
	auditEndSQL    = `SELECT coalesce(max(position) + 1, 0) FROM events`
	// The node with the highest key was completed by the last leaf.
	auditSizeSQL = `SELECT coalesce((max(id) >> 6) + 1, 0) FROM merkle_nodes`
)

// OpenAudit opens the store file at path read-only for an audit. A missing
// file is an error (it is never created); a file without the store's
// tables fails with ErrNotStore, one with a newer schema with
// ErrNewerSchema.
func OpenAudit(ctx context.Context, path string) (*AuditReader, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: open audit: %w", &eventstore.InvalidError{Field: "path", Reason: "must not be empty"})
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("sqlite: open audit: %w", err)
	}
	n := runtime.GOMAXPROCS(0) + 1
	r := &AuditReader{path: path, idle: make(chan *capiConn, n), slots: make(chan struct{}, n)}
	for range n {
		r.slots <- struct{}{}
	}
	c, err := r.get(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkAuditSchema(ctx, c, path); err != nil {
		r.put(c)
		r.Close()
		return nil, err
	}
	r.put(c)
	return r, nil
}

// checkAuditSchema checks what the reader needs: a schema version it
// knows, and tables with the columns it reads (by preparing its queries).
func checkAuditSchema(ctx context.Context, c *capiConn, path string) error {
	version, err := c.queryInt64(ctx, `PRAGMA user_version`)
	if err != nil {
		return fmt.Errorf("sqlite: open audit %s: %w", path, notStore(err))
	}
	if version > SchemaVersion {
		return fmt.Errorf("sqlite: open audit %s: %w: file has version %d, this build knows up to %d", path, ErrNewerSchema, version, SchemaVersion)
	}
	for _, q := range []string{auditEventsSQL, auditLeavesSQL, auditNodeSQL, auditEndSQL, auditSizeSQL} {
		if _, err := c.prepare(q); err != nil {
			return fmt.Errorf("sqlite: open audit %s: %w: %w", path, ErrNotStore, err)
		}
	}
	return nil
}

// notStore adds ErrNotStore to SQLite's "file is not a database".
func notStore(err error) error {
	var ce *capiError
	if errors.As(err, &ce) && ce.notADB() {
		return fmt.Errorf("%w: %w", ErrNotStore, err)
	}
	return err
}

// get takes an idle connection, or opens one if the pool is not full, or
// waits for one.
func (r *AuditReader) get(ctx context.Context) (*capiConn, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, eventstore.ErrClosed
	}
	select {
	case c := <-r.idle:
		return c, nil
	default:
	}
	select {
	case c := <-r.idle:
		return c, nil
	case <-r.slots:
		c, err := openCAPI(r.path)
		if err != nil {
			r.slots <- struct{}{}
			return nil, fmt.Errorf("sqlite: open audit %s: %w", r.path, notStore(err))
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.closed { // Close ran while this connection was being opened
			c.close()
			return nil, eventstore.ErrClosed
		}
		r.conns = append(r.conns, c)
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *AuditReader) put(c *capiConn) { r.idle <- c }

// Close closes the connections. Calls after the first fail with
// eventstore.ErrClosed.
func (r *AuditReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return eventstore.ErrClosed
	}
	r.closed = true
	for _, c := range r.conns {
		c.close()
	}
	r.conns = nil
	return nil
}

// with runs f on a pooled connection.
func (r *AuditReader) with(ctx context.Context, op string, f func(c *capiConn) error) error {
	c, err := r.get(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	defer r.put(c)
	if err := f(c); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return nil
}

func clampInt64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// payloadChunk is the size of the buffers payloads are copied into: a page
// of events costs a few allocations, not one per payload. Every payload
// of a range is a slice of one of them, so they live as long as any event
// of the range is kept.
const payloadChunk = 256 << 10

// EventsInRange appends to dst the stored events of positions [from, to),
// in position order. Columns are read as stored, without judging them: a
// value of the wrong type or length is converted or copied as far as it
// goes, and the hash checks then name the event.
func (r *AuditReader) EventsInRange(ctx context.Context, from, to uint64, dst []ledger.StoredEvent) ([]ledger.StoredEvent, error) {
	if from >= to {
		return dst, nil
	}
	chunk := payloadChunk
	if span := to - from; span < payloadChunk/256 {
		chunk = int(span) * 256 // a short range: about 256 bytes an event
	}
	err := r.with(ctx, "read events", func(c *capiConn) error {
		rows := eventRows{chunk: chunk}
		return c.query(ctx, auditEventsSQL, []int64{clampInt64(from), clampInt64(to)}, func(st uintptr) {
			dst = append(dst, ledger.StoredEvent{})
			e := &dst[len(dst)-1]
			e.Position = rows.read(c, st, &e.Envelope, &e.Hash, &e.Payload)
		})
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

// EndPosition returns one past the highest stored position (0: empty).
func (r *AuditReader) EndPosition(ctx context.Context) (uint64, error) {
	var end int64
	err := r.with(ctx, "read end position", func(c *capiConn) (err error) {
		end, err = c.queryInt64(ctx, auditEndSQL)
		return err
	})
	return uint64(end), err
}

// TreeSize returns the number of stored Merkle leaves: one past the leaf
// that completed the highest stored node.
func (r *AuditReader) TreeSize(ctx context.Context) (uint64, error) {
	var n int64
	err := r.with(ctx, "read tree size", func(c *capiConn) (err error) {
		n, err = c.queryInt64(ctx, auditSizeSQL)
		return err
	})
	return uint64(n), err
}

// Nodes returns the stored hashes of the given nodes; a node that is not
// stored is an error.
func (r *AuditReader) Nodes(ctx context.Context, ids []ledger.NodeID) ([]ledger.Hash, error) {
	out := make([]ledger.Hash, len(ids))
	err := r.with(ctx, "read merkle nodes", func(c *capiConn) error {
		for i, id := range ids {
			key, err := nodeKey(id.Level, id.Index)
			if err != nil {
				return err
			}
			found := false
			err = c.query(ctx, auditNodeSQL, []int64{key}, func(st uintptr) {
				found = true
				copy(out[i][:], c.bytesAt(st, 0))
			})
			if err != nil {
				return fmt.Errorf("node (%d, %d): %w", id.Level, id.Index, err)
			}
			if !found {
				return fmt.Errorf("node (%d, %d) is not in the stored tree", id.Level, id.Index)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LeafHashes returns the stored leaf hashes of positions [from, to); a
// missing leaf is left zero, which never equals a real leaf hash.
func (r *AuditReader) LeafHashes(ctx context.Context, from, to uint64) ([]ledger.Hash, error) {
	if from >= to {
		return nil, nil
	}
	lo, err := nodeKey(0, from)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read leaves: %w", err)
	}
	hi, err := nodeKey(0, to)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read leaves: %w", err)
	}
	out := make([]ledger.Hash, to-from)
	err = r.with(ctx, "read leaves", func(c *capiConn) error {
		return c.query(ctx, auditLeavesSQL, []int64{lo, hi}, func(st uintptr) {
			if idx := uint64(c.int64At(st, 0)) >> 6; idx >= from && idx < to {
				copy(out[idx-from][:], c.bytesAt(st, 1))
			}
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
