package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/proof"
)

// memNodes is a NodeReader over the nodes Tree.Append returned, as a store
// persists them.
type memNodes struct {
	size  uint64
	nodes map[NodeID]Hash
}

func (m *memNodes) TreeSize(context.Context) (uint64, error) { return m.size, nil }

func (m *memNodes) Nodes(_ context.Context, ids []NodeID) ([]Hash, error) {
	out := make([]Hash, len(ids))
	for i, id := range ids {
		h, ok := m.nodes[id]
		if !ok {
			return nil, fmt.Errorf("node %+v not persisted", id)
		}
		out[i] = h
	}
	return out, nil
}

func buildTree(t *testing.T, n int) (*Tree, *memNodes, []Hash) {
	t.Helper()
	tree := NewTree()
	m := &memNodes{nodes: map[NodeID]Hash{}}
	var leaves []Hash
	for i := range n {
		leaf := LeafHash(sha256.Sum256([]byte{byte(i), byte(i >> 8)}))
		nodes, err := tree.Append(leaf)
		if err != nil {
			t.Fatal(err)
		}
		for _, nd := range nodes {
			m.nodes[nd.ID] = nd.Hash
		}
		leaves = append(leaves, leaf)
		m.size++
	}
	return tree, m, leaves
}

// naiveRoot is RFC 6962's MTH, computed recursively from the leaf hashes.
func naiveRoot(leaves []Hash) Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := naiveRoot(leaves[:k]), naiveRoot(leaves[k:])
	var h Hash
	copy(h[:], Hasher.HashChildren(l[:], r[:]))
	return h
}

func TestTree_RFC6962Vectors(t *testing.T) {
	// RFC 6962 / certificate-transparency reference: the empty tree and
	// the leaf hash of the empty string.
	if got := NewTree().Root().String(); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("empty root: got %s", got)
	}
	if got := hex.EncodeToString(Hasher.HashLeaf(nil)); got != "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" {
		t.Errorf("leaf hash of empty input: got %s", got)
	}
}

func TestTree_RootMatchesRecursiveDefinition(t *testing.T) {
	tree := NewTree()
	var leaves []Hash
	for i := range 130 {
		if got, want := tree.Root(), naiveRoot(leaves); got != want {
			t.Fatalf("size %d: root %s, want %s", i, got, want)
		}
		leaf := LeafHash(sha256.Sum256([]byte{byte(i)}))
		if _, err := tree.Append(leaf); err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, leaf)
	}
}

func TestTree_RestoreAndClone(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{1, 2, 3, 7, 8, 9, 100} {
		tree, m, _ := buildTree(t, n)
		border, err := m.Nodes(ctx, BorderIDs(uint64(n)))
		if err != nil {
			t.Fatal(err)
		}
		restored, err := RestoreTree(uint64(n), border)
		if err != nil {
			t.Fatal(err)
		}
		if restored.Root() != tree.Root() {
			t.Fatalf("size %d: restored root differs", n)
		}
		c := tree.Clone()
		if _, err := c.Append(Hash{1}); err != nil {
			t.Fatal(err)
		}
		if tree.Size() != uint64(n) || c.Size() != uint64(n+1) {
			t.Fatalf("clone shares state: sizes %d and %d", tree.Size(), c.Size())
		}
		if got, err := RootAt(ctx, m, uint64(n)); err != nil || got != tree.Root() {
			t.Fatalf("RootAt(%d): %s, %v; want %s", n, got, err, tree.Root())
		}
	}
}

func TestProofs_VerifyWithLibraryVerifier(t *testing.T) {
	ctx := context.Background()
	const n = 70
	_, m, leaves := buildTree(t, n)
	for size := uint64(1); size <= n; size++ {
		root, err := RootAt(ctx, m, size)
		if err != nil {
			t.Fatal(err)
		}
		if want := naiveRoot(leaves[:size]); root != want {
			t.Fatalf("RootAt(%d) = %s, want %s", size, root, want)
		}
		for i := uint64(0); i < size; i++ {
			p, err := InclusionProof(ctx, m, i, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(Hasher, i, size, leaves[i][:], raw(p), root[:]); err != nil {
				t.Fatalf("inclusion %d in %d: %v", i, size, err)
			}
		}
		for s1 := uint64(1); s1 <= size; s1++ {
			p, err := ConsistencyProof(ctx, m, s1, size)
			if err != nil {
				t.Fatal(err)
			}
			r1 := naiveRoot(leaves[:s1])
			if err := proof.VerifyConsistency(Hasher, s1, size, raw(p), r1[:], root[:]); err != nil {
				t.Fatalf("consistency %d to %d: %v", s1, size, err)
			}
		}
	}
	if _, err := InclusionProof(ctx, m, n, n); err == nil {
		t.Error("inclusion proof of an index beyond the tree: got nil error")
	}
	if _, err := ConsistencyProof(ctx, m, 5, 4); err == nil {
		t.Error("consistency proof from a larger tree: got nil error")
	}
}

func raw(hs []Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}
