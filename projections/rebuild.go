package projections

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/scelle-ledger/scelle/eventstore"
)

// ErrUnknownProjection: no projection has that name.
var ErrUnknownProjection = errors.New("projections: unknown projection")

// Progress is told how far a rebuild has got: the events applied so far
// and the total to apply (both grow if appends continue meanwhile).
type Progress func(done, total int64)

// RebuildResult describes a finished rebuild.
type RebuildResult struct {
	Projection string
	Generation int
	// Events is the number of events read from the store.
	Events int64
	// Position is the checkpoint at the swap.
	Position int64
	Elapsed  time.Duration
}

// Rebuild builds projection name from zero into a new generation of its
// tables, beside the live one (which keeps serving queries and following
// the store), and swaps it in, in one transaction, once it has caught up.
// Positions are dense in the SQLite store, so done/total are event counts.
func (r *Runner) Rebuild(ctx context.Context, name string, progress Progress) (RebuildResult, error) {
	start := time.Now()
	res := RebuildResult{Projection: name}
	p, ok := r.byName[name]
	if !ok {
		return res, fmt.Errorf("projections: rebuild %q: %w (have %v)", name, ErrUnknownProjection, r.Projections())
	}
	if progress == nil {
		progress = func(int64, int64) {}
	}
	gen, err := r.createShadow(ctx, p)
	if err != nil {
		return res, err
	}
	res.Generation = gen
	t := tablesFor(p.Version(), gen)
	swapped := false
	defer func() {
		if !swapped {
			r.dropShadow(context.WithoutCancel(ctx), p, t)
		}
	}()

	pos := int64(-1)
	for {
		head, err := Head(ctx, r.store)
		if err != nil {
			return res, fmt.Errorf("projections: rebuild %s: %w", name, err)
		}
		if head-pos <= int64(r.opts.BatchSize) {
			break
		}
		n, err := r.catchUp(ctx, p, t, pos, head, func(at int64, n int64) {
			res.Events += n
			progress(at+1, head+1)
		})
		pos = n
		if err != nil {
			return res, err
		}
	}
	final, n, err := r.swap(ctx, p, t, pos)
	if err != nil {
		return res, err
	}
	swapped = true
	res.Events += n
	res.Position = final
	res.Elapsed = time.Since(start)
	progress(final+1, final+1)
	r.opts.Logger.InfoContext(ctx, "projection rebuilt", "projection", name, "generation", gen,
		"events", res.Events, "position", final, "elapsed", res.Elapsed)
	return res, nil
}

func (r *Runner) createShadow(ctx context.Context, p Projection) (int, error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	tx, err := r.db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("projections: rebuild %s: %w", p.Name(), err)
	}
	defer tx.Rollback()
	reg, err := readRegistry(ctx, tx)
	if err != nil {
		return 0, fmt.Errorf("projections: rebuild %s: read registry: %w", p.Name(), err)
	}
	row, ok := reg[p.Name()]
	if !ok {
		return 0, fmt.Errorf("projections: rebuild %s: not in the registry: call Init first", p.Name())
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM projection_shadow WHERE name = ?`, p.Name()).Scan(&n); err != nil {
		return 0, fmt.Errorf("projections: rebuild %s: %w", p.Name(), err)
	}
	if n > 0 {
		return 0, fmt.Errorf("projections: rebuild %s: another rebuild is under way", p.Name())
	}
	gen := row.generation + 1
	if err := createTables(ctx, tx, p, tablesFor(p.Version(), gen)); err != nil {
		return 0, fmt.Errorf("projections: rebuild %s: %w", p.Name(), err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO projection_shadow(name, version, generation, position) VALUES (?, ?, ?, -1)`,
		p.Name(), p.Version(), gen); err != nil {
		return 0, fmt.Errorf("projections: rebuild %s: %w", p.Name(), err)
	}
	return gen, tx.Commit()
}

func (r *Runner) dropShadow(ctx context.Context, p Projection, t Tables) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	tx, err := r.db.w.BeginTx(ctx, nil)
	if err != nil {
		r.opts.Logger.ErrorContext(ctx, "projections: drop abandoned rebuild", "projection", p.Name(), "err", err)
		return
	}
	defer tx.Rollback()
	for _, base := range p.Tables() {
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS "`+t.Name(base)+`"`); err != nil {
			r.opts.Logger.ErrorContext(ctx, "projections: drop abandoned rebuild", "projection", p.Name(), "err", err)
			return
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM projection_shadow WHERE name = ?`, p.Name()); err != nil {
		r.opts.Logger.ErrorContext(ctx, "projections: drop abandoned rebuild", "projection", p.Name(), "err", err)
		return
	}
	if err := tx.Commit(); err != nil {
		r.opts.Logger.ErrorContext(ctx, "projections: drop abandoned rebuild", "projection", p.Name(), "err", err)
	}
}

// decodeAll decodes recs on every core: decoding is the costliest step of
// a rebuild after the writes.
func (r *Runner) decodeAll(recs []eventstore.RecordedEvent) ([]Event, error) {
	evs := make([]Event, len(recs))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(recs)/256))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(recs); i += workers {
				ev, err := r.decode(recs[i])
				if err != nil {
					errs[w] = err
					return
				}
				evs[i] = ev
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return evs, nil
}

