package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

func testEvent(n int) eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.New(),
		Type:          "ExhibitWeighed",
		SchemaVersion: 1,
		Payload:       fmt.Appendf(nil, `{"net_mg":%d}`, n),
		OccurredAt:    time.Date(2026, 3, 14, 9, 0, 0, n, time.UTC),
		Actor:         ledger.Actor{User: "u-1", Agency: "FR-DGDDI", Role: "officer"},
		CorrelationID: uuid.New(),
	}
}

// TestErrorMapping checks that errors the real client returns, for the
// statuses and trailers KurrentDB sends, become the port's errors, with the
// client's *esdb.Error still in the chain.
func TestErrorMapping(t *testing.T) {
	ctx := t.Context()
	db, url := startFakeDB(t)
	s := openNamespace(t, url, "")
	if _, err := s.Append(ctx, "exhibit-1", eventstore.NoStream, testEvent(1)); err != nil {
		t.Fatalf("append: %v", err)
	}
	read := func() error {
		_, err := s.ReadStream(ctx, "exhibit-1", eventstore.ReadOptions{})
		return err
	}
	cases := []struct {
		name   string
		method string
		inject error
		call   func() error
		want   error
		code   esdb.ErrorCode
	}{
		{"read: not found status", "read", status.Error(codes.NotFound, "no such stream"), read, eventstore.ErrStreamNotFound, esdb.ErrorCodeResourceNotFound},
		{"read: stream deleted trailer", "read", fakeTrailerError{[]string{"exception", "stream-deleted", "stream-name", "exhibit-1"}}, read, eventstore.ErrStreamNotFound, esdb.ErrorCodeStreamDeleted},
		{"read: deadline", "read", status.Error(codes.DeadlineExceeded, "too slow"), read, context.DeadlineExceeded, esdb.ErrorCodeDeadlineExceeded},
		{"read: access denied", "read", status.Error(codes.PermissionDenied, "no"), read, nil, esdb.ErrorCodeAccessDenied},
		{"append: deadline", "append", status.Error(codes.DeadlineExceeded, "too slow"), func() error {
			_, err := s.Append(ctx, "exhibit-1", eventstore.Any, testEvent(2))
			return err
		}, context.DeadlineExceeded, esdb.ErrorCodeDeadlineExceeded},
		{"append: access denied", "append", status.Error(codes.PermissionDenied, "no"), func() error {
			_, err := s.Append(ctx, "exhibit-1", eventstore.Any, testEvent(3))
			return err
		}, nil, esdb.ErrorCodeAccessDenied},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db.mu.Lock()
			db.failNext[c.method] = c.inject
			db.mu.Unlock()
			err := c.call()
			if err == nil {
				t.Fatalf("got no error, want one")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("got %v, want an error matching %v", err, c.want)
			}
			var ee *esdb.Error
			if !errors.As(err, &ee) || ee.Code() != c.code {
				t.Fatalf("got %v, want the client's *esdb.Error with code %d in the chain", err, c.code)
			}
		})
	}
	// Nothing was written by the failed appends.
	if evs := readAllOf(t, s); len(evs) != 1 {
		t.Fatalf("events after failed appends: got %d, want 1", len(evs))
	}
}

func readAllOf(t *testing.T, s *Store) []eventstore.RecordedEvent {
	t.Helper()
	evs, err := s.ReadAll(t.Context(), eventstore.ReadOptions{})
	if err != nil {
		t.Fatalf("read all: %v", err)
	}
	return evs
}

