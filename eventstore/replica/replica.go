// Package replica owns the notarised local replica of a primary event
// store: how scelle keeps its Merkle log, signed checkpoints and inclusion
// proofs when the system of record is KurrentDB.
//
// The primary (the KurrentDB adapter, or any eventstore.Store) decides
// every append: expected revisions, idempotency, the hash chain. Its global
// order cannot be the Merkle log itself, since KurrentDB's $all positions
// are sparse. A notary goroutine follows the primary's global order
// (SubscribeAll, from where it stopped) and copies every event verbatim
// (same envelope, hash and revision) into a local SQLite store
// (sqlite.Store.Replicate), which gives it the next dense position, the
// Merkle leaf index, and writes the Merkle nodes in the same transaction.
// The primary's global order is the same for every reader, so every server
// following one primary derives the same positions and the same tree: no
// leader election or fencing is needed, and checkpoints signed by two
// servers of one ledger agree.
//
// Store is the eventstore.Store the rest of scelle uses: Append goes to the
// primary, then waits until the notary has replicated that append, and
// returns the primary's revision with the replica's position; reads,
// subscriptions and Merkle reads (TreeSize, Nodes, ReadRange) go to the
// replica. So positions are the replica's everywhere, and a projection
// checkpoint or a proof refers to the local Merkle log.
package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
)

var (
	_ eventstore.Store  = (*Store)(nil)
	_ ledger.NodeReader = (*Store)(nil)
)

// ErrNotaryStopped: the notary stopped on an error it cannot retry (an
// event of the primary that does not verify, or a failure of the replica's
// file). Appends are refused until the server is restarted; reads of what
// was replicated still work.
var ErrNotaryStopped = errors.New("replica: the notary stopped")

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// BatchEvents bounds the events the notary replicates in one
	// transaction. 0 means 1024.
	BatchEvents int
	// RetryDelay is the first wait before the notary subscribes again after
	// the primary dropped its subscription; it doubles up to MaxRetryDelay.
	// 0 means 200ms.
	RetryDelay time.Duration
	// MaxRetryDelay bounds RetryDelay. 0 means 30s.
	MaxRetryDelay time.Duration
	// Logger receives the notary's warnings. nil means slog.Default().
	Logger *slog.Logger
}

// Store is the replicated event store. It is safe for concurrent use. It
// owns the primary and the replica: Close closes both.
type Store struct {
	primary eventstore.Store
	local   *sqlite.Store
	opts    Options

	cancel context.CancelFunc // the notary's context
	done   chan struct{}      // closed when the notary has returned

	mu      sync.Mutex
	closed  bool
	source  uint64 // source position of the last event replicated
	has     bool   // something was replicated
	size    uint64 // the replica's size after it
	fatal   error  // why the notary stopped
	lastErr error  // the last error retried, nil once replication resumed
	notify  chan struct{}
	// heads maps a stream to its last event replicated, so that an append
	// finds its position without a read; bounded by headsLimit.
	heads map[string]replicated
}

// replicated is a stream's last event replicated.
type replicated struct {
	id       uuid.UUID
	revision uint64
	position uint64 // the replica's
}

// headsLimit bounds Store.heads; it is cleared when full.
const headsLimit = 1 << 16

// Status is the notary's state, for readiness reports.
type Status struct {
	// Source is the primary's position of the last event replicated, and
	// Replicated false if none was.
	Source     uint64
	Replicated bool
	// Size is the number of events in the replica (the Merkle tree size).
	Size uint64
	// Retrying is the last error of the primary the notary is retrying
	// after, nil when it is following.
	Retrying error
	// Stopped is why the notary stopped, nil while it runs.
	Stopped error
}

