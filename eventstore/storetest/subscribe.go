package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/scelle-ledger/scelle/eventstore"
)

// recvTimeout bounds every wait for an event: a subscription that neither
// delivers nor fails within it is hung.
const recvTimeout = time.Minute

// subscribe starts a subscription whose context ends after recvTimeout, so
// that a hung Recv fails the test with the deadline instead of hanging it.
func subscribe(t *testing.T, st eventstore.Store, opts eventstore.SubscribeOptions) eventstore.Subscription {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), recvTimeout)
	t.Cleanup(cancel)
	sub, err := st.SubscribeAll(ctx, opts)
	if err != nil {
		t.Fatalf("subscribe from %+v: got %v, want no error", opts.From, err)
	}
	t.Cleanup(func() { sub.Close() })
	return sub
}

// recvIDs receives n events and checks they are want, in order.
func recvIDs(t *testing.T, sub eventstore.Subscription, want []eventstore.RecordedEvent) {
	t.Helper()
	for i := range want {
		e, err := sub.Recv()
		if err != nil {
			t.Fatalf("recv event %d of %d: got %v, want %s at %d", i, len(want), err, want[i].EventID, want[i].Position)
		}
		if e.EventID != want[i].EventID || e.Position != want[i].Position {
			t.Fatalf("recv event %d: got %s at %d, want %s at %d", i, e.EventID, e.Position, want[i].EventID, want[i].Position)
		}
	}
}

func matching(evs []eventstore.RecordedEvent, f eventstore.Filter, after int64) []eventstore.RecordedEvent {
	var out []eventstore.RecordedEvent
	for _, e := range evs {
		if int64(e.Position) > after && f.Match(e.Stream, e.Type) {
			out = append(out, e)
		}
	}
	return out
}

// testSubscribe checks subscriptions from Start, At(p) (exclusive) and End,
// with and without a filter, across history and live events.
func (s *suite) testSubscribe(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)

	// A subscription from Start on an empty store gets the first events live.
	fromEmpty := subscribe(t, st, eventstore.SubscribeOptions{From: eventstore.Start})

	for i := range 5 {
		mustAppend(t, ctx, st, fmt.Sprintf("exhibit-%d", i%2), eventstore.Any, newEvent("ExhibitSealed"), newEvent("ExhibitWeighed"))
		mustAppend(t, ctx, st, "case-1", eventstore.Any, newEvent("CaseShared"))
	}
	history := readAll(t, ctx, st)
	exhibits := eventstore.Filter{StreamPrefixes: []string{"exhibit-"}}
	sealed := eventstore.Filter{EventTypes: []string{"ExhibitSealed", "CaseShared"}}
	p := int64(history[6].Position)

	type sub struct {
		name   string
		sub    eventstore.Subscription
		filter eventstore.Filter
		after  int64 // history after this position is expected; -1: all
	}
	subs := []sub{
		{"start on empty store", fromEmpty, eventstore.Filter{}, -1},
		{"start", subscribe(t, st, eventstore.SubscribeOptions{From: eventstore.Start}), eventstore.Filter{}, -1},
		{"at position 6", subscribe(t, st, eventstore.SubscribeOptions{From: eventstore.At(uint64(p))}), eventstore.Filter{}, p},
		{"at the last position", subscribe(t, st, eventstore.SubscribeOptions{From: eventstore.At(history[len(history)-1].Position)}), eventstore.Filter{}, int64(history[len(history)-1].Position)},
		{"start filtered by prefix", subscribe(t, st, eventstore.SubscribeOptions{From: eventstore.Start, Filter: exhibits}), exhibits, -1},
		{"at position 6 filtered by type", subscribe(t, st, eventstore.SubscribeOptions{From: eventstore.At(uint64(p)), Filter: sealed}), sealed, p},
		{"end", subscribe(t, st, eventstore.SubscribeOptions{From: eventstore.End}), eventstore.Filter{}, int64(history[len(history)-1].Position)},
		{"end filtered", subscribe(t, st, eventstore.SubscribeOptions{From: eventstore.End, Filter: exhibits}), exhibits, int64(history[len(history)-1].Position)},
	}
	// History first, as far as each subscription can have it.
	for _, c := range subs {
		t.Run(c.name+" history", func(t *testing.T) { recvIDs(t, c.sub, matching(history, c.filter, c.after)) })
	}
	// Then live events, in order, filtered.
	for i := range 4 {
		mustAppend(t, ctx, st, fmt.Sprintf("exhibit-%d", i%3), eventstore.Any, newEvent("ExhibitSealed"))
		mustAppend(t, ctx, st, "case-2", eventstore.Any, newEvent("CaseOpened"), newEvent("CaseShared"))
	}
	all := readAll(t, ctx, st)
	live := all[len(history):]
	for _, c := range subs {
		t.Run(c.name+" live", func(t *testing.T) { recvIDs(t, c.sub, matching(live, c.filter, -1)) })
	}
}

