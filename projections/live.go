package projections

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/scelle-ledger/scelle/eventstore"
)

// The live path: follow the subscription and apply whatever has arrived
// as one batch. Under a server's load a batch holds a few events, so what
// a batch costs whatever its size (begin, registry, checkpoints, commit)
// weighs as much as the events: the registry is kept in memory, the
// checkpoints move in one prepared statement, and the pump hands over raw
// records so that a batch takes everything already received.

type item struct {
	rec eventstore.RecordedEvent
	err error
}

// follow subscribes after the lowest checkpoint and applies batches.
func (r *Runner) follow(ctx context.Context) error {
	if len(r.projs) == 0 {
		<-ctx.Done()
		return nil
	}
	if err := r.refresh(ctx); err != nil {
		return err
	}
	if err := r.catchUpBulk(ctx); err != nil {
		return err
	}
	low := r.lowest()
	from := eventstore.Start
	if low >= 0 {
		from = eventstore.At(uint64(low))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := r.store.SubscribeAll(ctx, eventstore.SubscribeOptions{From: from})
	if err != nil {
		return fmt.Errorf("projections: subscribe: %w", err)
	}
	defer sub.Close()
	ch := make(chan item, 2*r.opts.BatchSize)
	go pump(ctx, sub, ch)

	prev := low // position of the last event before the next batch
	recs := make([]eventstore.RecordedEvent, 0, r.opts.BatchSize)
	for {
		clear(recs)
		recs = recs[:0]
		select {
		case <-ctx.Done():
			return ctx.Err()
		case it := <-ch:
			if it.err != nil {
				return it.err
			}
			recs = append(recs, it.rec)
		}
		// Take what has already arrived; never wait for more.
	drain:
		for len(recs) < r.opts.BatchSize {
			select {
			case it := <-ch:
				if it.err != nil {
					return it.err
				}
				recs = append(recs, it.rec)
			default:
				break drain
			}
		}
		batch, err := r.decodeAll(r.projs, recs)
		if err != nil {
			return err
		}
		if err := r.applyLive(ctx, prev, batch); err != nil {
			return err
		}
		prev = int64(batch[len(batch)-1].Position)
	}
}

// pump receives events for follow in its own goroutine, so that what the
// subscription delivers while a batch is applied waits in ch for the next
// one. It does not decode: follow decodes each batch (on every core when
// it is large), and a pump that only forwards keeps ch as full as the
// subscription allows when follow drains it.
func pump(ctx context.Context, sub eventstore.Subscription, ch chan<- item) {
	for {
		rec, err := sub.Recv()
		it := item{rec: rec}
		if err != nil {
			it.err = fmt.Errorf("projections: subscription: %w", err)
		}
		select {
		case ch <- it:
		case <-ctx.Done():
			return
		}
		if it.err != nil {
			return
		}
	}
}

// applyLive applies a batch to the active generation of every projection
// whose checkpoint is before the event, and moves the checkpoints, in one
// transaction. prev is the position of the subscription's previous event
// (-1: none): a checkpoint behind it means events were skipped.
func (r *Runner) applyLive(ctx context.Context, prev int64, batch []Event) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	defer func() {
		if err != nil {
			r.reg = nil // read it again: the transaction may have changed it before failing
		}
	}()
	// Statements run without cancellation (database/sql and the driver
	// would otherwise start a goroutine per transaction and per statement
	// to watch ctx); applyBatch checks ctx between events and a cancelled
	// batch is rolled back whole.
	wctx := context.WithoutCancel(ctx)
	tx, err := r.db.w.BeginTx(wctx, nil)
	if err != nil {
		return fmt.Errorf("projections: begin batch: %w", err)
	}
	defer tx.Rollback()
	reg, err := r.registry(wctx, tx)
	if err != nil {
		return fmt.Errorf("projections: read registry: %w", err)
	}
	last := int64(batch[len(batch)-1].Position)
	moved := map[string]int64{}
	for _, p := range r.projs {
		row, ok := reg[p.Name()]
		if !ok {
			return fmt.Errorf("projections: projection %s: not in the registry (was the read-model database replaced?)", p.Name())
		}
		if row.version != p.Version() {
			return fmt.Errorf("projections: projection %s: registry is at version %d, this binary has version %d", p.Name(), row.version, p.Version())
		}
		if row.position < prev {
			return errResubscribe
		}
		if row.position >= last {
			continue
		}
		if err := r.applyBatch(ctx, tx, p, tablesFor(row.version, row.generation), row.position, batch); err != nil {
			return err
		}
		moved[p.Name()] = last
	}
	if len(moved) > 0 {
		// Every projection behind last is at last now: one statement
		// moves their checkpoints (those already at or past it keep theirs).
		st, err := r.writeStmt(wctx, tx, r.checkpointSQL)
		if err != nil {
			return fmt.Errorf("projections: write checkpoints at %d: %w", last, err)
		}
		res, err := st.ExecContext(wctx, last)
		if err != nil {
			return fmt.Errorf("projections: write checkpoints at %d: %w", last, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(moved)) {
			return fmt.Errorf("projections: write checkpoints at %d: %d rows moved, want %d (%v)", last, n, len(moved), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projections: commit batch ending at %d: %w", last, err)
	}
	for name, pos := range moved {
		row := reg[name]
		row.position = pos
		reg[name] = row
	}
	r.stmts.prepare(wctx, r.db.w)
	r.setApplied(moved)
	return nil
}

// registry returns the projection registry as tx sees it. It is read once
// and kept (r.reg) while no other connection changes the database: PRAGMA
// data_version, read inside the write transaction, tells whether one
// (another process's rebuild) committed since. This process's own writes
// to the registry go through the writer connection and do not change
// data_version: those outside applyLive (Init, a swap) drop r.reg.
// Callers hold writeMu.
func (r *Runner) registry(ctx context.Context, tx *sql.Tx) (map[string]registryRow, error) {
	st, err := r.writeStmt(ctx, tx, `PRAGMA data_version`)
	if err != nil {
		return nil, err
	}
	var v int64
	if err := st.QueryRowContext(ctx).Scan(&v); err != nil {
		return nil, err
	}
	if r.reg != nil && v == r.regVersion {
		return r.reg, nil
	}
	reg, err := readRegistry(ctx, tx)
	if err != nil {
		return nil, err
	}
	r.reg, r.regVersion = reg, v
	return reg, nil
}

// checkpointStmt is the statement that moves the checkpoints of the
// runner's projections that are behind ?1 to ?1.
func checkpointStmt(projs []Projection) string {
	names := make([]string, len(projs))
	for i, p := range projs {
		names[i] = "'" + p.Name() + "'" // names are [a-z0-9_]: no quoting needed
	}
	return `UPDATE projection_registry SET position = ?1 WHERE position < ?1 AND name IN (` + strings.Join(names, ", ") + `)`
}

// writeStmt returns text prepared for tx: the writer's statement kept
// across batches when there is one, else prepared on tx (and kept after
// the commit, by stmts.prepare). Callers hold writeMu.
func (r *Runner) writeStmt(ctx context.Context, tx *sql.Tx, text string) (*sql.Stmt, error) {
	if s := r.stmts.get(text); s != nil {
		return tx.StmtContext(ctx, s), nil
	}
	s, err := tx.PrepareContext(ctx, text)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", text, err)
	}
	return s, nil
}
