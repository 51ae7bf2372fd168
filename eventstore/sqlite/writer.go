package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

// writer is the single goroutine that writes the store. It owns the write
// connection, the Merkle right border and the cache of stream heads.
type writer struct {
	s *Store
	// ctx is the writer's own context: an append, once taken, runs to its
	// true outcome whatever happens to its caller's context.
	ctx  context.Context
	conn *sql.Conn
	tree *ledger.Tree

	heads    map[string]head // committed heads, bounded by Options.HeadCacheSize
	staged   map[string]head // heads written by the current transaction
	envs     []eventstore.RecordedEvent
	outcomes []outcome

	begin, commit, rollback        *rawStmt
	savepoint, rollbackTo, release *rawStmt
	byID, headOf                   *rawStmt
	insEvent, insNode, insNodes    *rawStmt
	nodeArgs                       []driver.Value // (id, hash) pairs not yet inserted
	synced                         chan<- syncJob // committed groups, for the syncer to fsync and answer
	row                            []driver.Value // scratch for lookups
	repl                           replState      // replication into this store (replicate.go)

	// groupHook, if set (by tests, before the first append), is called with
	// the number of appends of each group before the writer decides them.
	groupHook func(n int)
}

// head is the last event of a stream.
type head struct {
	rev    uint64
	hash   ledger.Hash
	exists bool
}

const insertEventSQL = `INSERT INTO events (` + eventColumns + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

func newWriter(ctx context.Context, s *Store, conn *sql.Conn) (*writer, error) {
	w := &writer{
		s:      s,
		ctx:    context.WithoutCancel(ctx),
		conn:   conn,
		heads:  make(map[string]head),
		staged: make(map[string]head),
		row:    make([]driver.Value, 17),
	}
	tree, err := restoreTree(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", s.path, err)
	}
	w.tree = tree
	return w, nil
}

// start runs the writer goroutine, which holds the driver connection (sql.Conn.Raw)
// until reqs is closed, and waits until its statements are prepared.
func (w *writer) start(reqs <-chan *request, done chan<- struct{}, synced chan<- syncJob) error {
	ready := make(chan error, 1)
	w.synced = synced
	go func() {
		defer close(done)
		defer close(synced)
		prepared := false
		err := w.conn.Raw(func(dc any) error {
			if err := w.prepare(dc); err != nil {
				return err
			}
			prepared = true
			ready <- nil
			w.run(reqs)
			return w.closeStmts()
		})
		if !prepared {
			ready <- err
		}
	}()
	if err := <-ready; err != nil {
		return fmt.Errorf("sqlite: open %s: %w", w.s.path, err)
	}
	return nil
}

func (w *writer) prepare(dc any) error {
	for _, p := range []struct {
		stmt **rawStmt
		sql  string
	}{
		{&w.begin, `BEGIN IMMEDIATE`},
		{&w.commit, `COMMIT`},
		{&w.rollback, `ROLLBACK`},
		{&w.savepoint, `SAVEPOINT append`},
		{&w.rollbackTo, `ROLLBACK TO append`},
		{&w.release, `RELEASE append`},
		{&w.byID, `SELECT ` + eventColumns + ` FROM events WHERE event_id = ?`},
		{&w.headOf, `SELECT revision, hash FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1`},
		{&w.insEvent, insertEventSQL},
		{&w.insNode, `INSERT INTO merkle_nodes (id, hash) VALUES (?, ?)`},
		{&w.insNodes, `INSERT INTO merkle_nodes (id, hash) VALUES (?, ?)` + strings.Repeat(`, (?, ?)`, nodeChunk-1)},
	} {
		st, err := prepareRaw(w.ctx, dc, p.sql)
		if err != nil {
			_ = w.closeStmts()
			return err
		}
		*p.stmt = st
	}
	w.repl.dc = dc
	return nil
}

