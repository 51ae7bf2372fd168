//go:build linux

package sqlite_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
)

// Each commit reaches the WAL file in one write, and is readable by other
// connections (which read the file through SQLite's own VFS) as soon as the
// append is answered.
func TestWALVFS_oneWritePerCommit(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s := openStore(t, path)
	// The first append creates the WAL (its header and the first frames).
	if _, err := s.Append(ctx, "exhibit-0", eventstore.NoStream, event("w-0")); err != nil {
		t.Fatal(err)
	}
	const commits = 40
	before := sqlite.WALWrites()
	for i := 1; i <= commits; i++ {
		if _, err := s.Append(ctx, fmt.Sprintf("exhibit-%d", i), eventstore.NoStream, event(fmt.Sprintf("w-%d", i))); err != nil {
			t.Fatal(err)
		}
		if n := committedRows(t, path); n != i+1 {
			t.Fatalf("after append %d another connection sees %d rows, want %d", i, n, i+1)
		}
	}
	// Each of these commits writes at least three frames (the events
	// table, its two indexes, the Merkle nodes): six writes without the
	// shim.
	if got := sqlite.WALWrites() - before; got != commits {
		t.Fatalf("%d commits made %d WAL writes, want one each", commits, got)
	}
}

// A transaction larger than the shim holds at once, and than the writer's
// page cache (so that SQLite spills pages to the WAL before the commit and
// rewrites some of them in place), commits, survives a reopen and verifies.
func TestWALVFS_largeTransaction(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{Now: fixedClock()})
	if err != nil {
		t.Fatal(err)
	}
	var evs []eventstore.EventData
	for i := range 12 {
		e := event(fmt.Sprintf("big-%d", i))
		e.Payload = []byte(fmt.Sprintf(`{"key":"big-%d","notes":%q}`, i, strings.Repeat(string(rune('a'+i)), 900<<10)))
		evs = append(evs, e)
	}
	// Small events after the big ones modify pages SQLite has already
	// spilled to the WAL, which it then rewrites in place.
	for i := range 400 {
		evs = append(evs, event(fmt.Sprintf("after-big-%d", i)))
	}
	if _, err := s.Append(ctx, "exhibit-big", eventstore.NoStream, evs...); err != nil {
		t.Fatal(err)
	}
	// A refused append after it leaves the file as it was.
	if _, err := s.Append(ctx, "exhibit-big", eventstore.NoStream, event("late")); err == nil {
		t.Fatal("an append expecting no stream to an existing stream succeeded")
	}
	if _, err := s.Append(ctx, "exhibit-small", eventstore.NoStream, event("small")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, path)
	got, err := s.ReadStream(ctx, "exhibit-big", eventstore.ReadOptions{From: eventstore.Start, Count: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs) {
		t.Fatalf("read %d events back, want %d", len(got), len(evs))
	}
	for i := range got {
		if !bytes.Equal(got[i].Payload, evs[i].Payload) {
			t.Fatalf("event %d: payload differs after reopen", i)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	verifyFile(t, path, len(evs)+1)
}

// verifyFile audits the store file at path: every hash, chain link and
// Merkle node, and n events.
func verifyFile(t *testing.T, path string, n int) {
	t.Helper()
	_, vkey, err := ledger.GenerateKey(rand.Reader, "scelle.example/walvfs-test", ledger.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ledger.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	r := openAudit(t, path)
	rep, err := ledger.Audit(context.Background(), r, r, nil, ledger.AuditOptions{LogKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Events != uint64(n) || rep.TreeSize != uint64(n) {
		t.Fatalf("audit: ok %v, %d events, tree size %d, findings %v; want ok and %d events", rep.OK, rep.Events, rep.TreeSize, rep.Findings, n)
	}
}
