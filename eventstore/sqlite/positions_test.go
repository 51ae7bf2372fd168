package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
)

// TestReadPositions: ReadPositions returns the events ReadAll returns at
// the same positions, in the order asked (repeats included); a position
// the store does not have is an error naming it; nothing asked is nothing
// read; a closed store refuses.
func TestReadPositions(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	for i := 0; i < 30; i++ {
		ev := event(fmt.Sprint(i))
		ev.Actor.User = fmt.Sprintf("u-%d", i%3)
		if _, err := s.Append(ctx, fmt.Sprintf("exhibit-%d", i%4), eventstore.Any, ev); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ask := range [][]uint64{
		{0},
		{29, 3, 17, 0, 4},
		{5, 5, 2, 5},
		{12, 13, 14, 15},
	} {
		got, err := s.ReadPositions(ctx, ask)
		if err != nil {
			t.Fatalf("read positions %v: %v", ask, err)
		}
		if len(got) != len(ask) {
			t.Fatalf("read positions %v: got %d events, want %d", ask, len(got), len(ask))
		}
		for i, p := range ask {
			if !reflect.DeepEqual(got[i], all[p]) {
				t.Fatalf("read positions %v: item %d:\ngot  %+v\nwant %+v", ask, i, got[i], all[p])
			}
		}
	}
	if got, err := s.ReadPositions(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("no position: got %d events, %v; want none", len(got), err)
	}
	for _, ask := range [][]uint64{{30}, {1, 2, 31}, {1 << 63}} {
		_, err := s.ReadPositions(ctx, ask)
		missing := fmt.Sprint(ask[len(ask)-1])
		if !errors.Is(err, sqlite.ErrPositionNotFound) || !strings.Contains(err.Error(), "position "+missing) {
			t.Fatalf("read positions %v: got %v, want ErrPositionNotFound naming position %s", ask, err, missing)
		}
	}
	s.Close()
	if _, err := s.ReadPositions(ctx, []uint64{1}); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("closed store: got %v, want ErrClosed", err)
	}
}
