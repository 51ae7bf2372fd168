package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scelle-ledger/scelle/eventstore"
)

// ErrUnknownProjection: no projection has that name.
var ErrUnknownProjection = errors.New("projections: unknown projection")

// Progress is told how far a rebuild has got: the events applied so far
// and the total to apply (both grow if appends continue meanwhile).
type Progress func(done, total int64)

// RebuildResult describes a finished rebuild of one projection.
type RebuildResult struct {
	Projection string
	Generation int
	// Events is the number of events read from the store.
	Events int64
	// Position is the checkpoint at the swap.
	Position int64
	Elapsed  time.Duration
}

// shadow is one projection being rebuilt: its new generation's tables.
type shadow struct {
	p   Projection
	t   Tables
	gen int
	// indexed: the query indexes exist (bulkLoad made them).
	indexed bool
}

// Rebuild builds projection name from zero into a new generation of its
// tables, beside the live one (which keeps serving queries and following
// the store), and swaps it in, in one transaction, once it has caught up.
func (r *Runner) Rebuild(ctx context.Context, name string, progress Progress) (RebuildResult, error) {
	res, err := r.RebuildAll(ctx, []string{name}, progress)
	if err != nil {
		return RebuildResult{Projection: name}, err
	}
	return res[0], nil
}

// RebuildAll rebuilds the named projections together in one pass over the
// log: each event is read and decoded once for all of them, and each
// batch is applied to all their new generations in one transaction. They
// are swapped in together, in one transaction. A crash or a cancellation
// before the swap leaves the live tables as they were; the next Init drops
// what the rebuild had written, and a rebuild can start again.
func (r *Runner) RebuildAll(ctx context.Context, names []string, progress Progress) ([]RebuildResult, error) {
	start := time.Now()
	var projs []Projection
	for _, name := range names {
		p, ok := r.byName[name]
		if !ok {
			return nil, fmt.Errorf("projections: rebuild %q: %w (have %v)", name, ErrUnknownProjection, r.Projections())
		}
		for _, q := range projs {
			if q.Name() == name {
				return nil, fmt.Errorf("projections: rebuild %q: named twice", name)
			}
		}
		projs = append(projs, p)
	}
	if len(projs) == 0 {
		return nil, nil
	}
	if progress == nil {
		progress = func(int64, int64) {}
	}
	if _, err := r.db.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = -%d`, rebuildCacheKiB)); err != nil {
		return nil, fmt.Errorf("projections: rebuild: %w", err)
	}
	defer r.db.w.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA cache_size = -%d`, liveCacheKiB))
	set, err := r.createShadows(ctx, projs)
	if err != nil {
		return nil, err
	}
	swapped := false
	defer func() {
		if !swapped {
			r.dropShadows(context.WithoutCancel(ctx), set)
		}
	}()

	var events int64
	pos := int64(-1)
	for {
		head, err := Head(ctx, r.store)
		if err != nil {
			return nil, fmt.Errorf("projections: rebuild %v: %w", names, err)
		}
		if head-pos <= int64(r.opts.BatchSize) {
			break
		}
		if pos < 0 {
			n, err := r.bulkLoad(ctx, set, head, func(at int64) { progress(at+1, head+1) })
			if err != nil {
				return nil, err
			}
			events, pos = n, head
			for i := range set {
				set[i].indexed = true
			}
			continue
		}
		n, err := r.catchUp(ctx, set, pos, head, func(at int64, n int64) {
			events += n
			progress(at+1, head+1)
		})
		pos = n
		if err != nil {
			return nil, err
		}
	}
	if err := r.indexShadows(ctx, set); err != nil {
		return nil, err
	}
	final, n, err := r.swap(ctx, set, pos)
	if err != nil {
		return nil, err
	}
	swapped = true
	events += n
	progress(final+1, final+1)
	elapsed := time.Since(start)
	out := make([]RebuildResult, len(set))
	for i, s := range set {
		out[i] = RebuildResult{Projection: s.p.Name(), Generation: s.gen, Events: events, Position: final, Elapsed: elapsed}
		r.opts.Logger.InfoContext(ctx, "projection rebuilt", "projection", s.p.Name(), "generation", s.gen,
			"events", events, "position", final, "elapsed", elapsed)
	}
	return out, nil
}

