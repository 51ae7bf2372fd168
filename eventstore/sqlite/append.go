package sqlite

import (
	"context"
	"sync/atomic"

	"github.com/scelle-ledger/scelle/eventstore"
)

// request is one Append waiting for the writer.
type request struct {
	ctx      context.Context
	stream   string
	expected eventstore.ExpectedRevision
	events   []eventstore.EventData
	// repl, if set, makes this a replication request (replicate.go)
	// instead of an append.
	repl *replBatch
	// state moves from queued to taken (by the writer) or to abandoned (by
	// the caller whose ctx ended first), exactly once.
	state atomic.Int32
	resp  chan outcome
}

const (
	stateQueued int32 = iota
	stateTaken
	stateAbandoned
)

type outcome struct {
	res eventstore.AppendResult
	err error
}

func (r *request) reply(o outcome) { r.resp <- o }

// size is the number of payload bytes of r.
func (r *request) size() int {
	n := 0
	for i := range r.events {
		n += len(r.events[i].Payload)
	}
	return n
}

// Append writes events to the end of stream if its revision matches
// expected (see eventstore.Store). The call returns once the events are
// durable (the transaction holding them is committed and the WAL fsynced
// after the commit) or the append was refused.
//
// A cancelled ctx returns ctx.Err() and writes nothing if the writer has not
// taken the append yet; once taken, Append waits for the true outcome.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(stream, expected, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	r := &request{ctx: ctx, stream: stream, expected: expected, events: events, resp: make(chan outcome, 1)}
	return s.submit(ctx, r)
}

// submit queues r (an append or a replicated batch) for the writer and
// waits for its outcome. A caller whose ctx ends before the writer takes r
// gets ctx.Err() and nothing is written; once taken, it waits for the true
// outcome.
func (s *Store) submit(ctx context.Context, r *request) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.y.failed(); err != nil {
		return eventstore.AppendResult{}, err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		s.mu.RUnlock()
		return eventstore.AppendResult{}, ctx.Err()
	}
	s.mu.RUnlock()
	select {
	case o := <-r.resp:
		return o.res, o.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
			return eventstore.AppendResult{}, ctx.Err()
		}
		o := <-r.resp
		return o.res, o.err
	}
}
