package sqlite_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
)

// auditStore writes n events over five streams to a new store file, closes
// it, and returns its path, the events as the store read them back, and
// the Merkle root the store computed.
func auditStore(t testing.TB, n int) (string, []eventstore.RecordedEvent, ledger.Hash) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{Now: fixedClock()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ev := event(fmt.Sprint(i))
		ev.Actor.User = fmt.Sprintf("u-%d", i%3)
		if _, err := s.Append(ctx, fmt.Sprintf("exhibit-%d", i%5), eventstore.Any, ev); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	root, err := ledger.RootAt(ctx, s, uint64(n))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path, all, root
}

func openAudit(t testing.TB, path string) *sqlite.AuditReader {
	t.Helper()
	r, err := sqlite.OpenAudit(context.Background(), path)
	if err != nil {
		t.Fatalf("open audit %s: %v", path, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func stored(e eventstore.RecordedEvent) ledger.StoredEvent {
	return ledger.StoredEvent{Envelope: e.Envelope, Hash: e.Hash, Payload: e.Payload, Position: e.Position}
}

func TestAuditReader_ReadsWhatTheStoreWrote(t *testing.T) {
	ctx := context.Background()
	path, all, root := auditStore(t, 300)
	r := openAudit(t, path)

	got, err := r.EventsInRange(ctx, 0, 1<<40, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(all) {
		t.Fatalf("got %d events, want %d", len(got), len(all))
	}
	for i := range all {
		if want := stored(all[i]); !reflect.DeepEqual(got[i], want) {
			t.Fatalf("position %d: got %+v, want %+v", i, got[i], want)
		}
	}
	// Pieces of the range, appended to one slice, give the same events.
	var pieces []ledger.StoredEvent
	for from := uint64(0); from < 300; from += 37 {
		pieces, err = r.EventsInRange(ctx, from, from+37, pieces)
		if err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(pieces, got) {
		t.Fatal("events read in pieces differ from one read")
	}
	if evs, err := r.EventsInRange(ctx, 300, 400, nil); err != nil || len(evs) != 0 {
		t.Fatalf("past the end: got %d events, %v; want none", len(evs), err)
	}

	end, err := r.EndPosition(ctx)
	if err != nil || end != 300 {
		t.Fatalf("end position: got %d, %v; want 300", end, err)
	}
	size, err := r.TreeSize(ctx)
	if err != nil || size != 300 {
		t.Fatalf("tree size: got %d, %v; want 300", size, err)
	}
	leaves, err := r.LeafHashes(ctx, 10, 300)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range leaves {
		if want := ledger.LeafHash(all[10+i].Hash); l != want {
			t.Fatalf("leaf %d: got %s, want %s", 10+i, l, want)
		}
	}
	for _, n := range []uint64{1, 2, 7, 64, 255, 300} {
		got, err := ledger.RootAt(ctx, r, n)
		if err != nil {
			t.Fatalf("root at %d: %v", n, err)
		}
		if n == 300 && got != root {
			t.Fatalf("root at 300: got %s, want the store's %s", got, root)
		}
	}
	if _, err := r.Nodes(ctx, []ledger.NodeID{{Level: 0, Index: 300}}); err == nil {
		t.Fatal("a node beyond the tree was read")
	}
}

// TestAuditReader_Concurrent reads disjoint ranges from more goroutines
// than the pool has connections, as Audit's workers do.
func TestAuditReader_Concurrent(t *testing.T) {
	ctx := context.Background()
	path, all, _ := auditStore(t, 200)
	r := openAudit(t, path)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := uint64(g * 10)
			evs, err := r.EventsInRange(ctx, from, from+10, nil)
			if err == nil && len(evs) != 10 {
				err = fmt.Errorf("range [%d, %d): %d events", from, from+10, len(evs))
			}
			for i := range evs {
				if want := stored(all[from+uint64(i)]); err == nil && !reflect.DeepEqual(evs[i], want) {
					err = fmt.Errorf("position %d: got %+v, want %+v", from+uint64(i), evs[i], want)
				}
			}
			if _, lerr := r.LeafHashes(ctx, from, from+10); err == nil {
				err = lerr
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func fileDigest(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestOpenAudit_NeverWrites(t *testing.T) {
	ctx := context.Background()
	path, _, _ := auditStore(t, 50)
	before := fileDigest(t, path)
	r := openAudit(t, path)
	if _, err := r.EventsInRange(ctx, 0, 50, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if after := fileDigest(t, path); after != before {
		t.Fatal("the store file changed under a read-only audit")
	}
	if _, err := r.EventsInRange(ctx, 0, 50, nil); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("read after close: got %v, want ErrClosed", err)
	}
	if err := r.Close(); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("second close: got %v, want ErrClosed", err)
	}

	missing := filepath.Join(t.TempDir(), "missing.db")
	if _, err := sqlite.OpenAudit(ctx, missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: got %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("OpenAudit created a missing file")
	}
}

func TestOpenAudit_Refuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	junk := make([]byte, 8192)
	if _, err := rand.Read(junk); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(garbage, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.db")
	execFile(t, foreign, `CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT)`)
	newer, _, _ := auditStore(t, 3)
	execFile(t, newer, fmt.Sprintf(`PRAGMA user_version = %d`, sqlite.SchemaVersion+1))

	for name, tc := range map[string]struct {
		path string
		want error
	}{
		"not a database":  {garbage, sqlite.ErrNotStore},
		"another program": {foreign, sqlite.ErrNotStore},
		"newer schema":    {newer, sqlite.ErrNewerSchema},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := sqlite.OpenAudit(ctx, tc.path)
			if err == nil {
				r.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestAuditReader_TamperedFile reads a file that Open refuses (its
// application_id is gone) and whose triggers were dropped and rows altered:
// the reader returns what is stored, and Audit names the event.
func TestAuditReader_TamperedFile(t *testing.T) {
	ctx := context.Background()
	path, all, _ := auditStore(t, 40)
	execFile(t, path,
		`DROP TRIGGER events_no_update`,
		`UPDATE events SET hash = X'0102', type = 'Forged' WHERE position = 7`,
		`UPDATE events SET occurred_at = 'yesterday' WHERE position = 9`,
		`PRAGMA application_id = 0`)
	if s, err := sqlite.Open(ctx, path, sqlite.Options{}); err == nil {
		s.Close()
		t.Fatal("Open accepted a file without the store's application_id")
	}
	r := openAudit(t, path)
	evs, err := r.EventsInRange(ctx, 0, 40, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := evs[7]; e.Type != "Forged" || e.Hash != (ledger.Hash{1, 2}) {
		t.Fatalf("position 7: got type %q hash %s, want the stored Forged and 0102 zero-padded", e.Type, e.Hash)
	}
	if evs[9].OccurredAt.Equal(all[9].OccurredAt) {
		t.Fatal("position 9: an occurred_at stored as text reads as the original time")
	}
	_, vkey, err := ledger.GenerateKey(rand.Reader, "scelle.example/audit-test", ledger.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ledger.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ledger.Audit(ctx, r, r, nil, ledger.AuditOptions{LogKey: key, PageSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	altered := map[uint64]bool{}
	for _, f := range rep.Findings {
		if f.Kind == ledger.FindingAltered && f.Position != nil {
			altered[*f.Position] = true
		}
	}
	if rep.OK || !altered[7] || !altered[9] || rep.Events != 40 {
		t.Fatalf("audit: ok %v, %d events, findings %v; want positions 7 and 9 altered", rep.OK, rep.Events, rep.Findings)
	}
}

// execFile runs statements on a file through database/sql, as another
// program (or an insider) would.
func execFile(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// BenchmarkAuditReader_EventsInRange reads a store of 20000 events in
// pages of 4096 through the audit reader (allocs/op are per page).
func BenchmarkAuditReader_EventsInRange(b *testing.B) {
	ctx := context.Background()
	const n = 20000
	path, _, _ := auditStore(b, n)
	r := openAudit(b, path)
	dst := make([]ledger.StoredEvent, 0, 4096)
	b.ReportAllocs()
	read := 0
	for b.Loop() {
		for from := uint64(0); from < n; from += 4096 {
			evs, err := r.EventsInRange(ctx, from, from+4096, dst[:0])
			if err != nil {
				b.Fatal(err)
			}
			read += len(evs)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(read), "ns/event")
}

// TestAuditReader_SeesTheWAL reads a store that is still open, whose last
// commits are in the write-ahead log only.
func TestAuditReader_SeesTheWAL(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	for i := range 20 {
		if _, err := s.Append(ctx, "exhibit-1", eventstore.Any, event(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	r := openAudit(t, s.Path())
	evs, err := r.EventsInRange(ctx, 0, 100, nil)
	if err != nil || len(evs) != 20 {
		t.Fatalf("got %d events, %v; want 20", len(evs), err)
	}
	if size, err := r.TreeSize(ctx); err != nil || size != 20 {
		t.Fatalf("tree size: got %d, %v; want 20", size, err)
	}
	// The store keeps writing while the reader is open.
	if _, err := s.Append(ctx, "exhibit-1", eventstore.Any, event("20")); err != nil {
		t.Fatal(err)
	}
	if end, err := r.EndPosition(ctx); err != nil || end != 21 {
		t.Fatalf("end position after an append: got %d, %v; want 21", end, err)
	}
}