func (r *Runner) createShadows(ctx context.Context, projs []Projection) ([]shadow, error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	tx, err := r.db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("projections: rebuild: %w", err)
	}
	defer tx.Rollback()
	reg, err := readRegistry(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("projections: rebuild: read registry: %w", err)
	}
	var set []shadow
	for _, p := range projs {
		_, ok := reg[p.Name()]
		if !ok {
			return nil, fmt.Errorf("projections: rebuild %s: not in the registry: call Init first", p.Name())
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM projection_shadow WHERE name = ?`, p.Name()).Scan(&n); err != nil {
			return nil, fmt.Errorf("projections: rebuild %s: %w", p.Name(), err)
		}
		if n > 0 {
			return nil, fmt.Errorf("projections: rebuild %s: another rebuild is under way", p.Name())
		}
		gen, err := nextGeneration(ctx, tx)
		if err != nil {
			return nil, fmt.Errorf("projections: rebuild %s: %w", p.Name(), err)
		}
		s := shadow{p: p, gen: gen}
		s.t = tablesFor(p.Version(), s.gen)
		if err := createTables(ctx, tx, p, s.t, false); err != nil {
			return nil, fmt.Errorf("projections: rebuild %s: %w", p.Name(), err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO projection_shadow(name, version, generation, position) VALUES (?, ?, ?, -1)`,
			p.Name(), p.Version(), s.gen); err != nil {
			return nil, fmt.Errorf("projections: rebuild %s: %w", p.Name(), err)
		}
		set = append(set, s)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("projections: rebuild: %w", err)
	}
	return set, nil
}

