package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

// Replication: a store may be the notarised replica of another event store
// (its source: KurrentDB, say), whose global order it copies event by
// event. The replica gives the events dense positions, which are the leaf
// indices of its Merkle log; everything else of an event (envelope, hash,
// revision, payload) is the source's, verbatim.
//
// A replicated batch goes through the writer goroutine like an append (same
// group commit, same syncer: Replicate returns once the batch is durable),
// and its transaction also records, in replica_source, the local size after
// the batch and the source position of its last event: the replica resumes
// from there after a restart, with no gap and no duplicate.
//
// replica_source is created by the first Replicate, IF NOT EXISTS, so that
// the schema version stays 1: a build that does not know replication opens
// a replica as an ordinary store (it ignores the extra table). A store that
// has a replica_source table is a replica: ordinary appends are refused
// with ErrReplica, and a store that already holds appended events refuses
// to become one.

// ErrReplica: an ordinary append to a store that is a replica; only its
// source is written to, and the events arrive by Replicate.
var ErrReplica = errors.New("sqlite: the store is a replica: append to its source")

// ReplicationError is an event of the source that the replica refuses: it
// does not continue its stream, its hash is not the one ledger.Link
// computes, or it repeats what was replicated. Nothing of its batch is
// written.
type ReplicationError struct {
	EventID  uuid.UUID
	Stream   string
	Revision uint64
	// Source is the event's position in the source.
	Source uint64
	Reason string
}

func (e *ReplicationError) Error() string {
	return fmt.Sprintf("sqlite: replicate event %s (%s@%d, source position %d): %s", e.EventID, e.Stream, e.Revision, e.Source, e.Reason)
}

func replErr(e *eventstore.RecordedEvent, format string, args ...any) *ReplicationError {
	return &ReplicationError{EventID: e.EventID, Stream: e.Stream, Revision: e.Revision, Source: e.Position, Reason: fmt.Sprintf(format, args...)}
}

// ReplicaSource is where a replica stands: Position is the source position
// of the last event replicated, Size the replica's number of events (and
// Merkle tree size) after it.
type ReplicaSource struct {
	Position uint64
	Size     uint64
}

// replBatch is the payload of a replication request.
type replBatch struct {
	evs []eventstore.RecordedEvent // Position is set to the local one when staged
	src []uint64                   // the source position of each event
}

// replState is the writer's replication state. dc is the writer's driver
// connection, on which the statements are prepared once the table exists.
type replState struct {
	dc     any
	loaded bool
	active bool // the file has a replica_source table
	exists *rawStmt
	last   *rawStmt
	ins    *rawStmt
}

var replicaSchema = []string{
	`CREATE TABLE IF NOT EXISTS replica_source (
		size   INTEGER PRIMARY KEY, -- events in the replica after a replicated batch
		source INTEGER NOT NULL     -- source position of the batch's last event
	)`,
	`CREATE TRIGGER IF NOT EXISTS replica_source_no_update BEFORE UPDATE ON replica_source
		BEGIN SELECT RAISE(ABORT, 'scelle: replica_source is append-only: UPDATE refused'); END`,
	`CREATE TRIGGER IF NOT EXISTS replica_source_no_delete BEFORE DELETE ON replica_source
		BEGIN SELECT RAISE(ABORT, 'scelle: replica_source is append-only: DELETE refused'); END`,
}

func (rs *replState) close() error {
	var errs []error
	for _, st := range []**rawStmt{&rs.exists, &rs.last, &rs.ins} {
		errs = append(errs, (*st).close())
		*st = nil
	}
	return errors.Join(errs...)
}

