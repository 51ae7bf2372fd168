package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A rebuild from zero first bulk-loads its projections (bulkLoad): SQLite
// lets one connection write a database at a time, so the projections of
// a one-pass rebuild, written on the read-model database's single writer
// connection, would take turns on one core. Instead, the projection whose
// live tables hold the most rows (the feed: a row per event) is loaded
// directly into its shadow tables, and each other one into a scratch file
// of its own; each has its own connection and goroutine, so they are
// written in parallel with each other and with the reading and decoding
// of the log. Once they reach the store's head as it was when the rebuild
// started, their query indexes are built (in parallel too) and the
// scratch files are copied into their shadow tables in one transaction:
// between tables of the same schema, SQLite copies records and index
// entries whole, without decoding them. The rebuild then goes on as
// before: it catches up with what was appended meanwhile on the shadow
// tables, and swaps.
//
// Nothing in a scratch file needs to survive a crash (a crash before the
// swap discards the rebuild, and Init removes the files), so they are
// written without fsync and with the rollback journal in memory.

// scratchPrefix names the scratch files: the read-model database's path
// followed by this and a generation number.
const scratchPrefix = ".rebuild-g"

// scratchCacheKiB is each scratch connection's page cache.
const scratchCacheKiB = 128 << 10

// scratch is one projection being loaded in a file of its own or, for
// the one that is loaded directly into its shadow tables, not (direct).
type scratch struct {
	s      shadow
	direct bool
	path   string
	db     *sql.DB
	pages  chan []Event
	pos    atomic.Int64 // the last position applied
}

func (r *Runner) scratchPath(gen int) string {
	return r.db.path + scratchPrefix + strconv.Itoa(gen)
}

