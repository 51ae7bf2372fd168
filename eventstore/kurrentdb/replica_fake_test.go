package kurrentdb

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/replica"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/eventstore/storetest"
)

// TestConformanceReplicaOverFake runs the port's conformance suite against
// the notarised replica (eventstore/replica) whose primary is this adapter
// talking to fakeDB: the replica's positions are dense, whatever the
// sparse $all positions of the primary.
func TestConformanceReplicaOverFake(t *testing.T) {
	storetest.Options{DensePositions: true, LargeStreamEvents: 2000}.Run(t, func(t *testing.T) eventstore.Store {
		t.Helper()
		_, url := startFakeDB(t)
		primary, err := Open(t.Context(), url, Options{Namespace: "ledger-"})
		if err != nil {
			t.Fatalf("open %s: got %v, want no error", url, err)
		}
		local, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "replica.db"), sqlite.Options{})
		if err != nil {
			_ = primary.Close()
			t.Fatalf("open the replica file: got %v, want no error", err)
		}
		s, err := replica.Open(t.Context(), primary, local, replica.Options{})
		if err != nil {
			t.Fatalf("open the replica: got %v, want no error", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil && !errors.Is(err, eventstore.ErrClosed) {
				t.Errorf("close: got %v, want no error", err)
			}
		})
		return s
	})
}

// TestReplicaOverFakeRestart replicates the fake's $all, restarts the
// replica (which checks that the fake still holds its last event at the
// recorded position), replicates what another server wrote meanwhile, and
// refuses a restart in another namespace.
func TestReplicaOverFakeRestart(t *testing.T) {
	ctx := t.Context()
	_, url := startFakeDB(t)
	path := filepath.Join(t.TempDir(), "replica.db")
	open := func(ns string) (*replica.Store, error) {
		primary, err := Open(ctx, url, Options{Namespace: ns})
		if err != nil {
			t.Fatalf("open %s: %v", url, err)
		}
		local, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		return replica.Open(ctx, primary, local, replica.Options{})
	}
	s, err := open("ledger-")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := s.Append(ctx, "exhibit-1", eventstore.Any, testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Another server writes while this one is down; a ledger in another
	// namespace too.
	other := openNamespace(t, url, "ledger-")
	for i := 5; i < 8; i++ {
		if _, err := other.Append(ctx, "exhibit-2", eventstore.Any, testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := openNamespace(t, url, "elsewhere-").Append(ctx, "exhibit-1", eventstore.Any, testEvent(99)); err != nil {
		t.Fatal(err)
	}
	if _, err := open("elsewhere-"); err == nil {
		t.Fatal("reopen the replica in another namespace: got no error, want a refusal")
	}
	s, err = open("ledger-")
	if err != nil {
		t.Fatalf("reopen the replica: %v", err)
	}
	defer s.Close()
	res, err := s.Append(ctx, "exhibit-1", eventstore.Any, testEvent(8))
	if err != nil {
		t.Fatal(err)
	}
	if res.Position != 8 || res.Revision != 5 {
		t.Fatalf("append after the restart: got %+v, want revision 5 at the replica's position 8", res)
	}
	want, err := other.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 9 || len(want) != 9 {
		t.Fatalf("events: got %d in the replica and %d in the primary, want 9", len(got), len(want))
	}
	for i := range got {
		if got[i].Position != uint64(i) || got[i].EventID != want[i].EventID || got[i].Hash != want[i].Hash {
			t.Fatalf("replica event %d: got %s at %d, want %s", i, got[i].EventID, got[i].Position, want[i].EventID)
		}
	}
}

// TestReplicaOverFakeThroughput measures appends of one event to the
// adapter alone and through the notarised replica, both on the fake, from
// 16 concurrent callers on their own streams (SCELLE_BENCH=1 to run; it
// logs the figures and asserts nothing about speed).
func TestReplicaOverFakeThroughput(t *testing.T) {
	if os.Getenv("SCELLE_BENCH") == "" {
		t.Skip("set SCELLE_BENCH=1 to measure")
	}
	for _, mode := range []string{"adapter", "replica"} {
		_, url := startFakeDB(t)
		primary, err := Open(t.Context(), url, Options{Namespace: "bench-"})
		if err != nil {
			t.Fatal(err)
		}
		var st eventstore.Store = primary
		if mode == "replica" {
			local, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "replica.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if st, err = replica.Open(t.Context(), primary, local, replica.Options{}); err != nil {
				t.Fatal(err)
			}
		}
		var n atomic.Int64
		res := testing.Benchmark(func(b *testing.B) {
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				stream := "exhibit-" + strconv.FormatInt(n.Add(1), 10)
				i := 0
				for pb.Next() {
					if _, err := st.Append(t.Context(), stream, eventstore.Any, testEvent(i)); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
		t.Logf("%s: %s", mode, res)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
