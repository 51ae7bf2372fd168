package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
)

// testExpectedRevision checks Any, NoStream, StreamExists and Exact(n) on a
// new and on an existing stream, and that a conflict writes nothing.
func (s *suite) testExpectedRevision(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)

	// On a stream that does not exist.
	const fresh = "exhibit-fresh"
	for _, exp := range []eventstore.ExpectedRevision{eventstore.StreamExists, eventstore.Exact(0), eventstore.Exact(3)} {
		_, err := st.Append(ctx, fresh, exp, newEvent("ExhibitRegistered"))
		wantWrongRevision(t, err, fresh, exp, 0, false)
	}
	wantStreamNotFound(t, ctx, st, fresh)
	wantGlobalLen(t, ctx, st, 0)

	const ex = "exhibit-1"
	if res := mustAppend(t, ctx, st, ex, eventstore.NoStream, newEvent("ExhibitRegistered")); res.Revision != 0 {
		t.Fatalf("first append with NoStream: got revision %d, want 0", res.Revision)
	}
	// On a stream at revision 0.
	for _, c := range []struct {
		exp    eventstore.ExpectedRevision
		actual uint64
	}{{eventstore.NoStream, 0}, {eventstore.Exact(1), 0}, {eventstore.Exact(7), 0}} {
		_, err := st.Append(ctx, ex, c.exp, newEvent("ExhibitSealed"), newEvent("ExhibitWeighed"))
		wantWrongRevision(t, err, ex, c.exp, c.actual, true)
	}
	if got := len(readStream(t, ctx, st, ex)); got != 1 {
		t.Fatalf("events in %s after conflicts: got %d, want 1", ex, got)
	}
	wantGlobalLen(t, ctx, st, 1)

	steps := []struct {
		exp     eventstore.ExpectedRevision
		n       int
		wantRev uint64
	}{
		{eventstore.Exact(0), 1, 1},
		{eventstore.StreamExists, 2, 3},
		{eventstore.Any, 1, 4},
		{eventstore.Exact(4), 3, 7},
	}
	for _, step := range steps {
		res := mustAppend(t, ctx, st, ex, step.exp, newEvents("ExhibitWeighed", step.n)...)
		if res.Revision != step.wantRev {
			t.Fatalf("append of %d events expecting %v: got revision %d, want %d", step.n, step.exp, res.Revision, step.wantRev)
		}
	}
	// A stale Exact after the stream moved on.
	_, err := st.Append(ctx, ex, eventstore.Exact(4), newEvent("ExhibitWeighed"))
	wantWrongRevision(t, err, ex, eventstore.Exact(4), 7, true)
	_, err = st.Append(ctx, ex, eventstore.NoStream, newEvent("ExhibitWeighed"))
	wantWrongRevision(t, err, ex, eventstore.NoStream, 7, true)
	if got := len(readStream(t, ctx, st, ex)); got != 8 {
		t.Fatalf("events in %s: got %d, want 8", ex, got)
	}
	wantGlobalLen(t, ctx, st, 8)

	// Any on a stream that does not exist creates it.
	if res := mustAppend(t, ctx, st, "exhibit-any", eventstore.Any, newEvents("ExhibitRegistered", 2)...); res.Revision != 1 {
		t.Fatalf("append of 2 events with Any to a new stream: got revision %d, want 1", res.Revision)
	}
	// Streams are independent: another stream's revision does not count.
	if res := mustAppend(t, ctx, st, "exhibit-2", eventstore.NoStream, newEvent("ExhibitRegistered")); res.Revision != 0 {
		t.Fatalf("first append to exhibit-2: got revision %d, want 0", res.Revision)
	}
	wantGlobalLen(t, ctx, st, 11)
}

