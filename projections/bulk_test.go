package projections

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scratchFiles lists the scratch files beside the fixture's read models.
func scratchFiles(t *testing.T, f *fixture) []string {
	t.Helper()
	m, err := filepath.Glob(f.db.path + scratchPrefix + "*")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// otherCounter is counter under another name, with a second table.
type otherCounter struct{ counter }

func (otherCounter) Name() string     { return "other" }
func (otherCounter) Tables() []string { return []string{"counts", "extra"} }
func (c otherCounter) Schema() []string {
	return append(c.counter.Schema(), `CREATE TABLE {extra} (position INTEGER PRIMARY KEY, stream TEXT NOT NULL) STRICT`)
}
func (c otherCounter) QueryIndexes() []string {
	return []string{`CREATE INDEX {extra}_by_stream ON {extra}(stream, position)`}
}
func (c otherCounter) Apply(tx *Tx, ev *Event) error {
	if ev.Position%2 == 0 {
		if _, err := tx.Exec(`INSERT INTO {extra}(position, stream) VALUES (?, ?)`, int64(ev.Position), ev.Stream); err != nil {
			return err
		}
	}
	return c.counter.Apply(tx, ev)
}

// bigCounter is counter with a row per event, the largest projection.
type bigCounter struct{ counter }

func (bigCounter) RowsPerEvent() float64 { return 1 }

func (bigCounter) Tables() []string { return []string{"counts", "log"} }
func (c bigCounter) Schema() []string {
	return append(c.counter.Schema(), `CREATE TABLE {log} (position INTEGER PRIMARY KEY) STRICT`)
}
func (c bigCounter) Apply(tx *Tx, ev *Event) error {
	if _, err := tx.Exec(`INSERT INTO {log}(position) VALUES (?)`, int64(ev.Position)); err != nil {
		return err
	}
	return c.counter.Apply(tx, ev)
}

// TestRebuild_bulkLoad: a rebuild of a log longer than a batch loads the
// largest projection directly and the other in a scratch file, copies
// that in with its query index, and leaves no scratch file behind; what
// it built equals what the events give, and later live batches go on from
// its checkpoint.
func TestRebuild_bulkLoad(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var logs bytes.Buffer
	opts := Options{BatchSize: 5, RebuildBatchSize: 7, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	f.appendN(t, 60)
	r, err := NewRunner(f.db, f.store, []Projection{otherCounter{counter{1}}, bigCounter{counter{1}}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Init(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	if err := r.WaitFor(ctx, 59, 0); err != nil {
		t.Fatal(err)
	}
	res, err := r.RebuildAll(ctx, []string{"other", "counter"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`direct=counter scratch_files=1`, `copied into the shadow tables" projection=other`} {
		if !strings.Contains(logs.String(), want) {
			t.Fatalf("log without %q:\n%s", want, logs.String())
		}
	}
	if left := scratchFiles(t, f); len(left) != 0 {
		t.Fatalf("scratch files left after the rebuild: %v", left)
	}
	other := tablesFor(1, res[0].Generation)
	var idx int
	if err := f.db.r.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?`, other.Name("extra")+"_by_stream").Scan(&idx); err != nil || idx != 1 {
		t.Fatalf("query index of the copied table: %d, %v", idx, err)
	}
	count := func(table string) (n int) {
		if err := f.db.r.QueryRow(`SELECT count(*) FROM "` + table + `"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	last := f.appendN(t, 4)
	if err := r.WaitFor(ctx, last, 0); err != nil {
		t.Fatal(err)
	}
	for _, res := range res {
		sameCounts(t, readCounts(t, f.db.r, tablesFor(1, res.Generation).Name("counts")), wantCounts(64))
	}
	if n := count(other.Name("extra")); n != 32 {
		t.Fatalf("%s: %d rows, want 32", other.Name("extra"), n)
	}
	if n := count(tablesFor(1, res[1].Generation).Name("log")); n != 64 {
		t.Fatalf("log: %d rows, want 64", n)
	}
}

// failingCounter is counter whose Apply fails at one position.
type failingCounter struct {
	counter
	at uint64
}

var errBoom = errors.New("boom")

func (c failingCounter) Apply(tx *Tx, ev *Event) error {
	if ev.Position == c.at {
		return errBoom
	}
	return c.counter.Apply(tx, ev)
}

// TestRebuild_bulkLoadFailure: a projection that fails in the middle of a
// bulk load fails the rebuild with its error; the live tables, the
// registry and the directory are as they were.
func TestRebuild_bulkLoadFailure(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.appendN(t, 40)
	ok, stop := startRunner(t, f, counter{1}, Options{})
	if err := ok.WaitFor(ctx, 39, 0); err != nil {
		t.Fatal(err)
	}
	stop()
	before, err := readRegistry(ctx, f.db.r)
	if err != nil {
		t.Fatal(err)
	}
	// The same projection, with a binary whose Apply now fails at position
	// 33: the live tables stay, and so does their checkpoint.
	r, err := NewRunner(f.db, f.store, []Projection{failingCounter{counter{1}, 33}}, Options{BatchSize: 5, RebuildBatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Init(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = r.Rebuild(ctx, "counter", nil)
	if !errors.Is(err, errBoom) || !strings.Contains(err.Error(), "position 33") {
		t.Fatalf("rebuild: %v, want the projection's error at position 33", err)
	}
	after, err := readRegistry(ctx, f.db.r)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("registry after a failed rebuild: %v, want %v", after, before)
	}
	var shadows int
	if err := f.db.r.QueryRow(`SELECT count(*) FROM projection_shadow`).Scan(&shadows); err != nil {
		t.Fatal(err)
	}
	if shadows != 0 {
		t.Fatalf("%d shadow rows left after a failed rebuild", shadows)
	}
	if left := scratchFiles(t, f); len(left) != 0 {
		t.Fatalf("scratch files left after a failed rebuild: %v", left)
	}
	sameCounts(t, readCounts(t, f.db.r, fmt.Sprintf("counts_v1_g%d", before["counter"].generation)), wantCounts(40))
}

// TestInit_removesScratchFiles: the scratch files of a rebuild whose
// process died are removed at the next start.
func TestInit_removesScratchFiles(t *testing.T) {
	f := newFixture(t)
	left := f.db.path + scratchPrefix + "12"
	if err := os.WriteFile(left, []byte("left by a dead rebuild"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stop := startRunner(t, f, counter{1}, Options{})
	defer stop()
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("scratch file after Init: %v", err)
	}
}

// TestOpenScratch: a scratch file has the projection's tables, SQLite's
// largest page size and no rollback journal.
func TestOpenScratch(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "readmodels.db"+scratchPrefix+"3")
	s := shadow{p: otherCounter{counter{1}}, gen: 3}
	s.t = tablesFor(s.p.Version(), s.gen)
	db, err := openScratch(ctx, path, s)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var size int
	var mode string
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if size != 65536 || mode != "off" {
		t.Fatalf("scratch file: page size %d, journal mode %q; want 65536 and off", size, mode)
	}
	for _, base := range s.p.Tables() {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, s.t.Name(base)).Scan(&n); err != nil || n != 1 {
			t.Fatalf("scratch file: table %s: %d (%v), want 1", s.t.Name(base), n, err)
		}
	}
}
