package kurrentdb

import (
	"context"
	"fmt"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/scelle-ledger/scelle/eventstore"
)

// subscription is a KurrentDB catch-up subscription to $all, filtered by
// stream prefix on the server and by event type here.
type subscription struct {
	s      *Store
	ctx    context.Context // the caller's
	cancel context.CancelFunc
	inner  *esdb.Subscription
	filter eventstore.Filter

	// last is the position of the last event delivered (or the exclusive
	// start); an event at or before it is a repeat and is dropped.
	last    uint64
	hasLast bool
	err     error // the terminal error, once the subscription dropped

	closeOnce sync.Once
	closed    chan struct{}
}

var _ eventstore.Subscription = (*subscription)(nil)

// SubscribeAll starts a catch-up subscription to the global order after
// opts.From (exclusive: At(p) delivers what follows p; Start delivers from
// the first event; End only what is written after the call). From is always
// passed to KurrentDB explicitly: its client defaults to End.
func (s *Store) SubscribeAll(ctx context.Context, opts eventstore.SubscribeOptions) (eventstore.Subscription, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	sub := &subscription{s: s, ctx: ctx, filter: opts.Filter, closed: make(chan struct{})}
	var from esdb.AllPosition
	switch v, isAt := opts.From.Value(); {
	case isAt:
		from, sub.last, sub.hasLast = at(v), v, true
	case opts.From.IsEnd():
		from = esdb.End{}
	default:
		from = esdb.Start{}
	}
	sctx, cancel := context.WithCancel(ctx)
	sub.cancel = cancel
	// Register before subscribing, so that a Close meanwhile ends it.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return nil, eventstore.ErrClosed
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	inner, err := s.client.SubscribeToAll(sctx, esdb.SubscribeToAllOptions{From: from, Filter: serverFilter(s.ns, opts.Filter)})
	if err != nil {
		s.forget(sub)
		cancel()
		return nil, s.fail(ctx, "subscribe to all", err)
	}
	sub.inner = inner
	return sub, nil
}

// serverFilter is the stream filter KurrentDB applies: the store's stream
// prefixes within the namespace, or the whole namespace, or (with neither)
// every stream but the system ones. Event types are filtered by Recv, since
// KurrentDB takes one filter only.
func serverFilter(ns string, f eventstore.Filter) *esdb.SubscriptionFilter {
	if len(f.StreamPrefixes) > 0 {
		prefixes := make([]string, len(f.StreamPrefixes))
		for i, p := range f.StreamPrefixes {
			prefixes[i] = ns + p
		}
		return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: prefixes}
	}
	if ns != "" {
		return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{ns}}
	}
	return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Regex: `^[^$]`}
}

// Recv returns the next event. It fails with the caller's context error once
// that is done, with eventstore.ErrClosed after Close or the store's Close,
// and with the server's reason if KurrentDB drops the subscription.
func (sub *subscription) Recv() (eventstore.RecordedEvent, error) {
	for {
		if err := sub.ended(); err != nil {
			return eventstore.RecordedEvent{}, err
		}
		if sub.err != nil {
			return eventstore.RecordedEvent{}, sub.err
		}
		ev := sub.inner.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			if err := sub.ended(); err != nil {
				return eventstore.RecordedEvent{}, err
			}
			sub.err = fmt.Errorf("kurrentdb: subscription to all dropped: %w", mapErr(ev.SubscriptionDropped.Error))
			return eventstore.RecordedEvent{}, sub.err
		case ev.EventAppeared != nil && ev.EventAppeared.Event != nil:
			r := ev.EventAppeared.Event
			p := r.Position.Commit
			if sub.hasLast && p <= sub.last {
				continue
			}
			if !ours(sub.s.ns, r.StreamID, r.EventType) || !sub.filter.Match(r.StreamID[len(sub.s.ns):], r.EventType) {
				continue
			}
			e, err := decodeEvent(sub.s.ns, r)
			if err != nil {
				sub.err = fmt.Errorf("kurrentdb: subscription to all: %w", err)
				return eventstore.RecordedEvent{}, sub.err
			}
			sub.last, sub.hasLast = p, true
			return e, nil
		}
		// Checkpoints, caught-up and fell-behind notices carry no event.
	}
}

// ended returns the error of a subscription that was closed, whose store
// was closed, or whose context is done.
func (sub *subscription) ended() error {
	select {
	case <-sub.closed:
		return eventstore.ErrClosed
	default:
	}
	if sub.s.isClosed() {
		return eventstore.ErrClosed
	}
	return sub.ctx.Err()
}

// Close ends the subscription; Recv then fails with eventstore.ErrClosed.
func (sub *subscription) Close() error {
	sub.closeOnce.Do(func() {
		close(sub.closed)
		sub.s.forget(sub)
		sub.cancel()
		sub.inner.Close()
	})
	return nil
}

// forget drops a subscription from those Close ends.
func (s *Store) forget(sub *subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.subs, sub)
}
