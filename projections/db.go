package projections

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"runtime"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/scelle-ledger/scelle/eventstore/sqlite"
)

// FileName is the read-model database's file name inside a data directory,
// beside the event store's file.
const FileName = "readmodels.db"

// DB is the read-model database: one writer connection (every write
// transaction of every projection and rebuild takes turns on it) and a pool
// of read-only connections for queries.
type DB struct {
	path string
	w    *sql.DB
	r    *sql.DB
}

// The writer connection's page cache. SQLite scans the whole page cache's
// hash at the end of every write transaction (measured on the event
// store's writer: 64 MiB cost ~10 µs per event there), so live batches,
// which touch few pages, get a modest cache; a rebuild, whose batches of
// three projections touch many pages and should not spill them before
// commit, raises it for its duration.
const (
	liveCacheKiB    = 32 << 10
	rebuildCacheKiB = 256 << 10
)

// OpenDB opens (creating if needed) the read-model database at path, in WAL
// mode with synchronous=NORMAL, and creates the projection registry.
//
// NORMAL, not FULL: a commit is not fsynced (the WAL is, at checkpoints),
// so a power loss may lose the last batches' commits. That keeps
// exactly-once: a batch's rows and its checkpoint are in one transaction,
// and the WAL loses whole transactions from the tail, never part of one,
// so the read models come back at an older checkpoint, consistent, and the
// runner applies the lost tail again from the store. They can never come
// back ahead of the store: the store exposes an event only once it is
// durable (and Init rebuilds from zero read models ahead of the store's
// head, an older store restored). What FULL would buy, read models that
// survive power loss without re-applying a few batches, is not worth an
// fsync per live batch: read models are rebuildable from the log.
func OpenDB(ctx context.Context, path string) (*DB, error) {
	// The writer's WAL frames reach the file in one write per commit, as
	// the event store's do (eventstore/sqlite/walvfs.go): a live batch
	// dirties a few to a dozen pages, each otherwise two pwrites.
	vfs, err := sqlite.WALBufferVFS()
	if err != nil {
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	dsn := func(readOnly bool) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(0)")
		if readOnly {
			q.Add("_pragma", "query_only(1)")
			q.Add("_pragma", "cache_size(-16384)") // 16 MiB per reader
		} else {
			q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", liveCacheKiB))
			q.Add("_pragma", "journal_mode(WAL)")
			q.Add("_pragma", "synchronous(NORMAL)")
			// Statement journals (a multi-row INSERT or an upsert inside a
			// batch) in memory rather than in a temporary file.
			q.Add("_pragma", "temp_store(MEMORY)")
			q.Set("_txlock", "immediate")
			if vfs != "" {
				q.Set("vfs", vfs)
			}
		}
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn(false))
	if err != nil {
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if _, err := w.ExecContext(ctx, registrySchema); err != nil {
		w.Close()
		return nil, fmt.Errorf("projections: open %s: create registry: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	return &DB{path: path, w: w, r: r}, nil
}

// Path is the database file's path.
func (db *DB) Path() string { return db.path }

// Close closes both pools.
func (db *DB) Close() error {
	err1 := db.r.Close()
	err2 := db.w.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

// registrySchema: one row per projection. position is the last global
// position applied to the active generation's tables, -1 for none. Shadow
// rows are rebuilds in progress (discarded at start if a process died).
const registrySchema = `
CREATE TABLE IF NOT EXISTS projection_registry (
	name       TEXT PRIMARY KEY,
	version    INTEGER NOT NULL,
	generation INTEGER NOT NULL,
	position   INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS projection_shadow (
	name       TEXT PRIMARY KEY,
	version    INTEGER NOT NULL,
	generation INTEGER NOT NULL,
	position   INTEGER NOT NULL
) STRICT;`

// registryRow is a projection's row in projection_registry.
type registryRow struct {
	version    int
	generation int
	position   int64
}

func readRegistry(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) (map[string]registryRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, version, generation, position FROM projection_registry`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]registryRow{}
	for rows.Next() {
		var name string
		var r registryRow
		if err := rows.Scan(&name, &r.version, &r.generation, &r.position); err != nil {
			return nil, err
		}
		m[name] = r
	}
	return m, rows.Err()
}
