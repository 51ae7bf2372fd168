package ledger_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/scelle-ledger/scelle/ledger"
)

// TestProof_RFC6962Vectors checks the tree against the RFC 6962 reference
// vectors (the certificate-transparency test inputs, as transparency-dev
// publishes them): the empty root and the root of every prefix of the eight
// reference leaves.
func TestProof_RFC6962Vectors(t *testing.T) {
	tree := ledger.NewTree()
	roots := testonly.RootHashes()
	if got := tree.Root(); !bytes.Equal(got[:], roots[0]) {
		t.Fatalf("empty root %s", got)
	}
	for i, in := range testonly.LeafInputs() {
		var leaf ledger.Hash
		copy(leaf[:], rfc6962.DefaultHasher.HashLeaf(in))
		if _, err := tree.Append(leaf); err != nil {
			t.Fatal(err)
		}
		if got := tree.Root(); !bytes.Equal(got[:], roots[i+1]) {
			t.Fatalf("root of size %d: %s, want %x", i+1, got, roots[i+1])
		}
	}
	// Known values, independent of the library: SHA-256("") and the root
	// of the first two leaves.
	if got := testonly.RootHashes()[2]; ledger.Hash(got).String() != "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" {
		t.Fatalf("vector table changed: %x", got)
	}
}

// TestProof_AllIndicesUpTo300 proves every index of every tree of size
// 1..300 and every consistency pair, read from persisted nodes, with
// transparency-dev's verifier, against a reference tree's roots; and checks
// that the proofs equal the reference implementation's.
func TestProof_AllIndicesUpTo300(t *testing.T) {
	if testing.Short() {
		t.Skip("45,000 inclusion and 45,000 consistency proofs")
	}
	ctx := context.Background()
	const n = 300
	m := newMemLog()
	ref := testonly.New(rfc6962.DefaultHasher)
	for range n {
		e := m.append(t, "exhibit-E1", "Noted", "{}")
		leaf := ledger.LeafHash(e.Hash)
		ref.Append(leaf[:])
	}
	for size := uint64(1); size <= n; size++ {
		root := ref.HashAt(size)
		got, err := ledger.RootAt(ctx, m, size)
		if err != nil || !bytes.Equal(got[:], root) {
			t.Fatalf("RootAt(%d) = %s, %v; want %x", size, got, err, root)
		}
		for i := uint64(0); i < size; i++ {
			p, err := ledger.InclusionProof(ctx, m, i, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(ledger.Hasher, i, size, ref.LeafHash(i), raws(p), root); err != nil {
				t.Fatalf("inclusion %d in %d: %v", i, size, err)
			}
			want, _ := ref.InclusionProof(i, size)
			if !equalProofs(p, want) {
				t.Fatalf("inclusion %d in %d differs from the reference", i, size)
			}
		}
		for s1 := uint64(0); s1 <= size; s1++ {
			p, err := ledger.ConsistencyProof(ctx, m, s1, size)
			if err != nil {
				t.Fatal(err)
			}
			if s1 > 0 {
				if err := proof.VerifyConsistency(ledger.Hasher, s1, size, raws(p), ref.HashAt(s1), root); err != nil {
					t.Fatalf("consistency %d to %d: %v", s1, size, err)
				}
			}
			want, _ := ref.ConsistencyProof(s1, size)
			if !equalProofs(p, want) {
				t.Fatalf("consistency %d to %d differs from the reference", s1, size)
			}
		}
	}
}

func raws(hs []ledger.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

func equalProofs(p []ledger.Hash, want [][]byte) bool {
	if len(p) != len(want) {
		return false
	}
	for i := range p {
		if !bytes.Equal(p[i][:], want[i]) {
			return false
		}
	}
	return true
}
