package replica

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/eventstore/storetest"
	"github.com/scelle-ledger/scelle/ledger"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		t.Fatalf("open %s: got %v, want no error", path, err)
	}
	return s
}

// openPair opens the primary and the replica files of dir and a Store over
// them; the Store is closed at cleanup.
func openPair(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	primary := openSQLite(t, filepath.Join(dir, "primary.db"))
	local := openSQLite(t, filepath.Join(dir, "replica.db"))
	s, err := Open(t.Context(), primary, local, opts)
	if err != nil {
		t.Fatalf("open replica: got %v, want no error", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, eventstore.ErrClosed) {
			t.Errorf("close: got %v, want no error", err)
		}
	})
	return s
}

// TestConformanceSQLitePrimary runs the port's conformance suite against a
// replica whose primary is a SQLite store: positions are the replica's,
// dense.
func TestConformanceSQLitePrimary(t *testing.T) {
	storetest.Options{DensePositions: true, LargeStreamEvents: 3000}.Run(t, func(t *testing.T) eventstore.Store {
		t.Helper()
		return openPair(t, t.TempDir(), Options{})
	})
}

var actor = ledger.Actor{User: "u-7", Agency: "MA-DOUANE-TGM", Role: "officer"}

func newEvent(n int) eventstore.EventData {
	return eventstore.EventData{
		ID: uuid.New(), Type: "ExhibitWeighed", SchemaVersion: 1,
		Payload:    fmt.Appendf(nil, `{"n":%d}`, n),
		OccurredAt: time.Date(2026, 11, 1, 10, 0, 0, n, time.UTC), Actor: actor,
		CorrelationID: uuid.New(), CausationID: uuid.New(),
	}
}