// restoreTree rebuilds the Merkle right border from the persisted nodes and
// checks that its last leaf is the leaf of the last event.
func restoreTree(ctx context.Context, conn *sql.Conn) (*ledger.Tree, error) {
	var size int64
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(position) + 1, 0) FROM events`).Scan(&size); err != nil {
		return nil, fmt.Errorf("restore merkle border: %w", err)
	}
	if size == 0 {
		return ledger.NewTree(), nil
	}
	ids := ledger.BorderIDs(uint64(size))
	border, err := readNodes(ctx, conn, ids)
	if err != nil {
		return nil, fmt.Errorf("restore merkle border: %w", err)
	}
	tree, err := ledger.RestoreTree(uint64(size), border)
	if err != nil {
		return nil, fmt.Errorf("restore merkle border: %w", err)
	}
	var lastHash, lastLeaf []byte
	if err := conn.QueryRowContext(ctx, `SELECT hash FROM events WHERE position = ?`, size-1).Scan(&lastHash); err != nil {
		return nil, fmt.Errorf("restore merkle border: last event: %w", err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT hash FROM merkle_nodes WHERE id = ?`, (size-1)<<6).Scan(&lastLeaf); err != nil {
		return nil, fmt.Errorf("restore merkle border: last leaf: %w", err)
	}
	h, err := toHash(lastHash)
	if err != nil {
		return nil, fmt.Errorf("restore merkle border: last event: %w", err)
	}
	if leaf := ledger.LeafHash(h); string(leaf[:]) != string(lastLeaf) {
		return nil, fmt.Errorf("restore merkle border: leaf %d is %x, want the leaf hash of event %d, %s", size-1, lastLeaf, size-1, leaf)
	}
	return tree, nil
}

func (w *writer) closeStmts() error {
	var errs []error
	for _, st := range []**rawStmt{&w.begin, &w.commit, &w.rollback, &w.savepoint, &w.rollbackTo, &w.release, &w.byID, &w.headOf, &w.insEvent, &w.insNode, &w.insNodes} {
		errs = append(errs, (*st).close())
		*st = nil
	}
	errs = append(errs, w.repl.close())
	return errors.Join(errs...)
}

// close releases the write connection, once the writer goroutine is done.
func (w *writer) close() error {
	if w.conn == nil {
		return nil
	}
	err := w.conn.Close()
	w.conn = nil
	return err
}

// run takes appends from reqs until it is closed. Each turn takes every
// append already waiting (up to MaxBatchEvents events) and commits them in
// one transaction: appends that arrive while a commit is being fsynced form
// the next group.
//
// When the queue runs dry, the writer yields its processor once and looks
// again, for as long as yielding brings new appends: the callers it has just
// answered are usually about to append again, and waiting for them these few
// microseconds makes one group of what would otherwise be two half groups,
// each paying its own fsync.
func (w *writer) run(reqs <-chan *request) {
	var batch []*request
	for {
		r, ok := <-reqs
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		n, size := len(r.events), r.size()
		yielded := false
	fill:
		for n < w.s.opts.MaxBatchEvents && size < maxBatchBytes {
			select {
			case r, ok := <-reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
				n, size = n+len(r.events), size+r.size()
				yielded = false
			default:
				if yielded {
					break fill
				}
				runtime.Gosched()
				yielded = true
			}
		}
		w.commitGroup(batch)
		clear(batch)
	}
}

// maxBatchBytes bounds the payload bytes of one group, so that a few large
// events do not make one huge transaction.
const maxBatchBytes = 16 << 20

