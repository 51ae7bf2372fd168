package sqlite

import (
	"context"
	"math"
	"sync"

	"github.com/scelle-ledger/scelle/eventstore"
)

// subscriptionPage is the number of events a subscription reads at a time:
// a slow subscriber holds at most one page in memory.
const subscriptionPage = 256

// subscription is a catch-up subscription to the global order. It keeps
// only its next position and one page of events: history and live events
// are both read from the file, so the switch from catch-up to live is a
// matter of waiting for the next commit, with no gap and no duplicate.
type subscription struct {
	s      *Store
	ctx    context.Context
	cancel context.CancelFunc
	where  string
	args   []any

	next uint64 // the next position to scan
	buf  []eventstore.RecordedEvent

	closeOnce sync.Once
	closed    chan struct{}
}

var _ eventstore.Subscription = (*subscription)(nil)

// SubscribeAll starts a catch-up subscription after opts.From (exclusive:
// At(p) delivers p+1 onwards; Start delivers from position 0; End only what
// is committed after the call).
func (s *Store) SubscribeAll(ctx context.Context, opts eventstore.SubscribeOptions) (eventstore.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	sub := &subscription{s: s, closed: make(chan struct{})}
	switch v, at := opts.From.Value(); {
	case at && v == math.MaxUint64:
		sub.next = v // nothing can come after the last possible position
	case at:
		sub.next = v + 1
	case opts.From.IsEnd():
		sub.next = s.size.Load()
	default:
		sub.next = 0
	}
	sub.where, sub.args = filterSQL(opts.Filter)
	sub.ctx, sub.cancel = context.WithCancel(ctx)
	return sub, nil
}

// Recv returns the next event. It fails with the subscription's context
// error once that is done, and with eventstore.ErrClosed after Close or the
// store's Close.
func (sub *subscription) Recv() (eventstore.RecordedEvent, error) {
	for {
		select {
		case <-sub.closed:
			return eventstore.RecordedEvent{}, eventstore.ErrClosed
		case <-sub.s.done:
			return eventstore.RecordedEvent{}, eventstore.ErrClosed
		default:
		}
		if err := sub.ctx.Err(); err != nil {
			return eventstore.RecordedEvent{}, err
		}
		if len(sub.buf) > 0 {
			e := sub.buf[0]
			sub.buf[0] = eventstore.RecordedEvent{}
			sub.buf = sub.buf[1:]
			return e, nil
		}
		// Take the wake-up channel before reading the size, so that a
		// commit after the read always wakes us.
		wake := sub.s.waitChan()
		if size := sub.s.size.Load(); sub.next < size {
			if err := sub.fill(size); err != nil {
				return eventstore.RecordedEvent{}, err
			}
			continue
		}
		select {
		case <-wake:
		case <-sub.ctx.Done():
		case <-sub.closed:
		case <-sub.s.done:
		}
	}
}

// fill reads the next page of matching events below size.
func (sub *subscription) fill(size uint64) error {
	q := `SELECT ` + eventColumns + ` FROM events WHERE position >= ? AND position < ?` + sub.where + ` ORDER BY position LIMIT ?`
	// sub.next < size, and sizes are counts of rows: both fit in an int64.
	args := append([]any{int64(sub.next), int64(size)}, sub.args...)
	args = append(args, subscriptionPage)
	evs, err := sub.s.query(sub.ctx, q, args...)
	if err != nil {
		select {
		case <-sub.closed:
			return eventstore.ErrClosed
		default:
		}
		if ctxErr := sub.ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return sub.s.readErr("subscribe all", err)
	}
	if len(evs) == subscriptionPage {
		sub.next = evs[len(evs)-1].Position + 1
	} else {
		sub.next = size
	}
	sub.buf = evs
	return nil
}

// Close ends the subscription; Recv then fails with eventstore.ErrClosed.
func (sub *subscription) Close() error {
	sub.closeOnce.Do(func() {
		close(sub.closed)
		sub.cancel()
	})
	return nil
}