// removeScratchFiles removes the scratch files a rebuild left behind (a
// process that died in the middle of one).
func (r *Runner) removeScratchFiles() error {
	matches, err := filepath.Glob(r.db.path + scratchPrefix + "*")
	if err != nil {
		return err
	}
	for _, m := range matches {
		if err := os.Remove(m); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// openScratch creates an empty scratch database at path with s's tables.
func openScratch(ctx context.Context, path string, s shadow) (*sql.DB, error) {
	for _, f := range []string{path, path + "-journal"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(OFF)")
	q.Add("_pragma", "synchronous(OFF)")
	q.Add("_pragma", "locking_mode(EXCLUSIVE)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "foreign_keys(0)")
	q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", scratchCacheKiB))
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		db.Close()
		return nil, err
	}
	defer tx.Rollback()
	if err := createTables(ctx, tx, s.p, s.t, false); err != nil {
		db.Close()
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// bulkLoad builds set's shadow generations, empty at position -1, up to
// position head through scratch files (see above), creates their query
// indexes, and moves their checkpoints to head. It returns the number of
// events read.
func (r *Runner) bulkLoad(ctx context.Context, set []shadow, head int64, progress func(at int64)) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make([]*scratch, 0, len(set))
	defer func() {
		for _, w := range work {
			if !w.direct {
				w.db.Close()
				os.Remove(w.path)
				os.Remove(w.path + "-journal")
			}
		}
	}()
	direct := largest(set)
	for i, s := range set {
		w := &scratch{s: s, direct: i == direct, pages: make(chan []Event, 1)}
		w.pos.Store(-1)
		if !w.direct {
			var err error
			w.path = r.scratchPath(s.gen)
			if w.db, err = openScratch(ctx, w.path, s); err != nil {
				return 0, fmt.Errorf("projections: rebuild %s: scratch file %s: %w", s.p.Name(), w.path, err)
			}
		}
		work = append(work, w)
	}

	start := time.Now()
	var wg sync.WaitGroup
	for _, w := range work {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.load(ctx, w); err != nil {
				cancel(fmt.Errorf("projections: rebuild %s: %w", w.s.p.Name(), err))
				for range w.pages { // let the reader go on to its end
				}
			}
		}()
	}
	slowest := func() int64 {
		at := head
		for _, w := range work {
			at = min(at, w.pos.Load())
		}
		return at
	}
	var readErr error
	var events int64
	for pg := range r.readPages(ctx, projsOf(set), -1, head) {
		if pg.err != nil {
			readErr = pg.err
			break
		}
		events += int64(len(pg.events))
		for _, w := range work {
			select {
			case w.pages <- pg.events: // read only by every worker
			case <-ctx.Done():
			}
		}
		progress(slowest())
	}
	for _, w := range work {
		close(w.pages)
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil { // a worker's error, not the reader's cancellation it caused
		return 0, err
	}
	if readErr != nil {
		return 0, readErr
	}
	for _, w := range work {
		if at := w.pos.Load(); at != head {
			return 0, fmt.Errorf("projections: rebuild %s: loaded up to position %d, want %d", w.s.p.Name(), at, head)
		}
	}
	progress(head)
	r.opts.Logger.InfoContext(ctx, "rebuild: loaded and indexed", "direct", set[direct].p.Name(), "scratch_files", len(work)-1,
		"events", events, "position", head, "elapsed", time.Since(start).Round(time.Millisecond))
	if len(work) == 1 {
		return events, nil
	}
	start = time.Now()
	if err := r.copyScratch(ctx, work, head); err != nil {
		return 0, err
	}
	r.opts.Logger.InfoContext(ctx, "rebuild: scratch files copied into the shadow tables", "elapsed", time.Since(start).Round(time.Millisecond))
	return events, nil
}

// load applies the pages w is sent to its scratch file (or its shadow
// tables), one transaction each, then creates the query indexes there.
func (r *Runner) load(ctx context.Context, w *scratch) error {
	pos := int64(-1)
	for evs := range w.pages {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		if w.direct {
			err = r.applyShadows(ctx, []shadow{w.s}, pos, evs)
		} else {
			err = inTx(ctx, w.db, func(tx *sql.Tx) error {
				return applyBatchTo(ctx, tx, nil, w.s.p, w.s.t, pos, evs)
			})
		}
		if err != nil {
			return err
		}
		pos = int64(evs[len(evs)-1].Position)
		w.pos.Store(pos)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.direct {
		return r.indexShadows(ctx, []shadow{w.s})
	}
	for _, ddl := range queryIndexes(w.s.p) {
		if _, err := w.db.ExecContext(ctx, w.s.t.Expand(ddl)); err != nil {
			return fmt.Errorf("create index: %q: %w", w.s.t.Expand(ddl), err)
		}
	}
	return nil
}

// inTx runs f in a transaction of db and commits.
func inTx(ctx context.Context, db *sql.DB, f func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// copyScratch copies the loaded scratch files into their shadow tables,
// with their query indexes, and moves the shadows' checkpoints to pos, in
// one transaction.
func (r *Runner) copyScratch(ctx context.Context, work []*scratch, pos int64) error {
	work = slices.DeleteFunc(slices.Clone(work), func(w *scratch) bool { return w.direct })
	if len(work) == 0 {
		return nil
	}
	for _, w := range work {
		if err := w.db.Close(); err != nil { // written out, lock released
			return fmt.Errorf("projections: rebuild %s: close scratch file: %w", w.s.p.Name(), err)
		}
	}
	// The query indexes exist on both sides, so that they are copied too
	// (SQLite copies whole records only between tables whose every index
	// has a match on the other side).
	for _, w := range work {
		for _, ddl := range queryIndexes(w.s.p) {
			if err := r.shadowTx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, w.s.t.Expand(ddl))
				return err
			}); err != nil {
				return fmt.Errorf("projections: rebuild %s: create index: %q: %w", w.s.p.Name(), w.s.t.Expand(ddl), err)
			}
		}
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	conn, err := r.db.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("projections: rebuild: %w", err)
	}
	defer conn.Close()
	for i, w := range work {
		if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS `+scratchSchema(i), w.path); err != nil {
			return fmt.Errorf("projections: rebuild %s: attach %s: %w", w.s.p.Name(), w.path, err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE `+scratchSchema(i))
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: rebuild: %w", err)
	}
	defer tx.Rollback()
	for i, w := range work {
		name := w.s.p.Name()
		for _, base := range w.s.p.Tables() {
			t := `"` + w.s.t.Name(base) + `"`
			if _, err := tx.ExecContext(ctx, `INSERT INTO main.`+t+` SELECT * FROM `+scratchSchema(i)+`.`+t); err != nil {
				return fmt.Errorf("projections: rebuild %s: copy %s: %w", name, w.s.t.Name(base), err)
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE projection_shadow SET position = ? WHERE name = ? AND generation = ?`, pos, name, w.s.gen)
		if err != nil {
			return fmt.Errorf("projections: rebuild %s: write checkpoint: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("projections: rebuild %s: the rebuild was discarded (did another process start?)", name)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projections: rebuild: copy: commit: %w", err)
	}
	return nil
}

func scratchSchema(i int) string { return "scratch" + strconv.Itoa(i) }

// largest returns the index in set of the projection that keeps the most
// rows per event (RowsPerEventer; 0 for the others, the first on a tie):
// it is loaded directly into its shadow tables, which spares the copy of
// the largest scratch file.
func largest(set []shadow) int {
	best, most := 0, -1.0
	for i, s := range set {
		n := 0.0
		if r, ok := s.p.(RowsPerEventer); ok {
			n = r.RowsPerEvent()
		}
		if n > most {
			best, most = i, n
		}
	}
	return best
}
