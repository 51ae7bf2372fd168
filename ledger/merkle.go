package ledger

import (
	"crypto/sha256"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Hasher is the RFC 6962 hasher (SHA-256) of the global log.
var Hasher = rfc6962.DefaultHasher

var rangeFactory = compact.RangeFactory{Hash: Hasher.HashChildren}

// LeafHash returns the RFC 6962 leaf hash of an event in the global log:
// SHA-256(0x00 || event hash). The leaf input is the event's chain hash, so
// the log commits to the whole envelope and, through it, the payload digest.
func LeafHash(eventHash Hash) Hash {
	var h Hash
	copy(h[:], Hasher.HashLeaf(eventHash[:]))
	return h
}

// NodeID names a node of the Merkle tree: a perfect subtree of 2^Level leaves
// starting at leaf Index<<Level.
type NodeID = compact.NodeID

// Node is a persisted node of the tree with its hash.
type Node struct {
	ID   NodeID
	Hash Hash
}

// Tree is the right border of the global log: enough to append leaves and
// compute the root without reading the rest of the tree. It is not safe for
// concurrent use; a store's single writer owns it.
type Tree struct {
	r *compact.Range
}

// NewTree returns an empty tree.
func NewTree() *Tree { return &Tree{r: rangeFactory.NewEmptyRange(0)} }

// BorderIDs returns the IDs of the nodes that make up the right border of a
// tree of the given size, in the order RestoreTree wants their hashes.
func BorderIDs(size uint64) []NodeID { return compact.RangeNodes(0, size, nil) }

// RestoreTree rebuilds the right border of a tree of the given size from the
// hashes of BorderIDs(size).
func RestoreTree(size uint64, border []Hash) (*Tree, error) {
	hs := make([][]byte, len(border))
	for i := range border {
		hs[i] = border[i][:]
	}
	r, err := rangeFactory.NewRange(0, size, hs)
	if err != nil {
		return nil, fmt.Errorf("ledger: restore tree of size %d: %w", size, err)
	}
	return &Tree{r: r}, nil
}

// Size returns the number of leaves.
func (t *Tree) Size() uint64 { return t.r.End() }

// Append adds one leaf hash and returns every node completed by it (the leaf
// itself at level 0, then each perfect subtree it closes). A store persists
// these nodes in the same transaction as the event, so that any proof can be
// served by reading O(log n) nodes.
func (t *Tree) Append(leaf Hash) ([]Node, error) {
	var nodes []Node
	err := t.r.Append(append([]byte(nil), leaf[:]...), func(id compact.NodeID, h []byte) {
		var n Node
		n.ID = id
		copy(n.Hash[:], h)
		nodes = append(nodes, n)
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: append leaf %d: %w", t.r.End(), err)
	}
	return nodes, nil
}

// Root returns the root hash of the tree (SHA-256 of the empty string for an
// empty tree, as RFC 6962 defines it).
func (t *Tree) Root() Hash {
	if t.r.End() == 0 {
		return sha256.Sum256(nil)
	}
	root, err := t.r.GetRootHash(nil)
	if err != nil {
		panic(fmt.Sprintf("ledger: root of a range starting at 0 cannot fail: %v", err))
	}
	var h Hash
	copy(h[:], root)
	return h
}

// Clone returns an independent copy of t, so that a writer can stage appends
// and drop them if its transaction fails.
func (t *Tree) Clone() *Tree {
	hs := t.r.Hashes()
	cp := make([][]byte, len(hs))
	for i := range hs {
		cp[i] = append([]byte(nil), hs[i]...)
	}
	r, err := rangeFactory.NewRange(0, t.r.End(), cp)
	if err != nil {
		panic(fmt.Sprintf("ledger: clone a valid range cannot fail: %v", err))
	}
	return &Tree{r: r}
}
