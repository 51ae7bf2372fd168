package replica

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
)

// tamperStore is a primary whose subscriptions deliver altered events:
// what a compromised or corrupted KurrentDB would send the notary.
type tamperStore struct {
	eventstore.Store
	// tamper alters an event; drop=true removes it from the order.
	tamper func(e *eventstore.RecordedEvent) (drop bool)
}

func (t *tamperStore) SubscribeAll(ctx context.Context, opts eventstore.SubscribeOptions) (eventstore.Subscription, error) {
	sub, err := t.Store.SubscribeAll(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &tamperSub{Subscription: sub, tamper: t.tamper}, nil
}

type tamperSub struct {
	eventstore.Subscription
	tamper func(e *eventstore.RecordedEvent) bool
}

func (s *tamperSub) Recv() (eventstore.RecordedEvent, error) {
	for {
		e, err := s.Subscription.Recv()
		if err != nil || !s.tamper(&e) {
			return e, err
		}
	}
}

func TestTamperedEventStopsTheNotary(t *testing.T) {
	for _, tc := range []struct {
		name string
		// alter changes the event; it returns true to drop it.
		alter func(e *eventstore.RecordedEvent) bool
		// blame says which event the error must name: the altered one, or
		// the one after it in its stream.
		blameNext bool
		reason    string
	}{
		{"bad hash", func(e *eventstore.RecordedEvent) bool { e.Hash[3] ^= 1; return false }, false, "the hash ledger.Link computes"},
		{"payload changed", func(e *eventstore.RecordedEvent) bool { e.Payload = []byte(`{"n":-1}`); return false }, false, "payload digest"},
		{"chain broken, hash recomputed", func(e *eventstore.RecordedEvent) bool {
			e.PrevHash[0] ^= 1
			h, err := ledger.Link(&e.Envelope, e.PrevHash)
			if err != nil {
				panic(err)
			}
			e.Hash = h
			return false
		}, false, "the chain is broken"},
		{"event removed", func(*eventstore.RecordedEvent) bool { return true }, true, "does not continue the stream"},
		{"revision changed, hash recomputed", func(e *eventstore.RecordedEvent) bool {
			e.Revision += 5
			h, _ := ledger.Link(&e.Envelope, e.PrevHash)
			e.Hash = h
			return false
		}, false, "does not continue the stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			dir := t.TempDir()
			primary := openSQLite(t, filepath.Join(dir, "primary.db"))
			var ids []uuid.UUID
			for i := range 6 {
				e := newEvent(i)
				ids = append(ids, e.ID)
				if _, err := primary.Append(ctx, []string{"exhibit-a", "exhibit-b"}[i%2], eventstore.Any, e); err != nil {
					t.Fatal(err)
				}
			}
			victim := ids[2] // exhibit-a@1
			blamed := victim
			if tc.blameNext {
				blamed = ids[4] // exhibit-a@2
			}
			ts := &tamperStore{Store: primary, tamper: func(e *eventstore.RecordedEvent) bool {
				if e.EventID == victim {
					return tc.alter(e)
				}
				return false
			}}
			local := openSQLite(t, filepath.Join(dir, "replica.db"))
			s, err := Open(ctx, ts, local, Options{BatchEvents: 1, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })

			err = s.waitFor(ctx, 5)
			if !errors.Is(err, ErrNotaryStopped) {
				t.Fatalf("wait for the notary: got %v, want %v", err, ErrNotaryStopped)
			}
			var re *sqlite.ReplicationError
			if !errors.As(err, &re) || re.EventID != blamed {
				t.Fatalf("notary error: got %v, want a *sqlite.ReplicationError naming %s", err, blamed)
			}
			if !strings.Contains(err.Error(), blamed.String()) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("notary error: got %q, want it to name %s and say %q", err, blamed, tc.reason)
			}
			if h := s.Healthy(ctx); !errors.Is(h, ErrNotaryStopped) {
				t.Fatalf("healthy: got %v, want %v", h, ErrNotaryStopped)
			}
			// What came before the bad event is replicated, nothing after.
			got, err := s.ReadAll(ctx, eventstore.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range got {
				if e.EventID == blamed {
					t.Fatalf("replica event %d: got the refused event %s", i, blamed)
				}
			}
			if len(got) < 2 || len(got) > 4 {
				t.Fatalf("replica: got %d events, want the 2 to 4 before the refused one", len(got))
			}
			_, err = s.Append(ctx, "exhibit-c", eventstore.NoStream, newEvent(9))
			if !errors.Is(err, ErrNotaryStopped) {
				t.Fatalf("append after the notary stopped: got %v, want %v", err, ErrNotaryStopped)
			}
		})
	}
}
