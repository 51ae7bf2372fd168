package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
)

// counter is the runner tests' projection: events per stream, and the
// positions seen, so that a double application shows.
type counter struct{ version int }

func (c counter) Name() string     { return "counter" }
func (c counter) Version() int     { return c.version }
func (c counter) Tables() []string { return []string{"counts"} }
func (c counter) Schema() []string {
	return []string{`CREATE TABLE {counts} (stream TEXT PRIMARY KEY, n INTEGER NOT NULL, sum INTEGER NOT NULL) STRICT`}
}
func (c counter) Apply(tx *Tx, ev *Event) error {
	_, err := tx.Exec(`INSERT INTO {counts}(stream, n, sum) VALUES (?, 1, ?)
		ON CONFLICT(stream) DO UPDATE SET n = n + 1, sum = sum + excluded.sum`, ev.Stream, int64(ev.Position))
	return err
}

var testNS = uuid.MustParse("5d1c9a52-9a4e-4a43-8a6f-0c7d3c1e2b10")

func testEvent(key string) eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.NewSHA1(testNS, []byte(key)),
		Type:          "Counted",
		SchemaVersion: 1,
		Payload:       []byte(`{}`),
		OccurredAt:    time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC),
		Actor:         ledger.Actor{User: "u", Agency: "a", Role: "officer"},
	}
}

// tickingClock is the store's recorded_at clock in tests: deterministic,
// 1 ms per event, so that golden files do not change.
func tickingClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 4, 12, 6, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

type fixture struct {
	dir   string
	store *sqlite.Store
	db    *DB
	n     int
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir}
	f.open(t)
	return f
}

