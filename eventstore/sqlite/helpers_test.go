package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
)

var testNS = uuid.MustParse("0b4f0b0e-55c1-4c9a-9a51-6f1f9c3f9b11")

// event returns a valid event whose ID is derived from key.
func event(key string) eventstore.EventData {
	return eventstore.EventData{
		ID:            uuid.NewSHA1(testNS, []byte(key)),
		Type:          "ExhibitWeighed",
		SchemaVersion: 1,
		Payload:       []byte(fmt.Sprintf(`{"key":%q,"net_mg":1200}`, key)),
		OccurredAt:    time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC),
		Actor:         ledger.Actor{User: "u-1", Agency: "douane-fr", Role: "officer"},
		CorrelationID: uuid.NewSHA1(testNS, []byte("corr-"+key)),
	}
}

// fixedClock returns a deterministic clock that ticks 1 ms per call.
func fixedClock() func() time.Time {
	t := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(time.Millisecond)
		return t
	}
}

func openStore(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "events.db")
	}
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{Now: fixedClock()})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
