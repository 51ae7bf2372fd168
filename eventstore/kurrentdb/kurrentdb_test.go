package kurrentdb_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/kurrentdb"
	"github.com/scelle-ledger/scelle/eventstore/kurrentdb/kurrentdbtest"
	"github.com/scelle-ledger/scelle/eventstore/storetest"
)

// TestConformanceKurrentDB runs the Store port's conformance suite against a
// real single-node KurrentDB in a container. Every subtest opens a store in
// a namespace of its own, so that each one starts empty on the one server.
// Without a container engine the test is skipped.
func TestConformanceKurrentDB(t *testing.T) {
	url := kurrentdbtest.Start(t)
	var n atomic.Int64
	events := 20_000
	if testing.Short() {
		events = 3_000
	}
	storetest.Options{DensePositions: false, LargeStreamEvents: events}.Run(t, func(t *testing.T) eventstore.Store {
		t.Helper()
		s, err := kurrentdb.Open(t.Context(), url, kurrentdb.Options{Namespace: fmt.Sprintf("t%d-", n.Add(1))})
		if err != nil {
			t.Fatalf("open %s: got %v, want no error", url, err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil && !errors.Is(err, eventstore.ErrClosed) {
				t.Errorf("close: got %v, want no error", err)
			}
		})
		return s
	})
}
