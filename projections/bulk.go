package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A rebuild from zero first bulk-loads its projections (bulkLoad): SQLite
// lets one connection write a database at a time, so the projections of
// a one-pass rebuild, written on the read-model database's single writer
// connection, would take turns on one core. Instead, the projection that
// keeps the most rows per event (RowsPerEventer; the feed: one) is loaded
// directly into its shadow tables, and each other one into a scratch file
// of its own; each has its own connection and goroutine, so they are
// written in parallel with each other and with the reading and decoding
// of the log. Once each reaches the store's head as it was when the
// rebuild started, its query indexes are built (in parallel with the
// others' work) and a scratch file is copied into its shadow tables in
// one transaction: between tables of the same schema, SQLite copies
// records and index entries whole, without decoding them. The rebuild
// then goes on as before: it catches up with what was appended meanwhile
// on the shadow tables, and swaps.
//
// Nothing in a scratch file needs to survive a crash (a crash before the
// swap discards the rebuild, and Init removes the files), so they are
// written without fsync and without a rollback journal (an in-memory one
// cost the rebuild 2 s of CPU: copies of the pages that later batches
// rewrite).

// scratchPrefix names the scratch files: the read-model database's path
// followed by this and a generation number.
const scratchPrefix = ".rebuild-g"

// scratchCacheKiB is each scratch connection's page cache.
const scratchCacheKiB = 128 << 10

// scratchPageSize is the scratch files' page size, SQLite's largest; the
// read-model file keeps the default 4096, which suits live batches (each
// dirty page is written whole to the WAL). A scratch file is written once
// and read whole, by its index builds and its copy: with 64 KiB pages,
// custody's inserts, whose random keys split pages, and its index builds
// took a third less time, and the one-pass rebuild of 1,057,824 events
// went from 92-102k to 113-117k events/s in three of four interleaved
// rounds (92k against 97k in the fourth, a slow minute for both).
const scratchPageSize = 65536

// scratchAhead is how many pages the reader may send a scratch file's
// worker ahead of what it has applied. The projection loaded directly
// gets one page ahead only, so that it sets the pace: its work on the
// read-model database's writer (loading, then its query indexes, then the
// copies of the scratch files) is the longest chain of the rebuild, and
// the sooner it starts on the indexes the more of the scratch files'
// work overlaps with them. (At 1M events the gain is within the noise of
// this 2-core machine: 1 and 4 pages ahead both gave 11.8-15.2 s.)
const scratchAhead = 4

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
	q.Add("_pragma", fmt.Sprintf("page_size(%d)", scratchPageSize)) // before the file is created
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
// position head (one directly, the others through scratch files copied
// in, see above), with their query indexes, and moves their checkpoints
// to head. It returns the number of events read.
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
		w := &scratch{s: s, direct: i == direct, pages: make(chan []Event, scratchAhead)}
		if w.direct {
			w.pages = make(chan []Event, 1)
		}
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
		go pprof.Do(ctx, pprof.Labels("loader", w.s.p.Name()), func(ctx context.Context) { // for SCELLE_REBUILD_CPUPROFILE
			defer wg.Done()
			if err := r.load(ctx, w); err != nil {
				cancel(fmt.Errorf("projections: rebuild %s: %w", w.s.p.Name(), err))
				for range w.pages { // let the reader go on to its end
				}
			}
		})
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
	r.opts.Logger.InfoContext(ctx, "rebuild: loaded, indexed and copied", "direct", set[direct].p.Name(), "scratch_files", len(work)-1,
		"events", events, "position", head, "elapsed", time.Since(start).Round(time.Millisecond))
	return events, nil
}

// load applies the pages w is sent to its scratch file (or its shadow
// tables), one transaction each, and creates the query indexes there (one
// sort each: kept up to date row by row instead, the feed's took the
// rebuild a third more CPU in a trial at 1M events); a scratch file is
// then copied into its shadow tables, while the others go on loading.
func (r *Runner) load(ctx context.Context, w *scratch) error {
	start := time.Now()
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
	// --verbose shows when each step ended, from the start of the load:
	// the steps on the writer connection wait for one another.
	phase := func(msg string) {
		r.opts.Logger.InfoContext(ctx, "rebuild: "+msg, "projection", w.s.p.Name(), "at", time.Since(start).Round(time.Millisecond))
	}
	phase("loaded")
	if w.direct {
		if err := r.indexShadows(ctx, []shadow{w.s}); err != nil {
			return err
		}
		phase("indexed")
		return nil
	}
	for _, ddl := range queryIndexes(w.s.p) {
		if _, err := w.db.ExecContext(ctx, w.s.t.Expand(ddl)); err != nil {
			return fmt.Errorf("create index: %q: %w", w.s.t.Expand(ddl), err)
		}
	}
	phase("indexed")
	if err := r.copyScratch(ctx, w, pos); err != nil {
		return err
	}
	phase("scratch file copied into the shadow tables")
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

// copyScratch copies w's loaded scratch file into its shadow tables, with
// their query indexes, and moves the shadow's checkpoint to pos, in one
// transaction.
func (r *Runner) copyScratch(ctx context.Context, w *scratch, pos int64) error {
	name := w.s.p.Name()
	if err := w.db.Close(); err != nil { // written out, lock released
		return fmt.Errorf("close scratch file: %w", err)
	}
	// The query indexes exist on both sides, so that they are copied too
	// (SQLite copies whole records only between tables whose every index
	// has a match on the other side).
	if err := r.indexShadows(ctx, []shadow{w.s}); err != nil {
		return err
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	conn, err := r.db.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	const schema = "scratch"
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS `+schema, w.path); err != nil {
		return fmt.Errorf("attach %s: %w", w.path, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE `+schema)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, base := range w.s.p.Tables() {
		t := `"` + w.s.t.Name(base) + `"`
		if _, err := tx.ExecContext(ctx, `INSERT INTO main.`+t+` SELECT * FROM `+schema+`.`+t); err != nil {
			return fmt.Errorf("copy %s: %w", w.s.t.Name(base), err)
		}
	}
	res, err := tx.ExecContext(ctx, `UPDATE projection_shadow SET position = ? WHERE name = ? AND generation = ?`, pos, name, w.s.gen)
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("the rebuild was discarded (did another process start?)")
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("copy: commit: %w", err)
	}
	return nil
}

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
