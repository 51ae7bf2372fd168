//go:build linux

package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// With a tiny page cache SQLite spills pages to the WAL in the middle of a
// transaction and, when it modifies them again, rewrites their frames in
// place and recomputes the checksums from the file: the writes the shim
// must not reorder. The file read through the unix VFS must hold exactly
// what was written, in every committed state.
func TestWALVFS_spillAndRewriteInPlace(t *testing.T) {
	vfs, err := writerVFSParams()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "spill.db")
	w, err := sql.Open("sqlite", dsn(path, append(vfs, "_pragma", "journal_mode(WAL)", "_pragma", "synchronous(NORMAL)", "_pragma", "cache_size(10)")...))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn(path, "_pragma", "query_only(1)"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	if _, err := w.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const rows = 300
	value := func(round, k int) string { return fmt.Sprintf("%d-%d-%s", round, k, strings.Repeat("x", 200+k%50)) }
	before := walVFS.writes.Load()
	for round := range 4 {
		tx, err := w.Begin()
		if err != nil {
			t.Fatal(err)
		}
		// Insert or rewrite every row twice in one transaction: the second
		// pass modifies pages the first pass's spill has already written.
		for pass := range 2 {
			for k := range rows {
				if _, err := tx.Exec(`INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, k, value(round, k)+fmt.Sprint(pass)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		// Another connection, through the unix VFS, sees the whole commit.
		var n int
		var sum int64
		if err := r.QueryRow(`SELECT count(*), sum(length(v)) FROM t WHERE v LIKE ?`, fmt.Sprintf("%d-%%1", round)).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		if n != rows {
			t.Fatalf("round %d: the reader sees %d rows of this round, want %d", round, n, rows)
		}
	}
	if walVFS.writes.Load()-before < 8 {
		t.Fatalf("only %d WAL writes for four transactions larger than the cache: nothing was spilled", walVFS.writes.Load()-before)
	}
	var ok string
	if err := r.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity check: %q, %v", ok, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopened (WAL recovered through the unix VFS), the last state is there.
	var last string
	if err := r.QueryRow(`SELECT v FROM t WHERE k = 7`).Scan(&last); err != nil || last != value(3, 7)+"1" {
		t.Fatalf("after close: row 7 is %q, %v; want %q", last, err, value(3, 7)+"1")
	}
}