// testRacingExactRevisions makes N goroutines append to one stream with the
// same Exact revision, round after round: exactly one wins each round and
// every other one gets the conflict with the winner's revision.
func (s *suite) testRacingExactRevisions(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)
	const (
		writers = 24
		rounds  = 20
		stream  = "exhibit-raced"
	)
	winners := make([]uuid.UUID, rounds)
	for r := range rounds {
		exp := eventstore.Exact(uint64(r - 1))
		if r == 0 {
			exp = eventstore.NoStream
		}
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			evs     = newEvents("CustodyClaimed", writers)
			results = make([]eventstore.AppendResult, writers)
			errs    = make([]error, writers)
		)
		for w := range writers {
			wg.Go(func() {
				<-start
				results[w], errs[w] = st.Append(ctx, stream, exp, evs[w])
			})
		}
		close(start)
		wg.Wait()
		won := -1
		for w := range writers {
			if errs[w] == nil {
				if won >= 0 {
					t.Fatalf("round %d: writers %d and %d both won with %v", r, won, w, exp)
				}
				won = w
				if results[w].Revision != uint64(r) {
					t.Fatalf("round %d: winner's revision: got %d, want %d", r, results[w].Revision, r)
				}
				continue
			}
			wantWrongRevision(t, errs[w], stream, exp, uint64(r), true)
		}
		if won < 0 {
			t.Fatalf("round %d: got no winner among %d writers expecting %v, want exactly one", r, writers, exp)
		}
		winners[r] = evs[won].ID
	}
	got := readStream(t, ctx, st, stream)
	checkSameEvents(t, "raced stream", got, winners)
	for i := range got {
		if got[i].Revision != uint64(i) {
			t.Fatalf("raced stream event %d: got revision %d, want %d", i, got[i].Revision, i)
		}
	}
	wantGlobalLen(t, ctx, st, rounds)
}

// testRacingRetryOnConflict runs writers that append with Exact revisions
// freely, learning the stream's head from each conflict: every conflict
// reports a revision past the expected one, every success has its own
// revision, and the stream ends dense with exactly the winners' events.
func (s *suite) testRacingRetryOnConflict(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)
	const (
		writers = 16
		total   = 400
		stream  = "exhibit-contended"
	)
	var (
		mu      sync.Mutex
		byRev   = make(map[uint64]uuid.UUID)
		wg      sync.WaitGroup
		failure = make(chan error, writers)
	)
	for w := range writers {
		wg.Go(func() {
			exp := eventstore.NoStream
			var head uint64
			exists := false
			for {
				mu.Lock()
				done := len(byRev) >= total
				mu.Unlock()
				if done {
					return
				}
				ev := newEvent("CustodyClaimed")
				res, err := st.Append(ctx, stream, exp, ev)
				var wre *eventstore.WrongRevisionError
				switch {
				case err == nil:
					want := uint64(0)
					if exists {
						want = head + 1
					}
					if res.Revision != want {
						failure <- fmt.Errorf("writer %d expecting %v: got revision %d, want %d", w, exp, res.Revision, want)
						return
					}
					mu.Lock()
					if prev, dup := byRev[res.Revision]; dup {
						mu.Unlock()
						failure <- fmt.Errorf("revision %d won twice: by %s and by %s", res.Revision, prev, ev.ID)
						return
					}
					byRev[res.Revision] = ev.ID
					mu.Unlock()
					head, exists = res.Revision, true
				case errors.As(err, &wre):
					if !wre.Exists {
						failure <- fmt.Errorf("writer %d expecting %v: got conflict saying the stream does not exist, want it to exist", w, exp)
						return
					}
					if exists && wre.Actual <= head {
						failure <- fmt.Errorf("writer %d expecting %v: got conflict with actual revision %d, want past %d", w, exp, wre.Actual, head)
						return
					}
					head, exists = wre.Actual, true
				default:
					failure <- fmt.Errorf("writer %d expecting %v: got %v, want success or *WrongRevisionError", w, exp, err)
					return
				}
				exp = eventstore.Exact(head)
			}
		})
	}
	wg.Wait()
	close(failure)
	for err := range failure {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	got := readStream(t, ctx, st, stream)
	if len(got) != len(byRev) {
		t.Fatalf("contended stream: got %d events, want %d acknowledged", len(got), len(byRev))
	}
	for i := range got {
		if got[i].Revision != uint64(i) {
			t.Fatalf("contended stream event %d: got revision %d, want %d", i, got[i].Revision, i)
		}
		if want := byRev[uint64(i)]; got[i].EventID != want {
			t.Fatalf("contended stream revision %d: got id %s, want the winner's %s", i, got[i].EventID, want)
		}
	}
}