// Open starts a notary replicating primary into local, which must be a
// replica (sqlite.Store.ReplicaSource) or empty. The Store owns both stores
// from then on, and closes them if Open fails.
func Open(ctx context.Context, primary eventstore.Store, local *sqlite.Store, opts Options) (*Store, error) {
	if opts.BatchEvents <= 0 {
		opts.BatchEvents = 1024
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = 200 * time.Millisecond
	}
	if opts.MaxRetryDelay <= 0 {
		opts.MaxRetryDelay = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	fail := func(err error) (*Store, error) {
		_ = local.Close()
		_ = primary.Close()
		return nil, fmt.Errorf("replica: open %s: %w", local.Path(), err)
	}
	src, found, err := local.ReplicaSource(ctx)
	if err != nil {
		return fail(err)
	}
	size, err := local.TreeSize(ctx)
	if err != nil {
		return fail(err)
	}
	if !found && size > 0 {
		return fail(fmt.Errorf("holds %d events but is not a replica: its events were appended to it directly", size))
	}
	if found && src.Size != size {
		return fail(fmt.Errorf("the replica's last source record is at %d events, but it holds %d", src.Size, size))
	}
	if found {
		if err := sameSource(ctx, primary, local, src); err != nil {
			return fail(err)
		}
	}
	nctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Store{
		primary: primary, local: local, opts: opts,
		cancel: cancel, done: make(chan struct{}),
		source: src.Position, has: found, size: size,
		notify: make(chan struct{}),
		heads:  make(map[string]replicated),
	}
	go s.run(nctx)
	return s, nil
}

// sameSource checks that the replica's last event is the primary's event
// at the recorded source position: a replica follows one primary (one
// cluster, one namespace), whose history it cannot lose.
func sameSource(ctx context.Context, primary eventstore.Store, local *sqlite.Store, src sqlite.ReplicaSource) error {
	mine, err := local.ReadAll(ctx, eventstore.ReadOptions{Direction: eventstore.Backwards, From: eventstore.End, Count: 1})
	if err != nil {
		return fmt.Errorf("read the replica's last event: %w", err)
	}
	theirs, err := primary.ReadAll(ctx, eventstore.ReadOptions{From: eventstore.At(src.Position), Count: 1})
	if err != nil {
		return fmt.Errorf("read the primary at position %d, where the replica stands: %w", src.Position, err)
	}
	if len(mine) != 1 {
		return fmt.Errorf("the replica records source position %d but holds no event", src.Position)
	}
	if len(theirs) != 1 || theirs[0].Position != src.Position || theirs[0].EventID != mine[0].EventID || theirs[0].Hash != mine[0].Hash {
		return fmt.Errorf("the replica's last event %s (%s@%d) is not the primary's event at position %d: the replica follows another primary or namespace", mine[0].EventID, mine[0].Stream, mine[0].Revision, src.Position)
	}
	return nil
}

// Replica returns the local store: the Merkle log and the events.
func (s *Store) Replica() *sqlite.Store { return s.local }

// Status returns the notary's state.
func (s *Store) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Status{Source: s.source, Replicated: s.has, Size: s.size, Retrying: s.lastErr, Stopped: s.fatal}
}

// Healthy returns nil while the notary runs and follows the primary, the
// error it is retrying after, or why it stopped.
func (s *Store) Healthy(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st := s.Status()
	switch {
	case st.Stopped != nil:
		return st.Stopped
	case st.Retrying != nil:
		return fmt.Errorf("replica: the notary is retrying: %w", st.Retrying)
	}
	if s.isClosed() {
		return eventstore.ErrClosed
	}
	return nil
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// wake tells the waiting appends that the notary moved; the caller holds mu.
func (s *Store) wake() {
	close(s.notify)
	s.notify = make(chan struct{})
}

// Append appends to the primary, then waits until the notary has
// replicated the append, and returns the primary's revision with the
// replica's position of the append's last event. The primary's errors
// (conflicts, reused IDs, bad input) are returned unchanged, and so is an
// idempotent retry's original revision.
//
// If ctx ends, or the store is closed, after the primary wrote the events
// but before the notary replicated them, Append fails although the events
// are written: a retry of the same events returns the original result once
// they are replicated.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if s.isClosed() {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	if st := s.Status(); st.Stopped != nil {
		return eventstore.AppendResult{}, fmt.Errorf("replica: append to %s: %w", stream, st.Stopped)
	}
	res, err := s.primary.Append(ctx, stream, expected, events...)
	if err != nil {
		return res, err
	}
	if err := s.waitFor(ctx, res.Position); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("replica: append to %s: written to the primary at revision %d but not replicated: %w", stream, res.Revision, err)
	}
	last := events[len(events)-1].ID
	s.mu.Lock()
	h, ok := s.heads[stream]
	s.mu.Unlock()
	if ok && h.revision == res.Revision && h.id == last {
		return eventstore.AppendResult{Revision: res.Revision, Position: h.position}, nil
	}
	// The stream moved on since, or its head left the map: read it.
	evs, err := s.local.ReadStream(ctx, stream, eventstore.ReadOptions{From: eventstore.At(res.Revision), Count: 1})
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("replica: append to %s: read the replicated revision %d: %w", stream, res.Revision, err)
	}
	if len(evs) != 1 || evs[0].Revision != res.Revision || evs[0].EventID != last {
		return eventstore.AppendResult{}, fmt.Errorf("replica: append to %s: the replica's revision %d is not the event %s the primary wrote", stream, res.Revision, events[len(events)-1].ID)
	}
	return eventstore.AppendResult{Revision: res.Revision, Position: evs[0].Position}, nil
}

