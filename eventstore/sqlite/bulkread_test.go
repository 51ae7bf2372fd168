package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

// TestReadRange: ReadRange returns what ReadAll returns for the same
// positions, on an open store, including appends made after an earlier
// call; empty and out-of-range ranges are empty; a closed store refuses.
func TestReadRange(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	appendSome := func(from, n int) {
		for i := from; i < from+n; i++ {
			ev := event(fmt.Sprint(i))
			ev.Actor.User = fmt.Sprintf("u-%d", i%3)
			if i%4 == 0 {
				ev.Payload = []byte(`{}`)
			}
			if _, err := s.Append(ctx, fmt.Sprintf("exhibit-%d", i%5), eventstore.Any, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(from, to uint64) {
		t.Helper()
		got, err := s.ReadRange(ctx, from, to, nil)
		if err != nil {
			t.Fatalf("read range [%d, %d): %v", from, to, err)
		}
		all, err := s.ReadAll(ctx, eventstore.ReadOptions{From: eventstore.At(from)})
		if err != nil {
			t.Fatal(err)
		}
		var want []eventstore.RecordedEvent
		for _, e := range all {
			if e.Position < to {
				want = append(want, e)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("read range [%d, %d): got %d events, want %d", from, to, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("read range [%d, %d): event %d:\ngot  %+v\nwant %+v", from, to, i, got[i], want[i])
			}
		}
		lean, err := s.ReadRangeLean(ctx, from, to, nil)
		if err != nil {
			t.Fatalf("read range lean [%d, %d): %v", from, to, err)
		}
		if len(lean) != len(want) {
			t.Fatalf("read range lean [%d, %d): got %d events, want %d", from, to, len(lean), len(want))
		}
		for i := range want {
			w := want[i]
			if w.CorrelationID == (uuid.UUID{}) || w.Hash == (ledger.Hash{}) {
				t.Fatalf("event at %d: the test wants a correlation id and a hash to leave out", w.Position)
			}
			w.CorrelationID, w.CausationID, w.PayloadDigest, w.PrevHash, w.Hash = uuid.UUID{}, uuid.UUID{}, ledger.Hash{}, ledger.Hash{}, ledger.Hash{}
			if !reflect.DeepEqual(lean[i], w) {
				t.Fatalf("read range lean [%d, %d): event %d:\ngot  %+v\nwant %+v", from, to, i, lean[i], w)
			}
		}
	}
	appendSome(0, 40)
	check(0, 40)
	check(7, 23)
	check(30, 1000)
	check(40, 50)
	check(5, 5)
	appendSome(40, 10) // appended after the first reads: seen by the next
	check(35, 50)
	prefix := make([]eventstore.RecordedEvent, 1)
	got, err := s.ReadRange(ctx, 0, 3, prefix)
	if err != nil || len(got) != 4 || got[1].Position != 0 {
		t.Fatalf("read range appends to dst: got %d events (err %v)", len(got), err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.ReadRange(cctx, 0, 10, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: got %v, want context.Canceled", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadRange(ctx, 0, 10, nil); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("closed: got %v, want ErrClosed", err)
	}
}
