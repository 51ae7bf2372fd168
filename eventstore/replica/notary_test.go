package replica

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/scelle-ledger/scelle/eventstore"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// flakyStore is a primary whose subscriptions can be made to fail after a
// number of events, or to hold every event until released.
type flakyStore struct {
	eventstore.Store
	subscribes atomic.Int64
	// failAfter, if positive, makes the first subscription fail after
	// delivering that many events.
	failAfter int
	// hold, if set, blocks every Recv until it is closed.
	hold chan struct{}
	// appended receives the result of every append the primary accepted.
	appended chan eventstore.AppendResult
}

var errDropped = errors.New("flaky: subscription dropped")

func (f *flakyStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	res, err := f.Store.Append(ctx, stream, expected, events...)
	if err == nil && f.appended != nil {
		f.appended <- res
	}
	return res, err
}

func (f *flakyStore) SubscribeAll(ctx context.Context, opts eventstore.SubscribeOptions) (eventstore.Subscription, error) {
	n := f.subscribes.Add(1)
	sub, err := f.Store.SubscribeAll(ctx, opts)
	if err != nil {
		return nil, err
	}
	left := -1
	if n == 1 && f.failAfter > 0 {
		left = f.failAfter
	}
	return &flakySub{Subscription: sub, ctx: ctx, left: left, hold: f.hold}, nil
}

type flakySub struct {
	eventstore.Subscription
	ctx  context.Context
	left int
	hold chan struct{}
}

func (s *flakySub) Recv() (eventstore.RecordedEvent, error) {
	if s.hold != nil {
		select {
		case <-s.hold:
		case <-s.ctx.Done():
			return eventstore.RecordedEvent{}, s.ctx.Err()
		}
	}
	if s.left == 0 {
		return eventstore.RecordedEvent{}, errDropped
	}
	if s.left > 0 {
		s.left--
	}
	return s.Subscription.Recv()
}

// TestDroppedSubscriptionIsRetried checks that a subscription the primary
// drops is opened again after the last event replicated: no gap, no
// duplicate.
func TestDroppedSubscriptionIsRetried(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	primary := openSQLite(t, filepath.Join(dir, "primary.db"))
	for i := range 30 {
		if _, err := primary.Append(ctx, "exhibit-1", eventstore.Any, newEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	f := &flakyStore{Store: primary, failAfter: 13}
	s, err := Open(ctx, f, openSQLite(t, filepath.Join(dir, "replica.db")), Options{BatchEvents: 4, RetryDelay: 1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	caughtUp(t, ctx, s)
	checkEqual(t, ctx, s)
	if n := f.subscribes.Load(); n < 2 {
		t.Fatalf("subscriptions: got %d, want a second one after the drop", n)
	}
	if err := s.Healthy(ctx); err != nil {
		t.Fatalf("healthy after the retry: got %v, want nil", err)
	}
}

// TestAppendNotReplicatedInTime checks an append whose context ends before
// the notary copied it: it fails, although the primary wrote it, and its
// retry returns the original result once the notary has caught up. Close
// then fails the appends still waiting with ErrClosed.
func TestAppendNotReplicatedInTime(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	hold := make(chan struct{})
	f := &flakyStore{Store: openSQLite(t, filepath.Join(dir, "primary.db")), hold: hold, appended: make(chan eventstore.AppendResult, 4)}
	s, err := Open(ctx, f, openSQLite(t, filepath.Join(dir, "replica.db")), Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	ev := newEvent(1)
	actx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := s.Append(actx, "exhibit-1", eventstore.NoStream, ev)
		errc <- err
	}()
	<-f.appended // the primary wrote it; the notary is held
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("append cancelled while waiting for the notary: got %v, want %v", err, context.Canceled)
	}
	close(hold)
	res, err := s.Append(ctx, "exhibit-1", eventstore.NoStream, ev)
	if err != nil || res.Revision != 0 || res.Position != 0 {
		t.Fatalf("retry of the append: got %+v, %v, want revision 0 at position 0", res, err)
	}
	<-f.appended

	// Close while an append waits for a notary that cannot move.
	f2hold := make(chan struct{})
	dir2 := t.TempDir()
	f2 := &flakyStore{Store: openSQLite(t, filepath.Join(dir2, "primary.db")), hold: f2hold, appended: make(chan eventstore.AppendResult, 4)}
	s2, err := Open(ctx, f2, openSQLite(t, filepath.Join(dir2, "replica.db")), Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := s2.Append(ctx, "exhibit-1", eventstore.NoStream, newEvent(2))
		errc <- err
	}()
	<-f2.appended
	if err := s2.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()
	if err := <-errc; !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("append waiting at close: got %v, want %v", err, eventstore.ErrClosed)
	}
}