// appendRandom appends events from several goroutines, half through the
// replicated store, half directly to the primary (another server of the
// same cluster), to random streams. It returns the primary's last
// position.
func appendRandom(t *testing.T, ctx context.Context, s *Store, workers, perWorker int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			var st eventstore.Store = s
			if w%2 == 1 {
				st = s.primary
			}
			for i := range perWorker {
				evs := make([]eventstore.EventData, 1+rng.IntN(3))
				for j := range evs {
					evs[j] = newEvent(w*100000 + i*10 + j)
				}
				stream := fmt.Sprintf("exhibit-%d", rng.IntN(8))
				if _, err := st.Append(ctx, stream, eventstore.Any, evs...); err != nil {
					errs <- fmt.Errorf("worker %d: append to %s: %w", w, stream, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// caughtUp waits until the notary has replicated the primary's last event.
func caughtUp(t *testing.T, ctx context.Context, s *Store) {
	t.Helper()
	last, err := s.primary.ReadAll(ctx, eventstore.ReadOptions{Direction: eventstore.Backwards, From: eventstore.End, Count: 1})
	if err != nil {
		t.Fatalf("read the primary's head: %v", err)
	}
	if len(last) == 0 {
		return
	}
	if err := s.waitFor(ctx, last[0].Position); err != nil {
		t.Fatalf("wait for the notary to reach %d: got %v, status %+v", last[0].Position, err, s.Status())
	}
}

// checkEqual checks that the replica holds every event of the primary, in
// the primary's global order, verbatim, at dense positions, and that its
// Merkle root is the root of its leaves.
func checkEqual(t *testing.T, ctx context.Context, s *Store) {
	t.Helper()
	want, err := s.primary.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil {
		t.Fatalf("read the primary: %v", err)
	}
	got, err := s.local.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil {
		t.Fatalf("read the replica: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("replica: got %d events, want the primary's %d", len(got), len(want))
	}
	tree := ledger.NewTree()
	for i := range want {
		w, g := &want[i], &got[i]
		if g.Position != uint64(i) {
			t.Fatalf("replica event %d: got position %d, want %d (dense)", i, g.Position, i)
		}
		if g.Envelope != w.Envelope && !sameEnvelope(&g.Envelope, &w.Envelope) {
			t.Fatalf("replica event %d: got envelope %+v, want the primary's %+v", i, g.Envelope, w.Envelope)
		}
		if g.Hash != w.Hash || string(g.Payload) != string(w.Payload) {
			t.Fatalf("replica event %d (%s): got hash %s payload %q, want %s %q", i, g.EventID, g.Hash, g.Payload, w.Hash, w.Payload)
		}
		if _, err := tree.Append(ledger.LeafHash(g.Hash)); err != nil {
			t.Fatal(err)
		}
	}
	size, err := s.TreeSize(ctx)
	if err != nil || size != uint64(len(want)) {
		t.Fatalf("tree size: got %d, %v, want %d", size, err, len(want))
	}
	root, err := ledger.RootAt(ctx, s, size)
	if err != nil {
		t.Fatalf("root at %d: %v", size, err)
	}
	if root != tree.Root() {
		t.Fatalf("root at %d: got %s from the stored nodes, want %s from the leaves", size, root, tree.Root())
	}
}

func sameEnvelope(a, b *ledger.Envelope) bool {
	ha, erra := a.Hash()
	hb, errb := b.Hash()
	return erra == nil && errb == nil && ha == hb && a.OccurredAt.Equal(b.OccurredAt) && a.RecordedAt.Equal(b.RecordedAt)
}

func TestReplicaEqualsPrimary(t *testing.T) {
	ctx := testCtx(t)
	s := openPair(t, t.TempDir(), Options{BatchEvents: 7})
	n := 60
	if testing.Short() {
		n = 20
	}
	appendRandom(t, ctx, s, 6, n)
	caughtUp(t, ctx, s)
	checkEqual(t, ctx, s)
	if err := s.Healthy(ctx); err != nil {
		t.Fatalf("healthy: got %v, want nil", err)
	}
	// ReadPositions (the feed's reads) reads the replica.
	all, err := s.local.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ask := []uint64{uint64(len(all) - 1), 0, uint64(len(all) / 2)}
	got, err := s.ReadPositions(ctx, ask)
	if err != nil || len(got) != len(ask) {
		t.Fatalf("read positions %v: got %d events, %v", ask, len(got), err)
	}
	for i, p := range ask {
		if got[i].Position != p || got[i].EventID != all[p].EventID {
			t.Fatalf("read positions %v: item %d is %s at %d, want %s at %d", ask, i, got[i].EventID, got[i].Position, all[p].EventID, p)
		}
	}
	// So does ReadRangeLean (a rebuild's reads).
	lean, err := s.ReadRangeLean(ctx, 1, uint64(len(all)), nil)
	if err != nil || len(lean) != len(all)-1 {
		t.Fatalf("read range lean [1, %d): got %d events, %v", len(all), len(lean), err)
	}
	for i, ev := range lean {
		if want := all[i+1]; ev.Position != want.Position || ev.EventID != want.EventID || string(ev.Payload) != string(want.Payload) {
			t.Fatalf("read range lean: item %d is %s at %d, want %s at %d", i, ev.EventID, ev.Position, want.EventID, want.Position)
		}
	}
}

// TestRestartResumes closes the notary while another server keeps writing
// to the primary, then opens it again: it resumes from the recorded source
// position, with no gap and no duplicate.
func TestRestartResumes(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	for round := range 4 {
		primary := openSQLite(t, filepath.Join(dir, "primary.db"))
		local := openSQLite(t, filepath.Join(dir, "replica.db"))
		s, err := Open(ctx, primary, local, Options{BatchEvents: 5})
		if err != nil {
			t.Fatalf("round %d: open: %v", round, err)
		}
		appendRandom(t, ctx, s, 4, 15)
		if round%2 == 0 {
			// Close as soon as the appends are done: the notary may be
			// anywhere behind the primary.
			if err := s.Close(); err != nil {
				t.Fatalf("round %d: close: %v", round, err)
			}
			continue
		}
		caughtUp(t, ctx, s)
		checkEqual(t, ctx, s)
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: close: %v", round, err)
		}
	}
	s := openPair(t, dir, Options{})
	caughtUp(t, ctx, s)
	checkEqual(t, ctx, s)
	src, ok, err := s.local.ReplicaSource(ctx)
	if err != nil || !ok {
		t.Fatalf("replica source: got %+v %v %v, want one", src, ok, err)
	}
	if size, _ := s.TreeSize(ctx); src.Size != size {
		t.Fatalf("replica source: got size %d, want %d", src.Size, size)
	}
}

func TestReplicaRefusesAppends(t *testing.T) {
	ctx := testCtx(t)
	s := openPair(t, t.TempDir(), Options{})
	if _, err := s.Append(ctx, "exhibit-1", eventstore.NoStream, newEvent(1)); err != nil {
		t.Fatalf("append: %v", err)
	}
	_, err := s.local.Append(ctx, "exhibit-2", eventstore.NoStream, newEvent(2))
	if !errors.Is(err, sqlite.ErrReplica) {
		t.Fatalf("append to the replica directly: got %v, want %v", err, sqlite.ErrReplica)
	}
}

func TestOpenRefusesAStoreWithAppends(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	local := openSQLite(t, filepath.Join(dir, "replica.db"))
	if _, err := local.Append(ctx, "exhibit-1", eventstore.NoStream, newEvent(1)); err != nil {
		t.Fatalf("append: %v", err)
	}
	primary := openSQLite(t, filepath.Join(dir, "primary.db"))
	_, err := Open(ctx, primary, local, Options{})
	if err == nil {
		t.Fatal("open a replica over a store with appended events: got no error")
	}
	// Open closed both stores on failure.
	if err := local.Close(); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("close the refused replica: got %v, want %v", err, eventstore.ErrClosed)
	}
}

func sqliteOpen(tb testing.TB, path string) (*sqlite.Store, error) {
	tb.Helper()
	return sqlite.Open(tb.Context(), path, sqlite.Options{})
}

// TestOpenRefusesAnotherPrimary checks that a replica does not follow a
// primary whose history is not the one it copied.
func TestOpenRefusesAnotherPrimary(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	s := openPair(t, dir, Options{})
	if _, err := s.Append(ctx, "exhibit-1", eventstore.NoStream, newEvent(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	other := openSQLite(t, filepath.Join(dir, "other.db"))
	if _, err := other.Append(ctx, "exhibit-1", eventstore.NoStream, newEvent(2)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, other, openSQLite(t, filepath.Join(dir, "replica.db")), Options{})
	if err == nil || !strings.Contains(err.Error(), "another primary") {
		t.Fatalf("open the replica over another primary: got %v, want a refusal", err)
	}
}
