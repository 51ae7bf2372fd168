package ledger

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
)

// NodeReader reads persisted nodes of the global log. A store implements it
// over the nodes Tree.Append returned, persisted with their events.
type NodeReader interface {
	// TreeSize returns the number of leaves committed.
	TreeSize(ctx context.Context) (uint64, error)
	// Nodes returns the hashes of the given nodes, in order. Every node
	// asked for is a perfect subtree within the committed tree.
	Nodes(ctx context.Context, ids []NodeID) ([]Hash, error)
}

// RootAt returns the root hash of the tree of the given size, reading only
// the O(log n) nodes of its right border.
func RootAt(ctx context.Context, r NodeReader, size uint64) (Hash, error) {
	if size == 0 {
		return sha256.Sum256(nil), nil
	}
	border, err := r.Nodes(ctx, BorderIDs(size))
	if err != nil {
		return Hash{}, fmt.Errorf("ledger: root at %d: %w", size, err)
	}
	t, err := RestoreTree(size, border)
	if err != nil {
		return Hash{}, err
	}
	return t.Root(), nil
}

// InclusionProof returns the RFC 6962 inclusion proof of leaf index in the
// tree of the given size.
func InclusionProof(ctx context.Context, r NodeReader, index, size uint64) ([]Hash, error) {
	if index >= size {
		return nil, fmt.Errorf("ledger: inclusion proof: index %d is not below tree size %d", index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("ledger: inclusion proof %d in %d: %w", index, size, err)
	}
	return fetchProof(ctx, r, nodes)
}

// ConsistencyProof returns the RFC 6962 consistency proof between the trees
// of sizes size1 <= size2.
func ConsistencyProof(ctx context.Context, r NodeReader, size1, size2 uint64) ([]Hash, error) {
	if size1 > size2 {
		return nil, fmt.Errorf("ledger: consistency proof: size %d is above size %d", size1, size2)
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("ledger: consistency proof %d to %d: %w", size1, size2, err)
	}
	return fetchProof(ctx, r, nodes)
}

func fetchProof(ctx context.Context, r NodeReader, nodes proof.Nodes) ([]Hash, error) {
	hs, err := r.Nodes(ctx, nodes.IDs)
	if err != nil {
		return nil, fmt.Errorf("ledger: read proof nodes: %w", err)
	}
	raw := make([][]byte, len(hs))
	for i := range hs {
		raw[i] = hs[i][:]
	}
	raw, err = nodes.Rehash(raw, Hasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("ledger: rehash proof: %w", err)
	}
	out := make([]Hash, len(raw))
	for i := range raw {
		copy(out[i][:], raw[i])
	}
	return out, nil
}
