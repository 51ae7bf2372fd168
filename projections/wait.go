package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scelle-ledger/scelle/eventstore"
)

// ErrNotCaughtUp is matched by every *NotCaughtUpError.
var ErrNotCaughtUp = errors.New("projections: read models have not caught up")

// NotCaughtUpError: a wait for a position ended (timeout or cancellation)
// before every projection had applied it.
type NotCaughtUpError struct {
	// Position is the global position waited for.
	Position uint64
	// Projection is one projection still behind, at Applied (-1: nothing).
	Projection string
	Applied    int64
	// Err is the context's error (context.DeadlineExceeded on timeout).
	Err error
}

func (e *NotCaughtUpError) Error() string {
	return fmt.Sprintf("projections: wait for position %d: projection %s has applied only up to %d: %v",
		e.Position, e.Projection, e.Applied, e.Err)
}

func (e *NotCaughtUpError) Is(target error) bool { return target == ErrNotCaughtUp }
func (e *NotCaughtUpError) Unwrap() error        { return e.Err }

// WaitFor returns once every projection has applied the event at position
// (read-your-writes: pass the position an append returned). It fails with
// a *NotCaughtUpError when timeout (if > 0) passes or ctx is done first.
// It is woken by the runner's commits; it never polls.
func (r *Runner) WaitFor(ctx context.Context, position uint64, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	for {
		r.mu.Lock()
		behind, applied := "", int64(0)
		for _, p := range r.projs {
			if a := r.applied[p.Name()]; a < 0 || uint64(a) < position {
				behind, applied = p.Name(), a
				break
			}
		}
		ch := r.changed
		r.mu.Unlock()
		if behind == "" {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return &NotCaughtUpError{Position: position, Projection: behind, Applied: applied, Err: ctx.Err()}
		}
	}
}

// ProjectionHealth is a projection's progress, for /readyz and /metrics.
type ProjectionHealth struct {
	Name       string `json:"name"`
	Version    int    `json:"version"`
	Generation int    `json:"generation"`
	// Position is the last global position applied, -1 for none.
	Position int64 `json:"position"`
	// Head is the store's last global position, -1 for an empty store.
	Head int64 `json:"head"`
	// Lag is Head - Position: events still to apply (positions are dense
	// in the SQLite store).
	Lag int64 `json:"lag"`
	// Rebuilding is set while a rebuild of a new generation is under way;
	// RebuildPosition is how far it has got.
	Rebuilding      bool  `json:"rebuilding"`
	RebuildPosition int64 `json:"rebuild_position,omitempty"`
}

// Health reports every projection's position and lag behind the store,
// read from the registry (so a rebuild in another process shows).
func (r *Runner) Health(ctx context.Context) ([]ProjectionHealth, error) {
	head, err := Head(ctx, r.store)
	if err != nil {
		return nil, fmt.Errorf("projections: health: %w", err)
	}
	reg, err := readRegistry(ctx, r.db.r)
	if err != nil {
		return nil, fmt.Errorf("projections: health: read registry: %w", err)
	}
	shadows := map[string]int64{}
	rows, err := r.db.r.QueryContext(ctx, `SELECT name, position FROM projection_shadow`)
	if err != nil {
		return nil, fmt.Errorf("projections: health: %w", err)
	}
	for rows.Next() {
		var n string
		var pos int64
		if err := rows.Scan(&n, &pos); err != nil {
			rows.Close()
			return nil, fmt.Errorf("projections: health: %w", err)
		}
		shadows[n] = pos
	}
	rows.Close()
	out := make([]ProjectionHealth, 0, len(r.projs))
	for _, p := range r.projs {
		row := reg[p.Name()]
		h := ProjectionHealth{Name: p.Name(), Version: row.version, Generation: row.generation,
			Position: row.position, Head: head, Lag: max(0, head-row.position)}
		if pos, ok := shadows[p.Name()]; ok {
			h.Rebuilding, h.RebuildPosition = true, pos
		}
		out = append(out, h)
	}
	return out, nil
}

// Head returns the store's last global position, -1 when it is empty.
func Head(ctx context.Context, store eventstore.Store) (int64, error) {
	evs, err := store.ReadAll(ctx, eventstore.ReadOptions{Direction: eventstore.Backwards, From: eventstore.End, Count: 1})
	if err != nil {
		return 0, fmt.Errorf("read store head: %w", err)
	}
	if len(evs) == 0 {
		return -1, nil
	}
	return int64(evs[0].Position), nil
}