// commitGroup writes a group of appends. If the group's transaction fails
// as a whole (an I/O error, say), each append is retried in a transaction
// of its own, so that one append's failure is never its neighbours'.
func (w *writer) commitGroup(batch []*request) {
	live := make([]*request, 0, len(batch))
	for _, r := range batch {
		if !r.state.CompareAndSwap(stateQueued, stateTaken) {
			continue // the caller gave up before we took it
		}
		if err := r.ctx.Err(); err != nil {
			r.reply(outcome{err: err})
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if w.groupHook != nil {
		w.groupHook(len(live))
	}
	err := w.tryGroup(live)
	if err == nil {
		return
	}
	// The cached heads may be what failed (another process wrote the file,
	// say): read them again from the file.
	clear(w.heads)
	if len(live) == 1 {
		live[0].reply(outcome{err: err})
		return
	}
	for _, r := range live {
		if err := w.tryGroup([]*request{r}); err != nil {
			r.reply(outcome{err: err})
		}
	}
}

// tryGroup stages every append of reqs in one transaction and commits it.
// On success it replies to each request; on failure it replies to none,
// leaves the tree and the head cache untouched and returns the error.
func (w *writer) tryGroup(reqs []*request) error {
	tree := w.tree.Clone()
	clear(w.staged)
	clear(w.nodeArgs)
	w.nodeArgs = w.nodeArgs[:0]
	w.outcomes = w.outcomes[:0]
	now := w.s.now().Round(0).UTC()
	if err := w.begin.exec(w.ctx); err != nil {
		return fmt.Errorf("sqlite: append: begin: %w", err)
	}
	for _, r := range reqs {
		res, refused, err := w.stageRequest(tree, r, now)
		if err != nil {
			w.abort()
			return fmt.Errorf("sqlite: append to %s: %w", r.stream, err)
		}
		w.outcomes = append(w.outcomes, outcome{res: res, err: refused})
	}
	if err := w.flushNodes(true); err != nil {
		w.abort()
		return fmt.Errorf("sqlite: append: %w", err)
	}
	if err := w.commit.exec(w.ctx); err != nil {
		w.abort()
		return fmt.Errorf("sqlite: append: commit: %w", err)
	}
	wrote := tree.Size() != w.tree.Size()
	w.tree = tree
	for stream, h := range w.staged {
		w.cacheHead(stream, h)
	}
	// reqs is the caller's own slice; the outcomes are reused by the next
	// group.
	w.synced <- syncJob{size: tree.Size(), wrote: wrote, reqs: reqs, outs: slices.Clone(w.outcomes)}
	return nil
}

func (w *writer) abort() {
	// ROLLBACK fails harmlessly if SQLite already rolled the transaction back.
	_ = w.rollback.exec(w.ctx)
}

func (w *writer) cacheHead(stream string, h head) {
	if _, ok := w.heads[stream]; !ok && len(w.heads) >= w.s.opts.HeadCacheSize {
		clear(w.heads)
	}
	w.heads[stream] = h
}

// stage checks one append against the state staged so far (the database as
// this transaction sees it) and writes it if it is accepted. refused is the
// append's own failure (wrong revision, ID reused), which writes nothing and
// leaves the transaction usable; err is a failure of the transaction.
//
// The happy path reads nothing but the stream's head (usually cached): the
// event IDs are checked by the UNIQUE constraint on event_id, and only when
// it fires, or when the expected revision does not match, are the IDs looked
// up to tell an idempotent retry from an ID reuse.
func (w *writer) stage(tree *ledger.Tree, r *request, now time.Time) (res eventstore.AppendResult, refused, err error) {
	h, err := w.head(r.stream)
	if err != nil {
		return res, nil, err
	}
	if !r.expected.Check(h.rev, h.exists) {
		// A retry of an append already written wins over the revision check.
		res, refused, found, err := w.retried(r)
		if err != nil || found {
			return res, refused, err
		}
		return res, &eventstore.WrongRevisionError{Stream: r.stream, Expected: r.expected, Actual: h.rev, Exists: h.exists}, nil
	}

	// Compute every envelope and hash first: a failure here writes nothing.
	rev := uint64(0)
	if h.exists {
		rev = h.rev + 1
	}
	var invalid error
	if w.envs, invalid = eventstore.Chain(w.envs[:0], r.stream, rev, now, h.hash, r.events); invalid != nil {
		return res, invalid, nil
	}
	for i := range w.envs {
		w.envs[i].Position = tree.Size() + uint64(i)
	}

	// Insert the events; an append of several events runs under a savepoint
	// so that a constraint violation on its k-th event undoes the first k-1.
	multi := len(w.envs) > 1
	if multi {
		if err := w.savepoint.exec(w.ctx); err != nil {
			return res, nil, fmt.Errorf("savepoint: %w", err)
		}
	}
	for i := range w.envs {
		e := &w.envs[i]
		err := w.insertEvent(e)
		if err == nil {
			continue
		}
		if !isConstraint(err) {
			return res, nil, fmt.Errorf("insert event %s: %w", e.EventID, err)
		}
		// Only the failed statement was undone: undo the rest of the append.
		if multi {
			if err := w.rollbackTo.exec(w.ctx); err != nil {
				return res, nil, fmt.Errorf("rollback to savepoint: %w", err)
			}
			if err := w.release.exec(w.ctx); err != nil {
				return res, nil, fmt.Errorf("release savepoint: %w", err)
			}
		}
		res, refused, found, lerr := w.retried(r)
		if lerr != nil || found {
			return res, refused, lerr
		}
		return res, nil, fmt.Errorf("insert event %s: %w", e.EventID, err)
	}
	if multi {
		if err := w.release.exec(w.ctx); err != nil {
			return res, nil, fmt.Errorf("release savepoint: %w", err)
		}
	}

	// Then the Merkle nodes each leaf completes.
	for i := range w.envs {
		e := &w.envs[i]
		nodes, err := tree.Append(ledger.LeafHash(e.Hash))
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
	last := &w.envs[len(w.envs)-1]
	w.staged[r.stream] = head{rev: last.Revision, hash: last.Hash, exists: true}
	return eventstore.AppendResult{Revision: last.Revision, Position: last.Position}, nil, nil
}

// nodeChunk is the number of Merkle nodes inserted by one statement.
const nodeChunk = 32

// flushNodes inserts the pending Merkle nodes by chunks of nodeChunk, and
// the remainder one by one if all is set. Nodes are inserted only for
// appends already accepted, outside any savepoint.
func (w *writer) flushNodes(all bool) error {
	args := w.nodeArgs
	for len(args) >= 2*nodeChunk {
		if err := w.insNodes.exec(w.ctx, args[:2*nodeChunk]...); err != nil {
			return fmt.Errorf("insert merkle nodes: %w", err)
		}
		args = args[2*nodeChunk:]
	}
	for all && len(args) > 0 {
		if err := w.insNode.exec(w.ctx, args[:2]...); err != nil {
			return fmt.Errorf("insert merkle node: %w", err)
		}
		args = args[2:]
	}
	n := copy(w.nodeArgs, args)
	clear(w.nodeArgs[n:])
	w.nodeArgs = w.nodeArgs[:n]
	return nil
}

// isConstraint reports whether err is a constraint violation, after which
// SQLite has undone the failed statement only and the transaction goes on.
func isConstraint(err error) bool {
	var se *sqlitedriver.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

// retried looks up the event IDs of r. found is false if none is written;
// otherwise res or refused is the outcome of r as a retry (see idempotent).
func (w *writer) retried(r *request) (res eventstore.AppendResult, refused error, found bool, err error) {
	var recs []eventstore.RecordedEvent
	nfound := 0
	for i := range r.events {
		rec, ok, err := w.lookupID(r.events[i].ID)
		if err != nil {
			return res, nil, false, err
		}
		if ok {
			if recs == nil {
				recs = make([]eventstore.RecordedEvent, len(r.events))
			}
			recs[i] = rec
			nfound++
		}
	}
	if nfound == 0 {
		return res, nil, false, nil
	}
	res, refused = idempotent(r, recs, nfound)
	return res, refused, true, nil
}

func (w *writer) insertEvent(e *eventstore.RecordedEvent) error {
	return w.insEvent.exec(w.ctx,
		int64(e.Position), e.EventID[:], e.Stream, int64(e.Revision), e.Type, int64(e.SchemaVersion),
		e.OccurredAt.UnixNano(), e.RecordedAt.UnixNano(),
		e.Actor.User, e.Actor.Agency, e.Actor.Role,
		e.CorrelationID[:], e.CausationID[:],
		e.PayloadDigest[:], e.PrevHash[:], e.Hash[:], e.Payload)
}

// idempotent decides an append some of whose event IDs are already written:
// the same events, in the same stream, in the same order, with the same
// content, return the original result; anything else is an ID reuse.
func idempotent(r *request, found []eventstore.RecordedEvent, nfound int) (eventstore.AppendResult, error) {
	if nfound < len(r.events) {
		written, fresh := -1, -1
		for i := range found {
			if found[i].EventID == r.events[i].ID && written < 0 {
				written = i
			} else if found[i].EventID != r.events[i].ID && fresh < 0 {
				fresh = i
			}
		}
		return eventstore.AppendResult{}, &eventstore.IDReusedError{
			ID: r.events[written].ID, Stream: r.stream,
			Reason: fmt.Sprintf("events[%d] was already written but events[%d] is new: a retry must repeat the original append exactly", written, fresh),
		}
	}
	first := &found[0]
	for i := range found {
		rec := &found[i]
		switch {
		case rec.Stream != r.stream:
			return eventstore.AppendResult{}, &eventstore.IDReusedError{ID: rec.EventID, Stream: r.stream,
				Reason: fmt.Sprintf("already written to stream %q", rec.Stream)}
		case rec.Revision != first.Revision+uint64(i):
			return eventstore.AppendResult{}, &eventstore.IDReusedError{ID: rec.EventID, Stream: r.stream,
				Reason: fmt.Sprintf("already written at revision %d, not in the order of this append", rec.Revision)}
		case !eventstore.SameContent(rec, &r.events[i]):
			return eventstore.AppendResult{}, &eventstore.IDReusedError{ID: rec.EventID, Stream: r.stream,
				Reason: fmt.Sprintf("already written at revision %d with other content", rec.Revision)}
		}
	}
	last := &found[len(found)-1]
	return eventstore.AppendResult{Revision: last.Revision, Position: last.Position}, nil
}

// lookupID reads the event with the given ID as this transaction sees it.
func (w *writer) lookupID(id [16]byte) (eventstore.RecordedEvent, bool, error) {
	var e eventstore.RecordedEvent
	found, err := w.byID.queryRow(w.ctx, w.row, id[:])
	if err == nil && found {
		err = eventFromValues(w.row, &e)
	}
	clear(w.row)
	if err != nil {
		return e, false, fmt.Errorf("look up event id: %w", err)
	}
	return e, found, nil
}

// head returns the last event of stream: staged by this transaction, cached,
// or read from the file.
func (w *writer) head(stream string) (head, error) {
	if h, ok := w.staged[stream]; ok {
		return h, nil
	}
	if h, ok := w.heads[stream]; ok {
		return h, nil
	}
	found, err := w.headOf.queryRow(w.ctx, w.row[:2], stream)
	if err != nil {
		return head{}, fmt.Errorf("read stream head: %w", err)
	}
	if !found {
		h := head{}
		w.cacheHead(stream, h)
		return h, nil
	}
	rev, ok1 := w.row[0].(int64)
	hash, ok2 := w.row[1].([]byte)
	clear(w.row)
	hh, err := toHash(hash)
	if !ok1 || !ok2 || err != nil {
		return head{}, fmt.Errorf("read stream head of %s: malformed row", stream)
	}
	h := head{rev: uint64(rev), hash: hh, exists: true}
	w.cacheHead(stream, h)
	return h, nil
}