// TestAppendRacesAnotherProcess makes another store (another process, with
// a cache of its own) write between an append's read of the head and its
// write, which only KurrentDB's expected-revision check can catch.
func TestAppendRacesAnotherProcess(t *testing.T) {
	ctx := t.Context()
	setup := func(t *testing.T) (db *fakeDB, a, b *Store) {
		db, url := startFakeDB(t)
		a, b = openNamespace(t, url, ""), openNamespace(t, url, "")
		if _, err := a.Append(ctx, "exhibit-1", eventstore.NoStream, testEvent(1)); err != nil {
			t.Fatalf("append: %v", err)
		}
		return db, a, b
	}
	sneak := func(t *testing.T, db *fakeDB, b *Store, evs ...eventstore.EventData) chan eventstore.AppendResult {
		done := make(chan eventstore.AppendResult, 1)
		db.mu.Lock()
		db.beforeAppend = func() {
			res, err := b.Append(ctx, "exhibit-1", eventstore.Any, evs...)
			if err != nil {
				t.Errorf("the other process's append: %v", err)
			}
			done <- res
		}
		db.mu.Unlock()
		return done
	}

	t.Run("exact expectation fails with the new head", func(t *testing.T) {
		db, a, b := setup(t)
		sneak(t, db, b, testEvent(2))
		_, err := a.Append(ctx, "exhibit-1", eventstore.Exact(0), testEvent(3))
		var wre *eventstore.WrongRevisionError
		if !errors.As(err, &wre) || !wre.Exists || wre.Actual != 1 {
			t.Fatalf("got %v, want *WrongRevisionError at revision 1", err)
		}
	})

	t.Run("any is retried on the new head", func(t *testing.T) {
		db, a, b := setup(t)
		sneak(t, db, b, testEvent(2))
		res, err := a.Append(ctx, "exhibit-1", eventstore.Any, testEvent(3))
		if err != nil || res.Revision != 2 {
			t.Fatalf("got %+v, %v, want revision 2", res, err)
		}
		evs, err := a.ReadStream(ctx, "exhibit-1", eventstore.ReadOptions{})
		if err != nil || len(evs) != 3 {
			t.Fatalf("read: got %d events, %v, want 3", len(evs), err)
		}
		envs, hashes := make([]ledger.Envelope, 3), make([]ledger.Hash, 3)
		for i := range evs {
			envs[i], hashes[i] = evs[i].Envelope, evs[i].Hash
		}
		if err := ledger.VerifyChain(envs, hashes); err != nil {
			t.Fatalf("the chain across both writers: got %v, want it to verify", err)
		}
		if res.Position != evs[2].Position {
			t.Fatalf("position: got %d, want %d (the event's own)", res.Position, evs[2].Position)
		}
	})

	t.Run("the same events from both is one append", func(t *testing.T) {
		db, a, b := setup(t)
		ev := testEvent(2)
		done := sneak(t, db, b, ev)
		res, err := a.Append(ctx, "exhibit-1", eventstore.Exact(0), ev)
		other := <-done
		if err != nil || res != other {
			t.Fatalf("got %+v, %v, want the other process's result %+v", res, err, other)
		}
		if n := len(readAllOf(t, a)); n != 2 {
			t.Fatalf("events: got %d, want 2", n)
		}
	})

	t.Run("the same id with other content is refused", func(t *testing.T) {
		db, a, b := setup(t)
		ev := testEvent(2)
		changed := ev
		changed.Payload = []byte(`{"net_mg":1}`)
		sneak(t, db, b, changed)
		_, err := a.Append(ctx, "exhibit-1", eventstore.Exact(0), ev)
		var ire *eventstore.IDReusedError
		if !errors.As(err, &ire) || ire.ID != ev.ID {
			t.Fatalf("got %v, want *IDReusedError for %s", err, ev.ID)
		}
	})
}

// TestCacheEviction checks idempotency across the eviction of a stream's
// index, and shows the documented gap: once a stream's index is dropped, a
// reuse of its IDs in another stream is no longer seen.
func TestCacheEviction(t *testing.T) {
	ctx := t.Context()
	_, url := startFakeDB(t)
	s, err := Open(ctx, url, Options{CacheEvents: 4})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	a := []eventstore.EventData{testEvent(1), testEvent(2), testEvent(3)}
	orig, err := s.Append(ctx, "exhibit-a", eventstore.NoStream, a...)
	if err != nil {
		t.Fatalf("append a: %v", err)
	}
	// While exhibit-a is cached, its IDs are refused elsewhere.
	_, err = s.Append(ctx, "exhibit-c", eventstore.Any, a[0])
	if !errors.Is(err, eventstore.ErrIDReused) {
		t.Fatalf("reuse in another stream while cached: got %v, want %v", err, eventstore.ErrIDReused)
	}
	if _, err := s.Append(ctx, "exhibit-b", eventstore.NoStream, testEvent(4), testEvent(5)); err != nil {
		t.Fatalf("append b: %v", err)
	}
	s.cache.mu.Lock()
	_, cachedA := s.cache.streams["exhibit-a"]
	size := s.cache.size
	s.cache.mu.Unlock()
	if cachedA || size > 4 {
		t.Fatalf("cache after exhibit-b: got exhibit-a cached %v and %d IDs, want it evicted and at most 4", cachedA, size)
	}
	// A retry after the eviction still returns the original result: the
	// index is read again from the server.
	res, err := s.Append(ctx, "exhibit-a", eventstore.Any, a...)
	if err != nil || res != orig {
		t.Fatalf("retry after eviction: got %+v, %v, want %+v", res, err, orig)
	}
	// The gap: evict exhibit-a again, then reuse one of its IDs elsewhere.
	if _, err := s.Append(ctx, "exhibit-b", eventstore.Any, testEvent(6), testEvent(7), testEvent(8)); err != nil {
		t.Fatalf("append b: %v", err)
	}
	if _, err := s.Append(ctx, "exhibit-c", eventstore.Any, a[0]); err != nil {
		t.Fatalf("reuse in another stream after eviction: got %v, want it written (the documented gap)", err)
	}
}

func TestOpen_Refuses(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		name, url string
		opts      Options
		field     string
	}{
		{"http scheme", "http://localhost:2113", Options{}, "url"},
		{"no scheme", "localhost:2113", Options{}, "url"},
		{"namespace with a space", "esdb://localhost:2113?tls=false", Options{Namespace: "team a-"}, "namespace"},
		{"system namespace", "esdb://localhost:2113?tls=false", Options{Namespace: "$scelle-"}, "namespace"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(ctx, c.url, c.opts)
			var ie *eventstore.InvalidError
			if !errors.As(err, &ie) || ie.Field != c.field {
				if s != nil {
					s.Close()
				}
				t.Fatalf("got %v, want an *eventstore.InvalidError on field %q", err, c.field)
			}
		})
	}
	t.Run("nothing listening", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := lis.Addr().String()
		lis.Close()
		s, err := Open(ctx, "kurrentdb://"+addr+"?tls=false&maxDiscoverAttempts=2", Options{})
		if err == nil {
			s.Close()
			t.Fatalf("open a closed port: got no error, want one")
		}
	})
}