type page struct {
	events []Event
	err    error
}

// readPages reads and decodes the events after position after up to and
// including until (-1: no bound) in pages, in its own goroutine.
func (r *Runner) readPages(ctx context.Context, after, until int64) <-chan page {
	ch := make(chan page, 1) // one page decoded ahead of the one applied
	fail := func(err error) {
		select {
		case ch <- page{err: err}:
		case <-ctx.Done():
		}
	}
	go func() {
		defer close(ch)
		for {
			from := eventstore.Start
			if after >= 0 {
				from = eventstore.At(uint64(after))
			}
			recs, err := r.store.ReadAll(ctx, eventstore.ReadOptions{From: from, Count: uint64(r.opts.RebuildBatchSize) + 1})
			if err != nil {
				fail(fmt.Errorf("projections: read store after %d: %w", after, err))
				return
			}
			done := len(recs) <= 1
			keep := recs[:0]
			for _, rec := range recs {
				if int64(rec.Position) <= after {
					continue
				}
				if until >= 0 && int64(rec.Position) > until {
					done = true
					break
				}
				keep = append(keep, rec)
			}
			evs, err := r.decodeAll(keep)
			if err != nil {
				fail(err)
				return
			}
			if len(evs) > 0 {
				after = int64(evs[len(evs)-1].Position)
				select {
				case ch <- page{events: evs}:
				case <-ctx.Done():
					return
				}
			}
			if done || len(evs) == 0 {
				return
			}
		}
	}()
	return ch
}

// catchUp applies to the shadow generation t the events after pos up to
// head, one transaction per page, and returns the new shadow position.
func (r *Runner) catchUp(ctx context.Context, p Projection, t Tables, pos, head int64, progress func(at, n int64)) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for pg := range r.readPages(ctx, pos, head) {
		if pg.err != nil {
			return pos, pg.err
		}
		if err := r.applyShadow(ctx, p, t, pos, pg.events); err != nil {
			return pos, err
		}
		pos = int64(pg.events[len(pg.events)-1].Position)
		progress(pos, int64(len(pg.events)))
	}
	return pos, ctx.Err()
}

func (r *Runner) applyShadow(ctx context.Context, p Projection, t Tables, pos int64, batch []Event) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	tx, err := r.db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: rebuild %s: %w", p.Name(), err)
	}
	defer tx.Rollback()
	if err := applyBatch(ctx, tx, p, t, pos, batch); err != nil {
		return err
	}
	last := int64(batch[len(batch)-1].Position)
	res, err := tx.ExecContext(ctx, `UPDATE projection_shadow SET position = ? WHERE name = ?`, last, p.Name())
	if err != nil {
		return fmt.Errorf("projections: rebuild %s: write checkpoint: %w", p.Name(), err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("projections: rebuild %s: the rebuild was discarded (did another process start?)", p.Name())
	}
	return tx.Commit()
}

// swap catches the shadow generation up with the store's head and the live
// checkpoint, then makes it the active generation and drops the old one,
// all in one transaction that excludes every other writer.
func (r *Runner) swap(ctx context.Context, p Projection, t Tables, pos int64) (int64, int64, error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	tx, err := r.db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("projections: rebuild %s: swap: %w", p.Name(), err)
	}
	defer tx.Rollback()
	reg, err := readRegistry(ctx, tx)
	if err != nil {
		return 0, 0, fmt.Errorf("projections: rebuild %s: swap: read registry: %w", p.Name(), err)
	}
	live := reg[p.Name()]
	head, err := Head(ctx, r.store)
	if err != nil {
		return 0, 0, fmt.Errorf("projections: rebuild %s: swap: %w", p.Name(), err)
	}
	target := max(head, live.position)
	var n int64
	for pg := range r.readPages(ctx, pos, target) {
		if pg.err != nil {
			return 0, 0, pg.err
		}
		if err := applyBatch(ctx, tx, p, t, pos, pg.events); err != nil {
			return 0, 0, err
		}
		pos = int64(pg.events[len(pg.events)-1].Position)
		n += int64(len(pg.events))
	}
	if pos < target {
		return 0, 0, fmt.Errorf("projections: rebuild %s: swap: store ended at %d, before position %d", p.Name(), pos, target)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE projection_registry SET version = ?, generation = ?, position = ? WHERE name = ?`,
		p.Version(), t.generation, pos, p.Name()); err != nil {
		return 0, 0, fmt.Errorf("projections: rebuild %s: swap: %w", p.Name(), err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM projection_shadow WHERE name = ?`, p.Name()); err != nil {
		return 0, 0, fmt.Errorf("projections: rebuild %s: swap: %w", p.Name(), err)
	}
	if err := dropOtherGenerations(ctx, tx, p, t); err != nil {
		return 0, 0, fmt.Errorf("projections: rebuild %s: swap: %w", p.Name(), err)
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("projections: rebuild %s: swap: commit: %w", p.Name(), err)
	}
	r.setApplied(map[string]int64{p.Name(): pos})
	return pos, n, nil
}
