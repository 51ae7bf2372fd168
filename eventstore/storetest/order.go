package storetest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
)

// testGlobalOrder runs concurrent writers and checks that the global order
// is commit order: an append acknowledged before another one started comes
// first, each writer's appends appear in the order they were acknowledged,
// an append's events are adjacent, and AppendResult.Position is the position
// of the append's last event.
func (s *suite) testGlobalOrder(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)
	const (
		writers = 8
		appends = 40
	)
	type ack struct {
		stream string
		ids    []uuid.UUID
		res    eventstore.AppendResult
		// ackedBefore is the highest position acknowledged to anyone when
		// this append started (-1: none yet).
		ackedBefore int64
	}
	var (
		maxAcked atomic.Int64
		wg       sync.WaitGroup
		acks     = make([][]ack, writers)
		errs     = make(chan error, writers)
	)
	maxAcked.Store(-1)
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range appends {
				// Half the writers share streams (with Any), the others own
				// theirs (with Exact), so that commits interleave both ways.
				stream := fmt.Sprintf("seizure-shared-%d", rng.IntN(3))
				exp := eventstore.Any
				if w%2 == 1 {
					stream = fmt.Sprintf("seizure-own-%d", w)
					exp = eventstore.Exact(uint64(i*3 - 1))
					if i == 0 {
						exp = eventstore.NoStream
					}
				}
				n := 1 + rng.IntN(3)
				if w%2 == 1 {
					n = 3 // keeps the own stream's revisions predictable
				}
				evs := newEvents("SeizureRecorded", n)
				before := maxAcked.Load()
				res, err := st.Append(ctx, stream, exp, evs...)
				if err != nil {
					errs <- fmt.Errorf("writer %d append %d to %s: got %v, want no error", w, i, stream, err)
					return
				}
				for {
					cur := maxAcked.Load()
					if int64(res.Position) <= cur || maxAcked.CompareAndSwap(cur, int64(res.Position)) {
						break
					}
				}
				acks[w] = append(acks[w], ack{stream: stream, ids: ids(evs), res: res, ackedBefore: before})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	all := readAll(t, ctx, st)
	s.checkPositions(t, all)
	index := make(map[uuid.UUID]int, len(all))
	for i := range all {
		if _, dup := index[all[i].EventID]; dup {
			t.Fatalf("event %s: got it twice in the global order, want once", all[i].EventID)
		}
		index[all[i].EventID] = i
	}
	total := 0
	for w := range writers {
		last := -1
		for i, a := range acks[w] {
			total += len(a.ids)
			first, ok := index[a.ids[0]]
			if !ok {
				t.Fatalf("writer %d append %d: event %s acknowledged but missing from the global order", w, i, a.ids[0])
			}
			if first <= last {
				t.Fatalf("writer %d append %d: got it at global index %d, after its previous append at %d, want later", w, i, first, last)
			}
			for j, id := range a.ids {
				k := first + j
				if k >= len(all) || all[k].EventID != id {
					t.Fatalf("writer %d append %d: event %d (%s) is not adjacent to the append's first event at global index %d", w, i, j, id, first)
				}
				if all[k].Stream != a.stream {
					t.Fatalf("event %s: got stream %q, want %q", id, all[k].Stream, a.stream)
				}
			}
			last = first + len(a.ids) - 1
			if all[last].Position != a.res.Position {
				t.Fatalf("writer %d append %d: AppendResult.Position %d, want %d (the position of its last event)", w, i, a.res.Position, all[last].Position)
			}
			if all[last].Revision != a.res.Revision {
				t.Fatalf("writer %d append %d: AppendResult.Revision %d, want %d (the revision of its last event)", w, i, a.res.Revision, all[last].Revision)
			}
			if a.ackedBefore >= 0 && all[first].Position <= uint64(a.ackedBefore) {
				t.Fatalf("writer %d append %d: got position %d, want after %d, which was acknowledged before the append started", w, i, all[first].Position, a.ackedBefore)
			}
		}
	}
	if total != len(all) {
		t.Fatalf("global order: got %d events, want the %d acknowledged", len(all), total)
	}
}

// testPagingUnderLoad pages through the global order with ReadAll while
// writers commit, as a projection does: the pages, put end to end, must be
// exactly the final global order (an event never shows up later at a
// position a reader has already passed).
func (s *suite) testPagingUnderLoad(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)
	const (
		writers = 6
		appends = 60
		page    = 25
	)
	mustAppend(t, ctx, st, "exhibit-first", eventstore.NoStream, newEvent("ExhibitRegistered"))
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range appends {
				stream := fmt.Sprintf("exhibit-p%d-%d", w, i%5)
				if _, err := st.Append(ctx, stream, eventstore.Any, newEvents("ExhibitWeighed", 1+i%3)...); err != nil {
					errs <- fmt.Errorf("writer %d append %d: got %v, want no error", w, i, err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()

	// Read from the last position seen (inclusive, which works for sparse
	// positions too) and drop the event already seen.
	var seen []eventstore.RecordedEvent
	poll := func() int {
		t.Helper()
		opts := eventstore.ReadOptions{Direction: eventstore.Forwards, From: eventstore.Start, Count: page}
		if len(seen) > 0 {
			opts.From, opts.Count = eventstore.At(seen[len(seen)-1].Position), page+1
		}
		got, err := st.ReadAll(ctx, opts)
		if err != nil {
			t.Fatalf("read a page: got %v, want no error", err)
		}
		if len(seen) > 0 {
			if len(got) == 0 || got[0].EventID != seen[len(seen)-1].EventID {
				t.Fatalf("read from position %d: got %v, want the event last seen there first", seen[len(seen)-1].Position, recordedIDs(got))
			}
			got = got[1:]
		}
		seen = append(seen, got...)
		return len(got)
	}
	for loaded := false; ; {
		select {
		case <-done:
			loaded = true
		default:
		}
		if n := poll(); n == 0 && loaded {
			break
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := readAll(t, ctx, st)
	if len(seen) != len(all) {
		t.Fatalf("paging under load: got %d events, want %d: %s", len(seen), len(all), firstDifference(seen, all))
	}
	for i := range all {
		if seen[i].EventID != all[i].EventID || seen[i].Position != all[i].Position {
			t.Fatalf("paging under load skipped or repeated: %s", firstDifference(seen, all))
		}
	}
}
