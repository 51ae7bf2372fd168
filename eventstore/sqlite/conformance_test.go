package sqlite_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/eventstore/storetest"
)

// TestConformance runs the Store port's conformance suite against the SQLite
// adapter, each subtest on its own file. SQLite positions are dense: they are
// the Merkle leaf indices.
func TestConformance(t *testing.T) {
	storetest.Options{DensePositions: true}.Run(t, func(t *testing.T) eventstore.Store {
		t.Helper()
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "events.db"), sqlite.Options{})
		if err != nil {
			t.Fatalf("open: got %v, want no error", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil && !errors.Is(err, eventstore.ErrClosed) {
				t.Errorf("close: got %v, want no error", err)
			}
		})
		return s
	})
}
