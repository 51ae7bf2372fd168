package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
)

// holdWriter makes the writer block before its first group until the
// returned release is called, and records the size of every group.
func holdWriter(t *testing.T, s *sqlite.Store) (release func(), sizes func() []int) {
	t.Helper()
	gate := make(chan struct{})
	var (
		mu    sync.Mutex
		seen  []int
		first = true
	)
	sqlite.SetGroupHook(s, func(n int) {
		mu.Lock()
		seen = append(seen, n)
		wait := first
		first = false
		mu.Unlock()
		if wait {
			<-gate
		}
	})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	return release, func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), seen...)
	}
}

// waitQueued waits until n appends wait for the writer.
func waitQueued(t *testing.T, s *sqlite.Store, n int) {
	t.Helper()
	for sqlite.QueueLen(s) < n {
		runtime.Gosched()
	}
}

func TestGroupCommit_conflictKeepsNeighbours(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	if _, err := s.Append(ctx, "exhibit-taken", eventstore.NoStream, event("taken-0")); err != nil {
		t.Fatalf("setup append: %v", err)
	}
	if _, err := s.Append(ctx, "exhibit-reused", eventstore.NoStream, event("reused-0")); err != nil {
		t.Fatalf("setup append: %v", err)
	}
	if _, err := s.Append(ctx, "exhibit-retry", eventstore.NoStream, event("retry-0")); err != nil {
		t.Fatalf("setup append: %v", err)
	}
	release, sizes := holdWriter(t, s)

	// The first append occupies the writer, so that all the others queue
	// up and are decided in one group.
	blocker := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "exhibit-blocker", eventstore.NoStream, event("blocker"))
		blocker <- err
	}()
	for len(sizes()) == 0 {
		runtime.Gosched()
	}

	const good = 16
	type result struct {
		name string
		res  eventstore.AppendResult
		err  error
	}
	results := make(chan result, good+3)
	appendAsync := func(name, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.EventData) {
		go func() {
			res, err := s.Append(ctx, stream, exp, evs...)
			results <- result{name, res, err}
		}()
	}
	for i := range good {
		appendAsync(fmt.Sprintf("good-%d", i), fmt.Sprintf("exhibit-g%d", i), eventstore.NoStream,
			event(fmt.Sprintf("g%d-0", i)), event(fmt.Sprintf("g%d-1", i)))
	}
	appendAsync("wrong-revision", "exhibit-taken", eventstore.Exact(7), event("taken-x"))
	changed := event("reused-0")
	changed.Payload = []byte(`{"other":"content"}`)
	appendAsync("id-reused", "exhibit-reused", eventstore.Any, changed)
	// The same event twice in one group: the second is an idempotent retry.
	appendAsync("retry", "exhibit-retry", eventstore.Exact(0), event("retry-1"))
	waitQueued(t, s, good+3)
	appendAsync("retry", "exhibit-retry", eventstore.Exact(0), event("retry-1"))
	waitQueued(t, s, good+4)
	release()
	if err := <-blocker; err != nil {
		t.Fatalf("blocker append: %v", err)
	}

	var retries []eventstore.AppendResult
	for range good + 4 {
		r := <-results
		switch {
		case r.name == "wrong-revision":
			var wre *eventstore.WrongRevisionError
			if !errors.As(r.err, &wre) || !wre.Exists || wre.Actual != 0 {
				t.Errorf("%s: got %v, want a wrong revision error with actual revision 0", r.name, r.err)
			}
		case r.name == "id-reused":
			if !errors.Is(r.err, eventstore.ErrIDReused) {
				t.Errorf("%s: got %v, want %v", r.name, r.err, eventstore.ErrIDReused)
			}
		case r.name == "retry":
			if r.err != nil {
				t.Errorf("%s: got %v, want no error", r.name, r.err)
			}
			retries = append(retries, r.res)
		default:
			if r.err != nil || r.res.Revision != 1 {
				t.Errorf("%s: got %+v, %v, want revision 1 and no error", r.name, r.res, r.err)
			}
		}
	}
	if len(retries) == 2 && retries[0] != retries[1] {
		t.Errorf("retry in the same group: got results %+v and %+v, want the same", retries[0], retries[1])
	}
	if got := sizes(); len(got) != 2 || got[1] != good+4 {
		t.Fatalf("group sizes: got %v, want [1 %d] (all appends decided in one group)", got, good+4)
	}

	all, err := s.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil {
		t.Fatalf("read all: %v", err)
	}
	// 3 setup events, the blocker, 2 events per good append, one retried event.
	if want := 4 + 2*good + 1; len(all) != want {
		t.Fatalf("read all: got %d events, want %d", len(all), want)
	}
	for i, e := range all {
		if e.Position != uint64(i) {
			t.Fatalf("read all: event %d at position %d, want dense positions", i, e.Position)
		}
	}
	evs, err := s.ReadStream(ctx, "exhibit-reused", eventstore.ReadOptions{})
	if err != nil || len(evs) != 1 || string(evs[0].Payload) != string(event("reused-0").Payload) {
		t.Fatalf("exhibit-reused: got %d events (%v), want the original event only", len(evs), err)
	}
}

func TestAppend_cancelledContextWritesNothing(t *testing.T) {
	s := openStore(t, "")
	ctx := context.Background()

	t.Run("before the call", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Append(cctx, "exhibit-c1", eventstore.Any, event("c1")); !errors.Is(err, context.Canceled) {
			t.Fatalf("append: got %v, want %v", err, context.Canceled)
		}
		wantNoStream(t, s, "exhibit-c1")
	})

	t.Run("while queued", func(t *testing.T) {
		release, sizes := holdWriter(t, s)
		blocker := make(chan error, 1)
		go func() {
			_, err := s.Append(ctx, "exhibit-blocker", eventstore.Any, event("c-blocker"))
			blocker <- err
		}()
		for len(sizes()) == 0 {
			runtime.Gosched()
		}
		cctx, cancel := context.WithCancel(ctx)
		got := make(chan error, 1)
		go func() {
			_, err := s.Append(cctx, "exhibit-c2", eventstore.Any, event("c2"))
			got <- err
		}()
		waitQueued(t, s, 1)
		cancel()
		if err := <-got; !errors.Is(err, context.Canceled) {
			t.Fatalf("append: got %v, want %v", err, context.Canceled)
		}
		release()
		if err := <-blocker; err != nil {
			t.Fatalf("blocker: %v", err)
		}
		// An append queued after the cancelled one is committed after it
		// would have been: once it is readable, the cancelled one would be
		// too.
		if _, err := s.Append(ctx, "exhibit-after", eventstore.Any, event("c-after")); err != nil {
			t.Fatalf("append after: %v", err)
		}
		wantNoStream(t, s, "exhibit-c2")
	})
}

func wantNoStream(t *testing.T, s *sqlite.Store, stream string) {
	t.Helper()
	evs, err := s.ReadStream(context.Background(), stream, eventstore.ReadOptions{})
	if !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("read %s: got %d events and %v, want %v", stream, len(evs), err, eventstore.ErrStreamNotFound)
	}
}
