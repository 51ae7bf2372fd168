package kurrentdb

import (
	"errors"
	"path/filepath"
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