// testSubscribeCatchUpToLive appends from several goroutines while
// subscriptions start, so that they switch from catch-up to live under load:
// each must deliver every matching event exactly once, in order.
func (s *suite) testSubscribeCatchUpToLive(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)
	const (
		writers     = 6
		appends     = 60
		subscribers = 16
	)
	for i := range 20 {
		mustAppend(t, ctx, st, fmt.Sprintf("exhibit-h%d", i%4), eventstore.Any, newEvents("ExhibitSealed", 1+i%3)...)
	}
	history := readAll(t, ctx, st)
	filters := []eventstore.Filter{
		{},
		{StreamPrefixes: []string{"exhibit-"}},
		{EventTypes: []string{"TransferOffered"}},
		{StreamPrefixes: []string{"exhibit-w1", "case-"}, EventTypes: []string{"TransferOffered", "CaseOpened"}},
	}

	acked := make(chan struct{}, writers*appends)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for i := range appends {
				stream := fmt.Sprintf("exhibit-w%d-%d", w, rng.IntN(4))
				typ := "TransferOffered"
				switch rng.IntN(3) {
				case 0:
					stream = fmt.Sprintf("case-w%d", w)
					typ = "CaseOpened"
				case 1:
					typ = "ExhibitWeighed"
				}
				if _, err := st.Append(ctx, stream, eventstore.Any, newEvents(typ, 1+rng.IntN(3))...); err != nil {
					errs <- fmt.Errorf("writer %d append %d: got %v, want no error", w, i, err)
					return
				}
				acked <- struct{}{}
			}
		})
	}

	// Every subscriber receives until the sentinel, a last event that every
	// filter matches, appended once the load is over.
	sentinel := newEvent("TransferOffered")
	const sentinelStream = "exhibit-w1-sentinel"
	for _, f := range filters {
		if !f.Match(sentinelStream, sentinel.Type) {
			t.Fatalf("the sentinel does not match filter %+v", f)
		}
	}
	type received struct {
		evs []eventstore.RecordedEvent
		err error
	}
	collect := func(sub eventstore.Subscription, out chan<- received) {
		var r received
		for {
			e, err := sub.Recv()
			if err != nil {
				r.err = err
				break
			}
			r.evs = append(r.evs, e)
			if e.EventID == sentinel.ID {
				break
			}
		}
		out <- r
	}
	type started struct {
		sub    eventstore.Subscription
		got    chan received
		eager  bool
		filter eventstore.Filter
		from   eventstore.From
		name   string
		after  int64 // -1: from Start; otherwise history after this position
	}
	go func() {
		wg.Wait()
		close(acked)
	}()
	var subs []started
	for j := range subscribers {
		// Start each subscriber after a few more acknowledged appends, so
		// that they catch up from different points of the load.
		for range writers * appends / (subscribers + 1) {
			<-acked // closed once every writer is done
		}
		f := filters[j%len(filters)]
		from, name, after := eventstore.Start, "start", int64(-1)
		switch j % 3 {
		case 1:
			from, after = eventstore.At(history[j].Position), int64(history[j].Position)
			name = fmt.Sprintf("position %d", after)
		case 2:
			from, name = eventstore.End, "end"
		}
		c := started{
			sub:    subscribe(t, st, eventstore.SubscribeOptions{From: from, Filter: f}),
			got:    make(chan received, 1),
			eager:  (j/4)%2 == 0,
			filter: f, from: from, name: name, after: after,
		}
		// Eager subscribers receive during the load, so that they switch
		// from catch-up to live while writers commit; the others start
		// receiving after it, with everything queued or left to catch up.
		if c.eager {
			go collect(c.sub, c.got)
		}
		subs = append(subs, c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// A subscriber that repeats or skips an event cannot reach the
	// sentinel in step.
	mustAppend(t, ctx, st, sentinelStream, eventstore.NoStream, sentinel)
	for _, c := range subs {
		if !c.eager {
			go collect(c.sub, c.got)
		}
	}
	all := readAll(t, ctx, st)
	s.checkPositions(t, all)

	for j, c := range subs {
		mode := "lazy"
		if c.eager {
			mode = "eager"
		}
		t.Run(fmt.Sprintf("%s subscriber %d from %s filter %v %v", mode, j, c.name, c.filter.StreamPrefixes, c.filter.EventTypes), func(t *testing.T) {
			r := <-c.got
			got := r.evs
			if r.err != nil {
				t.Fatalf("recv after %d events: got %v, want the sentinel %s", len(got), r.err, sentinel.ID)
			}
			want := matching(all, c.filter, c.after)
			if c.from.IsEnd() {
				// Live only: the subscriber saw a suffix of the order,
				// starting wherever the store's end was when it subscribed.
				if len(got) > len(want) {
					t.Fatalf("got %d events, want at most the %d matching ones", len(got), len(want))
				}
				want = want[len(want)-len(got):]
			}
			if len(got) != len(want) {
				t.Fatalf("got %d events, want %d: %s", len(got), len(want), firstDifference(got, want))
			}
			for i := range got {
				if got[i].EventID != want[i].EventID || got[i].Position != want[i].Position {
					t.Fatalf("got a skip or a repeat: %s", firstDifference(got, want))
				}
			}
		})
	}
}

// firstDifference describes where two event sequences first differ.
func firstDifference(got, want []eventstore.RecordedEvent) string {
	for i := range min(len(got), len(want)) {
		if got[i].EventID != want[i].EventID || got[i].Position != want[i].Position {
			return fmt.Sprintf("event %d is %s at %d, want %s at %d", i, got[i].EventID, got[i].Position, want[i].EventID, want[i].Position)
		}
	}
	return fmt.Sprintf("same first %d events", min(len(got), len(want)))
}

// testSubscribeEnding checks how a subscription ends: on its context, on its
// Close, and with its store.
func (s *suite) testSubscribeEnding(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)
	mustAppend(t, ctx, st, "exhibit-1", eventstore.NoStream, newEvents("ExhibitSealed", 3)...)

	t.Run("context cancelled", func(t *testing.T) {
		sctx, cancel := context.WithCancel(ctx)
		sub, err := st.SubscribeAll(sctx, eventstore.SubscribeOptions{From: eventstore.End})
		if err != nil {
			t.Fatalf("subscribe: got %v, want no error", err)
		}
		defer sub.Close()
		cancel()
		if err := recvErr(t, sub); !errors.Is(err, context.Canceled) {
			t.Fatalf("recv after cancel: got %v, want %v", err, context.Canceled)
		}
	})

	t.Run("context cancelled while waiting", func(t *testing.T) {
		sctx, cancel := context.WithCancel(ctx)
		sub, err := st.SubscribeAll(sctx, eventstore.SubscribeOptions{From: eventstore.Start})
		if err != nil {
			t.Fatalf("subscribe: got %v, want no error", err)
		}
		defer sub.Close()
		recvIDs(t, sub, readAll(t, ctx, st))
		// Recv is now waiting for a live event; cancelling must end it.
		done := make(chan error, 1)
		go func() { _, err := sub.Recv(); done <- err }()
		cancel()
		if err := waitErr(t, done); !errors.Is(err, context.Canceled) {
			t.Fatalf("blocked recv after cancel: got %v, want %v", err, context.Canceled)
		}
	})

	t.Run("subscription closed", func(t *testing.T) {
		sub := subscribe(t, st, eventstore.SubscribeOptions{From: eventstore.End})
		done := make(chan error, 1)
		go func() { _, err := sub.Recv(); done <- err }()
		if err := sub.Close(); err != nil {
			t.Fatalf("close subscription: got %v, want no error", err)
		}
		if err := waitErr(t, done); !errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("blocked recv after close: got %v, want %v", err, eventstore.ErrClosed)
		}
		if err := recvErr(t, sub); !errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("recv after close: got %v, want %v", err, eventstore.ErrClosed)
		}
	})

	t.Run("store closed", func(t *testing.T) {
		st := s.open(t)
		mustAppend(t, ctx, st, "exhibit-1", eventstore.NoStream, newEvent("ExhibitSealed"))
		sub := subscribe(t, st, eventstore.SubscribeOptions{From: eventstore.Start})
		recvIDs(t, sub, readAll(t, ctx, st))
		done := make(chan error, 1)
		go func() { _, err := sub.Recv(); done <- err }()
		if err := st.Close(); err != nil {
			t.Fatalf("close store: got %v, want no error", err)
		}
		if err := waitErr(t, done); !errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("recv on a subscription of a closed store: got %v, want %v", err, eventstore.ErrClosed)
		}
		if _, err := st.SubscribeAll(ctx, eventstore.SubscribeOptions{From: eventstore.Start}); !errors.Is(err, eventstore.ErrClosed) {
			t.Fatalf("subscribe to a closed store: got %v, want %v", err, eventstore.ErrClosed)
		}
	})
}

// recvErr calls Recv, which must fail rather than deliver or block.
func recvErr(t *testing.T, sub eventstore.Subscription) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		e, err := sub.Recv()
		if err == nil {
			err = fmt.Errorf("storetest: got event %s at %d, want an error", e.EventID, e.Position)
		}
		done <- err
	}()
	return waitErr(t, done)
}

// waitErr waits for a Recv's outcome; a Recv still blocked after
// recvTimeout fails the test.
func waitErr(t *testing.T, done <-chan error) error {
	t.Helper()
	timer := time.NewTimer(recvTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		t.Fatalf("recv still blocked after %v, want it to return", recvTimeout)
		return nil
	}
}
