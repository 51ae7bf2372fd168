package sqlite_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
)

// TestReadStmts_keptThenClosed: a read repeated keeps one statement
// prepared; reads with more distinct texts than are kept still answer
// right; Close closes every kept statement, and the file opens again.
func TestReadStmts_keptThenClosed(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	for i := range 10 {
		if _, err := s.Append(ctx, fmt.Sprintf("exhibit-%d", i), eventstore.NoStream, event(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		evs, err := s.ReadAll(ctx, eventstore.ReadOptions{From: eventstore.Start})
		if err != nil || len(evs) != 10 {
			t.Fatalf("read all: %d events, %v; want 10", len(evs), err)
		}
	}
	if n := sqlite.KeptReadStmts(s); n != 1 {
		t.Fatalf("after 5 identical reads: %d statements kept, want 1", n)
	}
	// Filters of 1 to 40 stream prefixes: 40 texts, more than a
	// connection keeps; each read must still see its own matches.
	for k := 1; k <= 2*sqlite.MaxReadStmts; k++ {
		prefixes := make([]string, k)
		for i := range prefixes {
			prefixes[i] = fmt.Sprintf("exhibit-%d", i%10)
		}
		evs, err := s.ReadAll(ctx, eventstore.ReadOptions{From: eventstore.Start, Filter: eventstore.Filter{StreamPrefixes: prefixes}})
		if err != nil {
			t.Fatal(err)
		}
		if want := min(k, 10); len(evs) != want {
			t.Fatalf("%d prefixes: %d events, want %d", k, len(evs), want)
		}
	}
	if n := sqlite.KeptReadStmts(s); n > 4*sqlite.MaxReadStmts || n < sqlite.MaxReadStmts/2 {
		t.Fatalf("%d statements kept after %d distinct reads", n, 2*sqlite.MaxReadStmts+1)
	}
	path := s.Path()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := sqlite.KeptReadStmts(s); n != 0 {
		t.Fatalf("after Close: %d statements kept, want 0", n)
	}
	again := openStore(t, path)
	if evs, err := again.ReadAll(ctx, eventstore.ReadOptions{From: eventstore.Start}); err != nil || len(evs) != 10 {
		t.Fatalf("reopened: %d events, %v; want 10", len(evs), err)
	}
}

// TestReadStmts_droppedConnection: the pool discards a read connection
// whose query its context interrupted. The statements kept on it are
// closed with it, not later on a closed connection (which crashed Close).
func TestReadStmts_droppedConnection(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	if _, err := s.Append(ctx, "exhibit-1", eventstore.NoStream, event("1")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := sqlite.DropReadConn(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if n := sqlite.KeptReadStmts(s); n != 0 {
		t.Fatalf("%d statements kept for connections the pool closed, want 0", n)
	}
	if evs, err := s.ReadAll(ctx, eventstore.ReadOptions{From: eventstore.Start}); err != nil || len(evs) != 1 {
		t.Fatalf("read after the drops: %d events, %v; want 1", len(evs), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := sqlite.KeptReadStmts(s); n != 0 {
		t.Fatalf("after Close: %d statements kept, want 0", n)
	}
}