func (r *Runner) dropShadows(ctx context.Context, set []shadow) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	fail := func(err error) {
		r.opts.Logger.ErrorContext(ctx, "projections: drop abandoned rebuild", "err", err)
	}
	tx, err := r.db.w.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	defer tx.Rollback()
	for _, s := range set {
		for _, base := range s.p.Tables() {
			if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS "`+s.t.Name(base)+`"`); err != nil {
				fail(err)
				return
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM projection_shadow WHERE name = ? AND generation = ?`, s.p.Name(), s.gen); err != nil {
			fail(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(err)
	}
	r.stmts.clear()
}

func projsOf(set []shadow) []Projection {
	out := make([]Projection, len(set))
	for i, s := range set {
		out[i] = s.p
	}
	return out
}

// rangeReader is implemented by stores that read a range of positions in
// bulk faster than ReadAll (the SQLite store's ReadRangeLean, which leaves
// out the hashes and trace ids that projections never read). Their
// positions are dense: [from, to) holds to-from events.
type rangeReader interface {
	ReadRangeLean(ctx context.Context, from, to uint64, dst []eventstore.RecordedEvent) ([]eventstore.RecordedEvent, error)
}

type page struct {
	events []Event
	err    error
}

// readPages reads the events after position after up to and including
// until, decodes what projs need, and sends them in pages of at most
// RebuildBatchSize events, from its own goroutine: the next page is read
// and decoded while the caller applies this one.
func (r *Runner) readPages(ctx context.Context, projs []Projection, after, until int64) <-chan page {
	ch := make(chan page, 1)
	fail := func(err error) {
		select {
		case ch <- page{err: err}:
		case <-ctx.Done():
		}
	}
	size := r.opts.RebuildBatchSize
	go func() {
		defer close(ch)
		rr, dense := r.store.(rangeReader)
		for after < until {
			var recs []eventstore.RecordedEvent
			var err error
			if dense {
				recs, err = rr.ReadRangeLean(ctx, uint64(after+1), uint64(min(until, after+int64(size))+1), nil)
			} else {
				from := eventstore.Start
				if after >= 0 {
					from = eventstore.At(uint64(after))
				}
				recs, err = r.store.ReadAll(ctx, eventstore.ReadOptions{From: from, Count: uint64(size) + 1})
			}
			if err != nil {
				fail(fmt.Errorf("projections: read store after %d: %w", after, err))
				return
			}
			keep := recs[:0]
			for _, rec := range recs {
				if p := int64(rec.Position); p > after && p <= until {
					keep = append(keep, rec)
				}
			}
			if len(keep) == 0 {
				return
			}
			evs, err := r.decodeAll(projs, keep)
			if err != nil {
				fail(err)
				return
			}
			after = int64(evs[len(evs)-1].Position)
			select {
			case ch <- page{events: evs}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// catchUp applies to the shadow generations the events after pos up to
// head, one transaction per page, and returns the new shadow position.
func (r *Runner) catchUp(ctx context.Context, set []shadow, pos, head int64, progress func(at, n int64)) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for pg := range r.readPages(ctx, projsOf(set), pos, head) {
		if pg.err != nil {
			return pos, pg.err
		}
		if err := r.applyShadows(ctx, set, pos, pg.events); err != nil {
			return pos, err
		}
		pos = int64(pg.events[len(pg.events)-1].Position)
		progress(pos, int64(len(pg.events)))
	}
	return pos, ctx.Err()
}

// applyShadows applies a page to every shadow generation of set and moves
// their checkpoints, in one transaction.
func (r *Runner) applyShadows(ctx context.Context, set []shadow, pos int64, batch []Event) error {
	last := int64(batch[len(batch)-1].Position)
	return r.shadowTx(ctx, func(tx *sql.Tx) error {
		for _, s := range set {
			if err := r.applyBatch(ctx, tx, s.p, s.t, pos, batch); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE projection_shadow SET position = ? WHERE name = ? AND generation = ?`, last, s.p.Name(), s.gen)
			if err != nil {
				return fmt.Errorf("projections: rebuild %s: write checkpoint: %w", s.p.Name(), err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fmt.Errorf("projections: rebuild %s: the rebuild was discarded (did another process start?)", s.p.Name())
			}
		}
		return nil
	})
}

// indexShadows creates the query indexes of the shadow generations, one
// transaction each, so that live batches can run in between.
func (r *Runner) indexShadows(ctx context.Context, set []shadow) error {
	for _, s := range set {
		if s.indexed {
			continue
		}
		for _, ddl := range queryIndexes(s.p) {
			if err := r.shadowTx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, s.t.Expand(ddl))
				return err
			}); err != nil {
				return fmt.Errorf("projections: rebuild %s: create index: %q: %w", s.p.Name(), s.t.Expand(ddl), err)
			}
		}
	}
	return nil
}

// shadowTx runs f in a write transaction on shadow tables. Like every
// commit of the read models, it is not fsynced (synchronous=NORMAL, see
// OpenDB): a crash discards an unfinished rebuild anyway.
func (r *Runner) shadowTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if err := inTx(ctx, r.db.w, f); err != nil {
		return err
	}
	r.stmts.prepare(ctx, r.db.w)
	return nil
}

// swap catches the shadow generations up with the store's head and the
// live checkpoints, then makes them the active generations and drops the
// old ones, all in one transaction that excludes every other writer.
func (r *Runner) swap(ctx context.Context, set []shadow, pos int64) (int64, int64, error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	r.reg = nil // the swap rewrites the registry
	tx, err := r.db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("projections: rebuild: swap: %w", err)
	}
	defer tx.Rollback()
	reg, err := readRegistry(ctx, tx)
	if err != nil {
		return 0, 0, fmt.Errorf("projections: rebuild: swap: read registry: %w", err)
	}
	head, err := Head(ctx, r.store)
	if err != nil {
		return 0, 0, fmt.Errorf("projections: rebuild: swap: %w", err)
	}
	target := head
	for _, s := range set {
		target = max(target, reg[s.p.Name()].position)
	}
	var n int64
	rctx, cancel := context.WithCancel(ctx) // stops the reader if this returns early
	defer cancel()
	for pg := range r.readPages(rctx, projsOf(set), pos, target) {
		if pg.err != nil {
			return 0, 0, pg.err
		}
		for _, s := range set {
			if err := r.applyBatch(ctx, tx, s.p, s.t, pos, pg.events); err != nil {
				return 0, 0, err
			}
		}
		pos = int64(pg.events[len(pg.events)-1].Position)
		n += int64(len(pg.events))
	}
	if pos < target {
		return 0, 0, fmt.Errorf("projections: rebuild: swap: store ended at %d, before position %d", pos, target)
	}
	moved := map[string]int64{}
	for _, s := range set {
		name := s.p.Name()
		res, err := tx.ExecContext(ctx, `DELETE FROM projection_shadow WHERE name = ? AND generation = ?`, name, s.gen)
		if err != nil {
			return 0, 0, fmt.Errorf("projections: rebuild %s: swap: %w", name, err)
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return 0, 0, fmt.Errorf("projections: rebuild %s: swap: the rebuild was discarded (did another process start?)", name)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE projection_registry SET version = ?, generation = ?, position = ? WHERE name = ?`,
			s.p.Version(), s.gen, pos, name); err != nil {
			return 0, 0, fmt.Errorf("projections: rebuild %s: swap: %w", name, err)
		}
		moved[name] = pos
	}
	for _, s := range set { // once every registry row points at its new generation
		if err := r.dropOtherGenerations(ctx, tx, s.p, s.t); err != nil {
			return 0, 0, fmt.Errorf("projections: rebuild %s: swap: %w", s.p.Name(), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("projections: rebuild: swap: commit: %w", err)
	}
	r.stmts.clear() // the replaced generations' tables are gone
	r.setApplied(moved)
	return pos, n, nil
}
