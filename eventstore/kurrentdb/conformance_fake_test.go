package kurrentdb

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/storetest"
)

// TestConformanceFake runs the Store port's conformance suite against the
// adapter talking to fakeDB through the real v4 client, each subtest on a
// server of its own and without a namespace.
func TestConformanceFake(t *testing.T) {
	storetest.Options{DensePositions: false, LargeStreamEvents: 3000}.Run(t, func(t *testing.T) eventstore.Store {
		t.Helper()
		_, url := startFakeDB(t)
		return openNamespace(t, url, "")
	})
}

// TestConformanceFakeShared runs the suite with every subtest in a
// namespace of its own on one shared server, as the container test does on
// one KurrentDB: each store must see its own namespace only.
func TestConformanceFakeShared(t *testing.T) {
	if testing.Short() {
		t.Skip("the shared-server variant reads a growing $all; run without -short")
	}
	_, url := startFakeDB(t)
	var n atomic.Int64
	storetest.Options{DensePositions: false, LargeStreamEvents: 2000}.Run(t, func(t *testing.T) eventstore.Store {
		t.Helper()
		return openNamespace(t, url, fmt.Sprintf("t%d-", n.Add(1)))
	})
}

func openNamespace(t *testing.T, url, ns string) *Store {
	t.Helper()
	s, err := Open(t.Context(), url, Options{Namespace: ns})
	if err != nil {
		t.Fatalf("open %s: got %v, want no error", url, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, eventstore.ErrClosed) {
			t.Errorf("close: got %v, want no error", err)
		}
	})
	return s
}