// waitFor waits until the notary has replicated the primary's position.
func (s *Store) waitFor(ctx context.Context, position uint64) error {
	for {
		s.mu.Lock()
		ok, fatal, closed, ch := s.has && s.source >= position, s.fatal, s.closed, s.notify
		s.mu.Unlock()
		switch {
		case ok:
			return nil
		case fatal != nil:
			return fatal
		case closed:
			return eventstore.ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ReadStream reads a stream from the replica.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadOptions) ([]eventstore.RecordedEvent, error) {
	return s.local.ReadStream(ctx, stream, opts)
}

// ReadAll reads the replica's global order: the primary's, at dense
// positions.
func (s *Store) ReadAll(ctx context.Context, opts eventstore.ReadOptions) ([]eventstore.RecordedEvent, error) {
	return s.local.ReadAll(ctx, opts)
}

// SubscribeAll subscribes to the replica's global order.
func (s *Store) SubscribeAll(ctx context.Context, opts eventstore.SubscribeOptions) (eventstore.Subscription, error) {
	return s.local.SubscribeAll(ctx, opts)
}

// TreeSize returns the size of the replica's Merkle log.
func (s *Store) TreeSize(ctx context.Context) (uint64, error) { return s.local.TreeSize(ctx) }

// Nodes reads nodes of the replica's Merkle log.
func (s *Store) Nodes(ctx context.Context, ids []ledger.NodeID) ([]ledger.Hash, error) {
	return s.local.Nodes(ctx, ids)
}

// ReadRange reads the replica's positions [from, to) in bulk (see
// sqlite.Store.ReadRange).
func (s *Store) ReadRange(ctx context.Context, from, to uint64, dst []eventstore.RecordedEvent) ([]eventstore.RecordedEvent, error) {
	return s.local.ReadRange(ctx, from, to, dst)
}

// ReadRangeLean is ReadRange without the chaining and tracing columns
// (see sqlite.Store.ReadRangeLean).
func (s *Store) ReadRangeLean(ctx context.Context, from, to uint64, dst []eventstore.RecordedEvent) ([]eventstore.RecordedEvent, error) {
	return s.local.ReadRangeLean(ctx, from, to, dst)
}

// ReadPositions reads the replica's events at the given positions (see
// sqlite.Store.ReadPositions).
func (s *Store) ReadPositions(ctx context.Context, positions []uint64) ([]eventstore.RecordedEvent, error) {
	return s.local.ReadPositions(ctx, positions)
}

// Close stops the notary, then closes the replica and the primary. Appends
// waiting for the notary fail with ErrClosed. Calls after the first fail
// with eventstore.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return eventstore.ErrClosed
	}
	s.closed = true
	s.wake()
	s.mu.Unlock()
	s.cancel()
	<-s.done
	var errs []error
	if err := s.local.Close(); err != nil && !errors.Is(err, eventstore.ErrClosed) {
		errs = append(errs, err)
	}
	if err := s.primary.Close(); err != nil && !errors.Is(err, eventstore.ErrClosed) {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("replica: close: %w", err)
	}
	return nil
}