func (f *fixture) open(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(f.dir, "events.db"), sqlite.Options{Now: tickingClock()})
	if err != nil {
		t.Fatal(err)
	}
	db, err := OpenDB(ctx, filepath.Join(f.dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	f.store, f.db = s, db
	t.Cleanup(func() { db.Close(); s.Close() })
}

// appendN appends n events spread over 7 streams; it returns the last position.
func (f *fixture) appendN(t testing.TB, n int) uint64 {
	t.Helper()
	var last uint64
	for i := 0; i < n; i++ {
		f.n++
		res, err := f.store.Append(context.Background(), fmt.Sprintf("s-%d", f.n%7), eventstore.Any, testEvent(fmt.Sprint(f.n)))
		if err != nil {
			t.Fatal(err)
		}
		last = res.Position
	}
	return last
}

// want is what counter must hold after positions 0..n-1 over 7 streams
// appended by appendN (event k, 1-based, at position k-1, stream s-(k%7)).
func wantCounts(n int) map[string][2]int64 {
	m := map[string][2]int64{}
	for k := 1; k <= n; k++ {
		s := fmt.Sprintf("s-%d", k%7)
		c := m[s]
		m[s] = [2]int64{c[0] + 1, c[1] + int64(k-1)}
	}
	return m
}

func readCounts(t testing.TB, db *sql.DB, table string) map[string][2]int64 {
	t.Helper()
	rows, err := db.Query(`SELECT stream, n, sum FROM "` + table + `"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string][2]int64{}
	for rows.Next() {
		var s string
		var n, sum int64
		if err := rows.Scan(&s, &n, &sum); err != nil {
			t.Fatal(err)
		}
		m[s] = [2]int64{n, sum}
	}
	return m
}

func sameCounts(t testing.TB, got, want map[string][2]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d streams %v, want %d %v", len(got), got, len(want), want)
	}
	for s, w := range want {
		if got[s] != w {
			t.Fatalf("stream %s: got %v, want %v", s, got[s], w)
		}
	}
}

// runProjections starts a runner of projs over store and db. stop ends
// Run and checks it returned nil; it runs once, at the latest when the
// test ends.
func runProjections(t testing.TB, db *DB, store eventstore.Store, projs []Projection, opts Options) (*Runner, func()) {
	t.Helper()
	r, err := NewRunner(db, store, projs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: got %v, want nil after cancel", err)
			}
		})
	}
	t.Cleanup(stop)
	return r, stop
}

func startRunner(t testing.TB, f *fixture, p Projection, opts Options) (*Runner, func()) {
	t.Helper()
	return runProjections(t, f.db, f.store, []Projection{p}, opts)
}

func TestRunner_CatchUpThenLive(t *testing.T) {
	f := newFixture(t)
	f.appendN(t, 300)
	r, stop := startRunner(t, f, counter{1}, Options{BatchSize: 64})
	defer stop()
	ctx := context.Background()
	if err := r.WaitFor(ctx, 299, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sameCounts(t, readCounts(t, f.db.r, "counts_v1_g1"), wantCounts(300))
	last := f.appendN(t, 45)
	if err := r.WaitFor(ctx, last, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sameCounts(t, readCounts(t, f.db.r, "counts_v1_g1"), wantCounts(345))
	h, err := r.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || h[0].Position != 344 || h[0].Head != 344 || h[0].Lag != 0 {
		t.Fatalf("health: got %+v, want position 344, head 344, lag 0", h)
	}
}

func TestRunner_ResumesFromCheckpoint(t *testing.T) {
	f := newFixture(t)
	f.appendN(t, 100)
	r, stop := startRunner(t, f, counter{1}, Options{BatchSize: 10})
	if err := r.WaitFor(context.Background(), 99, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	last := f.appendN(t, 55)
	r, stop = startRunner(t, f, counter{1}, Options{BatchSize: 10})
	defer stop()
	if err := r.WaitFor(context.Background(), last, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sameCounts(t, readCounts(t, f.db.r, "counts_v1_g1"), wantCounts(155))
}

func TestRunner_WaitForTimesOut(t *testing.T) {
	f := newFixture(t)
	last := f.appendN(t, 3)
	r, stop := startRunner(t, f, counter{1}, Options{})
	defer stop()
	err := r.WaitFor(context.Background(), last+1, 20*time.Millisecond)
	var nc *NotCaughtUpError
	if !errors.As(err, &nc) || !errors.Is(err, ErrNotCaughtUp) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a *NotCaughtUpError matching ErrNotCaughtUp and context.DeadlineExceeded", err)
	}
	if nc.Position != last+1 || nc.Projection != "counter" {
		t.Fatalf("got %+v, want position %d of projection counter", nc, last+1)
	}
	// The same wait succeeds once the event exists.
	got := f.appendN(t, 1)
	if err := r.WaitFor(context.Background(), got, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestRunner_RebuildBesideLiveThenSwap(t *testing.T) {
	f := newFixture(t)
	f.appendN(t, 500)
	r, stop := startRunner(t, f, counter{1}, Options{BatchSize: 50})
	defer stop()
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // appends continue during the rebuild
		defer wg.Done()
		f.appendN(t, 200)
	}()
	var calls int
	res, err := r.Rebuild(ctx, "counter", func(done, total int64) {
		calls++
		if done > total {
			t.Errorf("progress: done %d > total %d", done, total)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if res.Generation != 2 || calls == 0 {
		t.Fatalf("got %+v after %d progress calls, want generation 2 and progress", res, calls)
	}
	if err := r.WaitFor(ctx, 699, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sameCounts(t, readCounts(t, f.db.r, "counts_v1_g2"), wantCounts(700))
	var n int
	if err := f.db.r.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'counts_v1_g1'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("old generation: got %d tables (err %v), want it dropped", n, err)
	}
	if _, err := r.Rebuild(ctx, "nope", nil); !errors.Is(err, ErrUnknownProjection) {
		t.Fatalf("got %v, want ErrUnknownProjection", err)
	}
}

func TestRunner_VersionChangeRebuildsFromZero(t *testing.T) {
	f := newFixture(t)
	f.appendN(t, 40)
	r, stop := startRunner(t, f, counter{1}, Options{})
	if err := r.WaitFor(context.Background(), 39, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	r, stop = startRunner(t, f, counter{2}, Options{})
	defer stop()
	if err := r.WaitFor(context.Background(), 39, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sameCounts(t, readCounts(t, f.db.r, "counts_v2_g2"), wantCounts(40))
	var n int
	if err := f.db.r.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'counts_v1_g1'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("old version: got %d tables (err %v), want it dropped", n, err)
	}
}

func TestRunner_ReadModelsAheadOfStoreRebuildFromZero(t *testing.T) {
	f := newFixture(t)
	f.appendN(t, 30)
	r, stop := startRunner(t, f, counter{1}, Options{})
	if err := r.WaitFor(context.Background(), 29, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	// An older store comes back from a backup: 10 events only.
	f.store.Close()
	os.Remove(filepath.Join(f.dir, "events.db"))
	s, err := sqlite.Open(context.Background(), filepath.Join(f.dir, "events.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f.store, f.n = s, 0
	f.appendN(t, 10)
	r, stop = startRunner(t, f, counter{1}, Options{})
	defer stop()
	if err := r.WaitFor(context.Background(), 9, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sameCounts(t, readCounts(t, f.db.r, "counts_v1_g2"), wantCounts(10))
}

// TestRunner_RegistryMovedByAnotherConnection: the live runner keeps the
// registry in memory; a rebuild swapped in through another connection to
// the read-model file (as another process's would be) must be seen by its
// next batch, which then applies to the new generation (the old one's
// tables are gone: a stale registry would fail on them).
func TestRunner_RegistryMovedByAnotherConnection(t *testing.T) {
	f := newFixture(t)
	f.appendN(t, 100)
	r, stop := startRunner(t, f, counter{1}, Options{BatchSize: 16})
	defer stop()
	ctx := context.Background()
	if err := r.WaitFor(ctx, 99, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	db2, err := OpenDB(ctx, filepath.Join(f.dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	other, err := NewRunner(db2, f.store, []Projection{counter{1}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := other.Rebuild(ctx, "counter", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Generation != 2 {
		t.Fatalf("rebuild: got generation %d, want 2", res.Generation)
	}
	last := f.appendN(t, 40)
	if err := r.WaitFor(ctx, last, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sameCounts(t, readCounts(t, f.db.r, "counts_v1_g2"), wantCounts(140))
}
