package ledger

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// SignedCheckpoint is a checkpoint as the log issued it: its parsed body,
// the signed note (with any cosignatures collected), its sequence number in
// the checkpoint store and when it was issued.
type SignedCheckpoint struct {
	Seq    uint64
	Issued time.Time
	Body   Checkpoint
	Note   []byte
}

// CheckpointStore keeps every checkpoint the log ever issued, in order.
// ledger/checkpointdb implements it in an SQLite file; MemCheckpoints in
// memory.
type CheckpointStore interface {
	// Latest returns the last checkpoint, and false if there is none.
	Latest(ctx context.Context) (SignedCheckpoint, bool, error)
	// Add appends a checkpoint; it sets c.Seq. Its size MUST NOT be below
	// the latest one's.
	Add(ctx context.Context, c *SignedCheckpoint) error
	// All returns every checkpoint in issue order.
	All(ctx context.Context) ([]SignedCheckpoint, error)
}

// MemCheckpoints is a CheckpointStore in memory (tests, tools).
type MemCheckpoints struct {
	mu  sync.Mutex
	cps []SignedCheckpoint
}

var _ CheckpointStore = (*MemCheckpoints)(nil)

// Latest returns the last checkpoint.
func (m *MemCheckpoints) Latest(context.Context) (SignedCheckpoint, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.cps) == 0 {
		return SignedCheckpoint{}, false, nil
	}
	return m.cps[len(m.cps)-1], true, nil
}

// Add appends c.
func (m *MemCheckpoints) Add(_ context.Context, c *SignedCheckpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.cps); n > 0 && m.cps[n-1].Body.Size > c.Body.Size {
		return fmt.Errorf("ledger: add checkpoint: size %d is below the latest size %d", c.Body.Size, m.cps[n-1].Body.Size)
	}
	c.Seq = uint64(len(m.cps) + 1)
	m.cps = append(m.cps, *c)
	return nil
}

// All returns every checkpoint in issue order.
func (m *MemCheckpoints) All(context.Context) ([]SignedCheckpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]SignedCheckpoint(nil), m.cps...), nil
}
