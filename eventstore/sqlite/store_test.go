package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
)

func TestStore_AppendRead(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	res, err := s.Append(ctx, "exhibit-1", eventstore.NoStream, event("a"), event("b"))
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if res != (eventstore.AppendResult{Revision: 1, Position: 1}) {
		t.Fatalf("append: got %+v, want revision 1 position 1", res)
	}
	res, err = s.Append(ctx, "exhibit-2", eventstore.Any, event("c"))
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if res != (eventstore.AppendResult{Revision: 0, Position: 2}) {
		t.Fatalf("append: got %+v, want revision 0 position 2", res)
	}
	evs, err := s.ReadStream(ctx, "exhibit-1", eventstore.ReadOptions{})
	if err != nil {
		t.Fatalf("read stream: %v", err)
	}
	if len(evs) != 2 {
		t.Fatalf("read stream: got %d events, want 2", len(evs))
	}
	for i := range evs {
		want := event([]string{"a", "b"}[i])
		if !eventstore.SameContent(&evs[i], &want) {
			t.Errorf("event %d: got %+v, want the content of %+v", i, evs[i], want)
		}
	}
	envs := []ledger.Envelope{evs[0].Envelope, evs[1].Envelope}
	if err := ledger.VerifyChain(envs, []ledger.Hash{evs[0].Hash, evs[1].Hash}); err != nil {
		t.Fatalf("verify chain: %v", err)
	}
	all, err := s.ReadAll(ctx, eventstore.ReadOptions{Direction: eventstore.Backwards, From: eventstore.End})
	if err != nil {
		t.Fatalf("read all: %v", err)
	}
	if len(all) != 3 || all[0].Position != 2 || all[2].Position != 0 {
		t.Fatalf("read all backwards: got %d events, want positions 2,1,0", len(all))
	}
	if _, err := s.ReadStream(ctx, "exhibit-9", eventstore.ReadOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("read missing stream: got %v, want ErrStreamNotFound", err)
	}
}

// A subscription reads history in pages: however long the history and
// however slow the subscriber, it holds at most one page in memory.
func TestSubscribe_holdsOnePage(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	const n = 3*sqlite.SubscriptionPage + 7
	evs := make([]eventstore.EventData, n)
	for i := range evs {
		evs[i] = event(fmt.Sprintf("page-%d", i))
	}
	if _, err := s.Append(ctx, "exhibit-1", eventstore.NoStream, evs...); err != nil {
		t.Fatalf("append: %v", err)
	}
	sub, err := s.SubscribeAll(ctx, eventstore.SubscribeOptions{From: eventstore.Start})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	for i := range n {
		e, err := sub.Recv()
		if err != nil {
			t.Fatalf("recv %d: %v", i, err)
		}
		if e.Position != uint64(i) {
			t.Fatalf("recv %d: got position %d", i, e.Position)
		}
		if b := sqlite.Buffered(sub); b >= sqlite.SubscriptionPage {
			t.Fatalf("after %d events the subscription holds %d, want fewer than %d", i+1, b, sqlite.SubscriptionPage)
		}
	}
}
