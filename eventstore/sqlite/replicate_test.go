package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
)

// sourceEvents appends to a source store and returns its global order,
// with source positions spread out as KurrentDB's are.
func sourceEvents(t *testing.T, keys ...string) []eventstore.RecordedEvent {
	t.Helper()
	ctx := context.Background()
	src := openStore(t, "")
	for i, k := range keys {
		if _, err := src.Append(ctx, []string{"exhibit-1", "exhibit-2", "exhibit-3"}[i%3], eventstore.Any, event(k)); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := src.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		evs[i].Position = 1000 + 37*uint64(i)
	}
	return evs
}

func wantReplicationError(t *testing.T, err error, e *eventstore.RecordedEvent, reason string) {
	t.Helper()
	var re *sqlite.ReplicationError
	if !errors.As(err, &re) {
		t.Fatalf("replicate: got %v, want a *sqlite.ReplicationError", err)
	}
	if re.EventID != e.EventID || re.Source != e.Position || !strings.Contains(re.Reason, reason) {
		t.Fatalf("replicate: got %v, want it to name %s at source position %d and say %q", err, e.EventID, e.Position, reason)
	}
}

func TestReplicate_ChunksResumeAndRefusals(t *testing.T) {
	ctx := context.Background()
	keys := make([]string, 23)
	for i := range keys {
		keys[i] = "r" + string(rune('a'+i))
	}
	evs := sourceEvents(t, keys...)
	path := filepath.Join(t.TempDir(), "replica.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{MaxBatchEvents: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.ReplicaSource(ctx); ok || err != nil {
		t.Fatalf("replica source of a new store: got %v, %v, want none", ok, err)
	}
	if err := s.Replicate(ctx, evs[:10]); err != nil {
		t.Fatalf("replicate: %v", err)
	}
	// The same events again are a duplicate, refused whole.
	err = s.Replicate(ctx, evs[8:12])
	wantReplicationError(t, err, &evs[8], "duplicate")
	// A batch whose last event skips a revision writes none of its events.
	skip := append([]eventstore.RecordedEvent{}, evs[10:13]...)
	skip = append(skip, evs[16]) // exhibit-2@5 after exhibit-2@3
	err = s.Replicate(ctx, skip)
	wantReplicationError(t, err, &evs[16], "does not continue the stream")
	if n, _ := s.TreeSize(ctx); n != 10 {
		t.Fatalf("tree size after refusals: got %d, want 10", n)
	}
	_, err = s.Append(ctx, "exhibit-9", eventstore.NoStream, event("direct"))
	if !errors.Is(err, sqlite.ErrReplica) {
		t.Fatalf("append to a replica: got %v, want %v", err, sqlite.ErrReplica)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened, the store is still a replica and resumes where it stood.
	s = openStore(t, path)
	src, ok, err := s.ReplicaSource(ctx)
	if err != nil || !ok || src.Position != evs[9].Position || src.Size != 10 {
		t.Fatalf("replica source after reopening: got %+v %v %v, want position %d size 10", src, ok, err, evs[9].Position)
	}
	if _, err := s.Append(ctx, "exhibit-9", eventstore.NoStream, event("direct")); !errors.Is(err, sqlite.ErrReplica) {
		t.Fatalf("append to a reopened replica: got %v, want %v", err, sqlite.ErrReplica)
	}
	if err := s.Replicate(ctx, evs[10:]); err != nil {
		t.Fatalf("replicate the rest: %v", err)
	}
	got, err := s.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tree := ledger.NewTree()
	for i := range evs {
		if got[i].Position != uint64(i) || got[i].Hash != evs[i].Hash || got[i].EventID != evs[i].EventID {
			t.Fatalf("replica event %d: got %s at %d hash %s, want %s hash %s", i, got[i].EventID, got[i].Position, got[i].Hash, evs[i].EventID, evs[i].Hash)
		}
		if _, err := tree.Append(ledger.LeafHash(evs[i].Hash)); err != nil {
			t.Fatal(err)
		}
	}
	if root, err := ledger.RootAt(ctx, s, uint64(len(evs))); err != nil || root != tree.Root() {
		t.Fatalf("root: got %s, %v, want %s", root, err, tree.Root())
	}
}

func TestReplicate_RefusesAStoreWithAppends(t *testing.T) {
	ctx := context.Background()
	evs := sourceEvents(t, "x", "y")
	s := openStore(t, "")
	if _, err := s.Append(ctx, "exhibit-1", eventstore.NoStream, event("own")); err != nil {
		t.Fatal(err)
	}
	wantReplicationError(t, s.Replicate(ctx, evs), &evs[0], "appended to it directly")
}

func TestReplicate_IDReusedAcrossStreams(t *testing.T) {
	ctx := context.Background()
	evs := sourceEvents(t, "p", "q")
	// KurrentDB does not check event IDs across streams: the source may
	// hold one ID twice. The replica refuses the second.
	dup := evs[1]
	dup.EventID = evs[0].EventID
	h, err := ledger.Link(&dup.Envelope, dup.PrevHash)
	if err != nil {
		t.Fatal(err)
	}
	dup.Hash = h
	s := openStore(t, "")
	wantReplicationError(t, s.Replicate(ctx, []eventstore.RecordedEvent{evs[0], dup}), &dup, "already the ID of exhibit-1@0")
	if n, _ := s.TreeSize(ctx); n != 0 {
		t.Fatalf("tree size: got %d, want 0 (the batch is refused whole)", n)
	}
}
