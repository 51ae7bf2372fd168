package replica

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scelle-ledger/scelle/eventstore"
)

// run is the notary: it follows the primary's global order from where the
// replica stands and replicates every event, until ctx is done or an error
// it cannot retry. A dropped subscription (the primary restarting, a
// leader election) is retried with a growing delay; an event that does not
// verify, or a failure of the replica, stops the notary: replicating past
// it would notarise a history that is not the one written.
func (s *Store) run(ctx context.Context) {
	defer close(s.done)
	delay := s.opts.RetryDelay
	for {
		progressed, err := s.follow(ctx)
		if ctx.Err() != nil {
			return
		}
		if progressed {
			delay = s.opts.RetryDelay
		}
		var fatal *fatalError
		if errors.As(err, &fatal) || errors.Is(err, eventstore.ErrClosed) {
			err = fmt.Errorf("%w: %w", ErrNotaryStopped, err)
			s.opts.Logger.Error("replica: the notary stopped; appends are refused until restart", "err", err)
			s.mu.Lock()
			s.fatal, s.lastErr = err, nil
			s.wake()
			s.mu.Unlock()
			return
		}
		s.opts.Logger.Warn("replica: following the primary failed; retrying", "err", err, "delay", delay)
		s.mu.Lock()
		s.lastErr = err
		s.mu.Unlock()
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		delay = min(2*delay, s.opts.MaxRetryDelay)
	}
}

// fatalError marks an error the notary does not retry.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

type received struct {
	ev  eventstore.RecordedEvent
	err error
}

// follow subscribes to the primary after the last position replicated and
// replicates what it delivers, in batches of what has arrived, until an
// error. progressed reports whether it replicated anything.
func (s *Store) follow(ctx context.Context) (progressed bool, err error) {
	s.mu.Lock()
	from := eventstore.Start
	if s.has {
		from = eventstore.At(s.source)
	}
	s.mu.Unlock()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := s.primary.SubscribeAll(sctx, eventstore.SubscribeOptions{From: from})
	if err != nil {
		return false, fmt.Errorf("replica: subscribe to the primary: %w", err)
	}
	ch := make(chan received, s.opts.BatchEvents)
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		for {
			ev, err := sub.Recv()
			select {
			case ch <- received{ev, err}:
			case <-sctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		cancel()
		_ = sub.Close()
		<-recvDone
	}()

	batch := make([]eventstore.RecordedEvent, 0, s.opts.BatchEvents)
	for {
		batch = batch[:0]
		var recvErr error
		select {
		case r := <-ch:
			if r.err != nil {
				return progressed, fmt.Errorf("replica: follow the primary: %w", r.err)
			}
			batch = append(batch, r.ev)
		case <-ctx.Done():
			return progressed, ctx.Err()
		}
	fill:
		for len(batch) < s.opts.BatchEvents {
			select {
			case r := <-ch:
				if r.err != nil {
					recvErr = r.err
					break fill
				}
				batch = append(batch, r.ev)
			default:
				break fill
			}
		}
		if err := s.local.Replicate(ctx, batch); err != nil {
			if ctx.Err() != nil {
				return progressed, ctx.Err()
			}
			return progressed, &fatalError{fmt.Errorf("replica: replicate: %w", err)}
		}
		progressed = true
		size, err := s.local.TreeSize(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return progressed, ctx.Err()
			}
			return progressed, &fatalError{fmt.Errorf("replica: replicate: %w", err)}
		}
		s.mu.Lock()
		s.source, s.has, s.size, s.lastErr = batch[len(batch)-1].Position, true, size, nil
		if len(s.heads)+len(batch) > headsLimit {
			clear(s.heads)
		}
		first := size - uint64(len(batch))
		for i := range batch {
			e := &batch[i]
			s.heads[e.Stream] = replicated{id: e.EventID, revision: e.Revision, position: first + uint64(i)}
		}
		s.wake()
		s.mu.Unlock()
		if recvErr != nil {
			return progressed, fmt.Errorf("replica: follow the primary: %w", recvErr)
		}
	}
}