// loadRepl learns, once, whether the file is a replica.
func (w *writer) loadRepl() error {
	rs := &w.repl
	if rs.loaded {
		return nil
	}
	if rs.exists == nil {
		st, err := prepareRaw(w.ctx, rs.dc, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'replica_source'`)
		if err != nil {
			return err
		}
		rs.exists = st
	}
	row := w.row[:1]
	if _, err := rs.exists.queryRow(w.ctx, row); err != nil {
		return fmt.Errorf("look for replica_source: %w", err)
	}
	n, _ := row[0].(int64)
	clear(row)
	rs.active, rs.loaded = n > 0, true
	return nil
}

// stageRequest stages an append or a replicated batch (see stage).
func (w *writer) stageRequest(tree *ledger.Tree, r *request, now time.Time) (res eventstore.AppendResult, refused, err error) {
	if err := w.loadRepl(); err != nil {
		return res, nil, err
	}
	if r.repl != nil {
		return w.stageReplica(tree, r.repl)
	}
	if w.repl.active {
		return res, ErrReplica, nil
	}
	return w.stage(tree, r, now)
}

// lastSource reads the last replica_source row as this transaction sees it.
func (w *writer) lastSource() (src ReplicaSource, found bool, err error) {
	rs := &w.repl
	if rs.last == nil {
		if rs.last, err = prepareRaw(w.ctx, rs.dc, `SELECT size, source FROM replica_source ORDER BY size DESC LIMIT 1`); err != nil {
			return src, false, err
		}
		if rs.ins, err = prepareRaw(w.ctx, rs.dc, `INSERT INTO replica_source (size, source) VALUES (?, ?)`); err != nil {
			return src, false, err
		}
	}
	row := w.row[:2]
	found, err = rs.last.queryRow(w.ctx, row)
	if err == nil && found {
		size, ok1 := row[0].(int64)
		pos, ok2 := row[1].(int64)
		if !ok1 || !ok2 {
			err = errors.New("malformed replica_source row")
		}
		src = ReplicaSource{Position: uint64(pos), Size: uint64(size)}
	}
	clear(row)
	if err != nil {
		return src, false, fmt.Errorf("read replica_source: %w", err)
	}
	return src, found, nil
}

// stageReplica checks that evs continue the replica (source positions after
// the last one replicated, each event the next revision of its stream
// linked to its head) and writes them at the next positions, with their
// Merkle nodes and the batch's replica_source row. A refusal writes nothing.
func (w *writer) stageReplica(tree *ledger.Tree, b *replBatch) (res eventstore.AppendResult, refused, err error) {
	evs, srcs := b.evs, b.src
	size := tree.Size()
	// A batch retried alone after a failed group was given positions
	// already: its errors name the source positions.
	for i := range evs {
		evs[i].Position = srcs[i]
	}
	if !w.repl.active {
		if size > 0 {
			return res, replErr(&evs[0], "the store holds %d events appended to it directly: a replica starts empty", size), nil
		}
		for _, q := range replicaSchema {
			st, err := prepareRaw(w.ctx, w.repl.dc, q)
			if err != nil {
				return res, nil, fmt.Errorf("create replica_source: %w", err)
			}
			err = st.exec(w.ctx)
			_ = st.close()
			if err != nil {
				return res, nil, fmt.Errorf("create replica_source: %w", err)
			}
		}
		// Appends are refused from now on, even if this transaction fails:
		// the store was meant to be a replica.
		w.repl.active = true
	}
	src, found, err := w.lastSource()
	if err != nil {
		return res, nil, err
	}
	switch {
	case found && src.Size != size:
		return res, nil, fmt.Errorf("replica_source says %d events, the store holds %d", src.Size, size)
	case !found && size > 0:
		return res, nil, fmt.Errorf("the replica holds %d events but no replica_source row", size)
	case found && evs[0].Position <= src.Position:
		return res, replErr(&evs[0], "source position is not after %d, the last one replicated: a duplicate", src.Position), nil
	}

	// Decide every event before writing any.
	heads := make(map[string]head, 4)
	for i := range evs {
		e := &evs[i]
		h, ok := heads[e.Stream]
		if !ok {
			if h, err = w.head(e.Stream); err != nil {
				return res, nil, err
			}
		}
		want := uint64(0)
		if h.exists {
			want = h.rev + 1
		}
		switch {
		case e.Revision != want && h.exists:
			return res, replErr(e, "revision %d does not continue the stream, whose last revision is %d", e.Revision, h.rev), nil
		case e.Revision != want:
			return res, replErr(e, "revision %d does not continue the stream, which has no event yet", e.Revision), nil
		case e.PrevHash != h.hash:
			return res, replErr(e, "prev_hash %s is not %s, the hash of revision %d: the chain is broken", e.PrevHash, h.hash, h.rev), nil
		}
		heads[e.Stream] = head{rev: e.Revision, hash: e.Hash, exists: true}
	}

	if err := w.savepoint.exec(w.ctx); err != nil {
		return res, nil, fmt.Errorf("savepoint: %w", err)
	}
	for i := range evs {
		e := &evs[i]
		e.Position = size + uint64(i)
		ierr := w.insertEvent(e)
		if ierr == nil {
			continue
		}
		e.Position = srcs[i]
		// The event holding the ID may be earlier in this batch: look it
		// up before undoing the batch.
		old, found, lerr := w.lookupID(e.EventID)
		if err := w.rollbackTo.exec(w.ctx); err != nil {
			return res, nil, fmt.Errorf("rollback to savepoint: %w", err)
		}
		if err := w.release.exec(w.ctx); err != nil {
			return res, nil, fmt.Errorf("release savepoint: %w", err)
		}
		if !isConstraint(ierr) {
			return res, nil, fmt.Errorf("insert event %s: %w", e.EventID, ierr)
		}
		if lerr == nil && found {
			return res, replErr(e, "its ID is already the ID of %s@%d: the source wrote one ID twice (KurrentDB does not check IDs across streams)", old.Stream, old.Revision), nil
		}
		return res, replErr(e, "refused by the store: %v", ierr), nil
	}
	if err := w.release.exec(w.ctx); err != nil {
		return res, nil, fmt.Errorf("release savepoint: %w", err)
	}
	for i := range evs {
		nodes, err := tree.Append(ledger.LeafHash(evs[i].Hash))
		if err != nil {
			return res, nil, err
		}
		for _, n := range nodes {
			key, err := nodeKey(n.ID.Level, n.ID.Index)
			if err != nil {
				return res, nil, err
			}
			w.nodeArgs = append(w.nodeArgs, key, n.Hash[:])
		}
		if err := w.flushNodes(false); err != nil {
			return res, nil, err
		}
	}
	last := &evs[len(evs)-1]
	if err := w.repl.ins.exec(w.ctx, int64(tree.Size()), int64(srcs[len(srcs)-1])); err != nil {
		return res, nil, fmt.Errorf("insert replica_source: %w", err)
	}
	for stream, h := range heads {
		w.staged[stream] = h
	}
	return eventstore.AppendResult{Revision: last.Revision, Position: last.Position}, nil, nil
}

// Replicate writes evs, events of the source store in its global order
// (Position is their source position, strictly increasing), at the next
// positions of this store. It checks each event before writing any: the
// payload digest and the hash (ledger.Link over the envelope and its
// prev_hash), then, in the writer, that the event is the next revision of
// its stream and links to its head, and that its source position follows
// the last one replicated. A refused event is a *ReplicationError naming
// it, and nothing of its batch is written. The first Replicate makes an
// empty store a replica (see ErrReplica).
//
// A batch larger than Options.MaxBatchEvents (or 16 MiB of payload) is
// written in several transactions, each recording its own last source
// position. Replicate returns once every transaction is durable; a
// cancelled ctx returns ctx.Err() for the part not yet taken by the writer.
func (s *Store) Replicate(ctx context.Context, evs []eventstore.RecordedEvent) error {
	if len(evs) == 0 {
		return nil
	}
	batch := make([]eventstore.RecordedEvent, len(evs))
	src := make([]uint64, len(evs))
	copy(batch, evs)
	for i := range batch {
		e := &batch[i]
		src[i] = e.Position
		if err := checkReplicated(e); err != nil {
			return err
		}
		if e.Position > 1<<62 {
			return replErr(e, "source position is beyond what the replica records")
		}
		if i > 0 && e.Position <= batch[i-1].Position {
			return replErr(e, "source position is not after %d, the previous event's", batch[i-1].Position)
		}
	}
	for len(batch) > 0 {
		n, bytes := 0, 0
		for n < len(batch) && (n == 0 || (n < s.opts.MaxBatchEvents && bytes+len(batch[n].Payload) <= maxBatchBytes)) {
			bytes += len(batch[n].Payload)
			n++
		}
		r := &request{ctx: ctx, stream: batch[0].Stream, repl: &replBatch{evs: batch[:n:n], src: src[:n:n]}, resp: make(chan outcome, 1)}
		if _, err := s.submit(ctx, r); err != nil {
			return err
		}
		batch, src = batch[n:], src[n:]
	}
	return nil
}

// checkReplicated checks what an event carries by itself: a valid stream
// name, its payload digest and its hash.
func checkReplicated(e *eventstore.RecordedEvent) error {
	if err := eventstore.ValidateStreamName(e.Stream); err != nil {
		return replErr(e, "bad stream name: %v", err)
	}
	if d := ledger.PayloadDigest(e.Payload); d != e.PayloadDigest {
		return replErr(e, "payload digest %s is not %s, the digest of its payload", e.PayloadDigest, d)
	}
	env := e.Envelope
	h, err := ledger.Link(&env, e.PrevHash)
	if err != nil {
		return replErr(e, "cannot hash the envelope: %v", err)
	}
	if h != e.Hash {
		return replErr(e, "hash %s is not %s, the hash ledger.Link computes over its envelope", e.Hash, h)
	}
	return nil
}

// ReplicaSource returns where the replica stands, as durable: the source
// position of the last event replicated and the size after it. found is
// false if the store is not a replica or nothing was replicated yet.
func (s *Store) ReplicaSource(ctx context.Context) (src ReplicaSource, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return src, false, err
	}
	if s.isClosed() {
		return src, false, eventstore.ErrClosed
	}
	var n int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'replica_source'`).Scan(&n); err != nil {
		return src, false, s.readErr("read replica source", err)
	}
	if n == 0 {
		return src, false, nil
	}
	var size, pos int64
	err = s.rdb.QueryRowContext(ctx, `SELECT size, source FROM replica_source WHERE size <= ? ORDER BY size DESC LIMIT 1`, s.visible()).Scan(&size, &pos)
	if errors.Is(err, sql.ErrNoRows) {
		return src, false, nil
	}
	if err != nil {
		return src, false, s.readErr("read replica source", err)
	}
	return ReplicaSource{Position: uint64(pos), Size: uint64(size)}, true, nil
}
