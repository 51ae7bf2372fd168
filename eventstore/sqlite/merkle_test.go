package sqlite_test

import (
	"context"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/transparency-dev/merkle/proof"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
)

// mth is RFC 6962's Merkle Tree Hash over leaf hashes, computed from the
// definition, independently of ledger.Tree.
func mth(leaves [][]byte) []byte {
	switch n := len(leaves); n {
	case 0:
		return ledger.Hasher.EmptyRoot()
	case 1:
		return leaves[0]
	default:
		k := 1 << (bits.Len(uint(n-1)) - 1) // largest power of two < n
		return ledger.Hasher.HashChildren(mth(leaves[:k]), mth(leaves[k:]))
	}
}

// leaves reads every event and returns its leaf hash, checking that its
// position is its index.
func leaves(t *testing.T, s *sqlite.Store) [][]byte {
	t.Helper()
	all, err := s.ReadAll(context.Background(), eventstore.ReadOptions{})
	if err != nil {
		t.Fatalf("read all: %v", err)
	}
	out := make([][]byte, len(all))
	for i, e := range all {
		if e.Position != uint64(i) {
			t.Fatalf("event %d at position %d, want dense positions", i, e.Position)
		}
		h, err := e.Envelope.Hash()
		if err != nil || h != e.Hash {
			t.Fatalf("event %d: recomputed hash %s (%v), stored %s", i, h, err, e.Hash)
		}
		out[i] = ledger.Hasher.HashLeaf(e.Hash[:])
	}
	return out
}

// appendSome appends n events in appends of 1 to 7 events over a few streams.
func appendSome(t *testing.T, s *sqlite.Store, rng *rand.Rand, tag string, n int) {
	t.Helper()
	for i := 0; i < n; {
		k := min(1+rng.IntN(7), n-i)
		evs := make([]eventstore.EventData, k)
		for j := range evs {
			evs[j] = event(fmt.Sprintf("%s-%d", tag, i+j))
		}
		if _, err := s.Append(context.Background(), fmt.Sprintf("exhibit-%d", rng.IntN(5)), eventstore.Any, evs...); err != nil {
			t.Fatalf("append: %v", err)
		}
		i += k
	}
}

func TestMerkle_reopenRestoresBorder(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	rng := rand.New(rand.NewPCG(1, 2))

	var roots []ledger.Hash // roots[i] = root of the tree of size sizes[i]
	var sizes []uint64
	for round, n := range []int{1, 6, 57, 200, 1, 333} {
		s, err := sqlite.Open(ctx, path, sqlite.Options{Now: fixedClock()})
		if err != nil {
			t.Fatalf("open round %d: %v", round, err)
		}
		appendSome(t, s, rng, fmt.Sprintf("r%d", round), n)
		size, err := s.TreeSize(ctx)
		if err != nil {
			t.Fatalf("tree size: %v", err)
		}
		ls := leaves(t, s)
		if uint64(len(ls)) != size {
			t.Fatalf("round %d: tree size %d, %d events", round, size, len(ls))
		}
		root, err := ledger.RootAt(ctx, s, size)
		if err != nil {
			t.Fatalf("root at %d: %v", size, err)
		}
		if want := mth(ls); string(root[:]) != string(want) {
			t.Fatalf("round %d: root at %d is %s, want %x recomputed from all leaves", round, size, root, want)
		}
		// Every earlier root is still served, and consistent with this one.
		for i, size1 := range sizes {
			r1, err := ledger.RootAt(ctx, s, size1)
			if err != nil || r1 != roots[i] {
				t.Fatalf("root at %d after reopen: got %s (%v), want %s", size1, r1, err, roots[i])
			}
			p, err := ledger.ConsistencyProof(ctx, s, size1, size)
			if err != nil {
				t.Fatalf("consistency proof %d to %d: %v", size1, size, err)
			}
			if err := proof.VerifyConsistency(ledger.Hasher, size1, size, hashes(p), roots[i][:], root[:]); err != nil {
				t.Fatalf("verify consistency %d to %d: %v", size1, size, err)
			}
		}
		for range 20 {
			idx := rng.Uint64N(size)
			p, err := ledger.InclusionProof(ctx, s, idx, size)
			if err != nil {
				t.Fatalf("inclusion proof %d in %d: %v", idx, size, err)
			}
			if err := proof.VerifyInclusion(ledger.Hasher, idx, size, ls[idx], hashes(p), root[:]); err != nil {
				t.Fatalf("verify inclusion %d in %d: %v", idx, size, err)
			}
		}
		roots, sizes = append(roots, root), append(sizes, size)
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
	}
}

func hashes(hs []ledger.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

func TestMerkle_nodesOutsideTree(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	appendSome(t, s, rand.New(rand.NewPCG(3, 4)), "n", 5)
	// Level 1 index 2 covers leaves 4 and 5: leaf 5 does not exist yet.
	if _, err := s.Nodes(ctx, []ledger.NodeID{{Level: 1, Index: 2}}); err == nil {
		t.Fatalf("nodes: got no error for a node outside the committed tree")
	}
	if _, err := s.Nodes(ctx, []ledger.NodeID{{Level: 0, Index: 5}}); err == nil {
		t.Fatalf("nodes: got no error for leaf 5 of a tree of size 5")
	}
	if _, err := ledger.ConsistencyProof(ctx, s, 3, 8); err == nil {
		t.Fatalf("consistency proof to a size beyond the tree: got no error")
	}
}

// TestMerkle_nodeColumns checks that the generated level and idx columns of
// merkle_nodes name the nodes ledger.Tree returned, by recomputing each
// inner node from its children.
func TestMerkle_nodeColumns(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	appendSome(t, s, rand.New(rand.NewPCG(5, 6)), "c", 37)
	db := rawDB(t, s.Path())
	rows, err := db.QueryContext(ctx, `SELECT level, idx, hash FROM merkle_nodes ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	nodes := map[[2]uint64][]byte{}
	count := 0
	for rows.Next() {
		var level, idx uint64
		var h []byte
		if err := rows.Scan(&level, &idx, &h); err != nil {
			t.Fatal(err)
		}
		nodes[[2]uint64{level, idx}] = h
		count++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// A tree of 37 leaves has 37 + 18 + 9 + 4 + 2 + 1 perfect subtrees.
	if want := 37 + 18 + 9 + 4 + 2 + 1; count != want || len(nodes) != want {
		t.Fatalf("got %d nodes (%d distinct), want %d", count, len(nodes), want)
	}
	ls := leaves(t, s)
	for k, h := range nodes {
		level, idx := k[0], k[1]
		var want []byte
		if level == 0 {
			want = ls[idx]
		} else {
			left, right := nodes[[2]uint64{level - 1, 2 * idx}], nodes[[2]uint64{level - 1, 2*idx + 1}]
			want = ledger.Hasher.HashChildren(left, right)
		}
		if string(h) != string(want) {
			t.Errorf("node (%d, %d): got %x, want %x", level, idx, h, want)
		}
	}
}
