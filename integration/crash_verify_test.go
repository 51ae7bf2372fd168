package integration

import (
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
)

// verifier reopens the store after each kill and checks it.
type verifier struct {
	path string
	rng  *rand.Rand // picks the appends retried after each restart
	// roots are the Merkle roots seen after earlier rounds: a later round
	// must find the same root at the same size (history never rewritten).
	roots []sizedRoot
}

type sizedRoot struct {
	size uint64
	root ledger.Hash
}

// verify reopens the store and checks that every acknowledged append is
// there with the same ids at the same revisions and positions, that the
// global order is dense, that retrying a few of them returns their original
// result, that every stream's hash chain verifies, and that
// the Merkle root the store serves equals the one recomputed from every
// leaf. It returns the number of events in the store.
func (v *verifier) verify(t *testing.T, acked []ackedAppend) int {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, v.path, sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen after the kill: got %v, want no error", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			t.Errorf("close: got %v, want no error", err)
		}
	}()

	all, err := st.ReadAll(ctx, eventstore.ReadOptions{Direction: eventstore.Forwards, From: eventstore.Start})
	if err != nil {
		t.Fatalf("read all: got %v, want no error", err)
	}
	byID := make(map[uuid.UUID]int, len(all))
	for i, e := range all {
		if e.Position != uint64(i) {
			t.Fatalf("global order: event %d has position %d, want %d (dense)", i, e.Position, i)
		}
		if j, dup := byID[e.EventID]; dup {
			t.Fatalf("global order: event %s at positions %d and %d, want once", e.EventID, j, i)
		}
		byID[e.EventID] = i
	}

	// Every acknowledged append, at its place.
	for _, a := range acked {
		k := uint64(len(a.ids))
		for j, id := range a.ids {
			pos := a.position - k + 1 + uint64(j)
			rev := a.revision - k + 1 + uint64(j)
			if pos >= uint64(len(all)) {
				t.Fatalf("append acknowledged in round %d to %s@%d: event %s at position %d is lost (the store has %d events)", a.round, a.stream, a.revision, id, pos, len(all))
			}
			e := all[pos]
			if e.EventID != id || e.Stream != a.stream || e.Revision != rev {
				t.Fatalf("append acknowledged in round %d: position %d holds %s %s@%d, want %s %s@%d", a.round, pos, e.EventID, e.Stream, e.Revision, id, a.stream, rev)
			}
		}
	}

	// A retry of acknowledged appends after the restart returns their
	// original result and writes nothing: idempotency survives the crash.
	for range min(3, len(acked)) {
		a := acked[v.rng.IntN(len(acked))]
		first := a.position + 1 - uint64(len(a.ids))
		evs := make([]eventstore.EventData, len(a.ids))
		for j := range evs {
			e := all[first+uint64(j)]
			evs[j] = eventstore.EventData{
				ID: e.EventID, Type: e.Type, SchemaVersion: e.SchemaVersion, Payload: e.Payload,
				OccurredAt: e.OccurredAt, Actor: e.Actor, CorrelationID: e.CorrelationID, CausationID: e.CausationID,
			}
		}
		res, err := st.Append(ctx, a.stream, eventstore.Any, evs...)
		if want := (eventstore.AppendResult{Revision: a.revision, Position: a.position}); err != nil || res != want {
			t.Fatalf("retry of the append acknowledged in round %d to %s@%d after the restart: got %+v (%v), want the original %+v", a.round, a.stream, a.revision, res, err, want)
		}
	}
	if size, err := st.TreeSize(ctx); err != nil || size != uint64(len(all)) {
		t.Fatalf("tree size after retries: got %d (%v), want %d: a retry wrote", size, err, len(all))
	}

	// Every stream's chain, read both from the global order and on its own.
	streams := map[string][]eventstore.RecordedEvent{}
	var order []string
	for _, e := range all {
		if _, seen := streams[e.Stream]; !seen {
			order = append(order, e.Stream)
		}
		streams[e.Stream] = append(streams[e.Stream], e)
	}
	for _, name := range order {
		fromAll := streams[name]
		evs, err := st.ReadStream(ctx, name, eventstore.ReadOptions{Direction: eventstore.Forwards, From: eventstore.Start})
		if err != nil {
			t.Fatalf("read stream %s: got %v, want no error", name, err)
		}
		if len(evs) != len(fromAll) {
			t.Fatalf("stream %s: got %d events, the global order has %d", name, len(evs), len(fromAll))
		}
		envs := make([]ledger.Envelope, len(evs))
		hashes := make([]ledger.Hash, len(evs))
		for i, e := range evs {
			if e.EventID != fromAll[i].EventID || e.Hash != fromAll[i].Hash || e.Position != fromAll[i].Position {
				t.Fatalf("stream %s@%d: read stream gives %s at %d, the global order %s at %d", name, i, e.EventID, e.Position, fromAll[i].EventID, fromAll[i].Position)
			}
			if d := ledger.PayloadDigest(e.Payload); d != e.PayloadDigest {
				t.Fatalf("stream %s@%d: payload digest %s, want %s", name, i, e.PayloadDigest, d)
			}
			envs[i], hashes[i] = e.Envelope, e.Hash
		}
		if err := ledger.VerifyChain(envs, hashes); err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
	}

	// The Merkle log: the store's persisted nodes against a tree rebuilt
	// from every leaf, now and at every earlier round's size.
	n := uint64(len(all))
	size, err := st.TreeSize(ctx)
	if err != nil || size != n {
		t.Fatalf("tree size: got %d (%v), want %d", size, err, n)
	}
	tree := ledger.NewTree()
	prefix := map[uint64]ledger.Hash{0: tree.Root()}
	for _, e := range all {
		if _, err := tree.Append(ledger.LeafHash(e.Hash)); err != nil {
			t.Fatalf("rebuild the tree: %v", err)
		}
		prefix[tree.Size()] = tree.Root()
	}
	for _, r := range append(v.roots, sizedRoot{size: n, root: tree.Root()}) {
		got, err := ledger.RootAt(ctx, st, r.size)
		if err != nil {
			t.Fatalf("root at %d: got %v, want no error", r.size, err)
		}
		if got != prefix[r.size] {
			t.Fatalf("root at %d: the store serves %s, the leaves give %s", r.size, got, prefix[r.size])
		}
		if got != r.root {
			t.Fatalf("root at %d: got %s, want %s as after an earlier round", r.size, got, r.root)
		}
	}
	v.roots = append(v.roots, sizedRoot{size: n, root: tree.Root()})
	return len(all)
}
