package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
)

// committedRows counts the rows of events.db as another connection sees
// them: what the writer has committed, durable or not.
func committedRows(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitCommitted waits until the writer has committed n rows.
func waitCommitted(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for committedRows(t, path) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the writer did not commit %d rows", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// An append is neither answered nor visible to readers, subscribers or
// the Merkle size until the WAL holding it has been fsynced.
func TestSyncer_nothingVisibleBeforeFsync(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/events.db"
	s := openStore(t, path)
	if _, err := s.Append(ctx, "exhibit-1", eventstore.NoStream, event("first")); err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	entered := make(chan struct{}, 16)
	sqlite.SetSync(s, func(f *os.File) error {
		entered <- struct{}{}
		<-gate
		return f.Sync()
	})
	sub, err := s.SubscribeAll(ctx, eventstore.SubscribeOptions{From: eventstore.Start})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	type msg struct {
		ev  eventstore.RecordedEvent
		err error
	}
	recv := make(chan msg, 4)
	go func() {
		for {
			ev, err := sub.Recv()
			recv <- msg{ev, err}
			if err != nil {
				return
			}
		}
	}()
	if m := <-recv; m.err != nil || m.ev.Revision != 0 {
		t.Fatalf("first event from the subscription: %+v", m)
	}

	done := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, "exhibit-1", eventstore.Exact(0), event("second"))
		done <- err
	}()
	<-entered // committed, its fsync is in progress
	waitCommitted(t, path, 2)

	select {
	case err := <-done:
		t.Fatalf("append answered before its fsync: %v", err)
	default:
	}
	if n, _ := s.TreeSize(ctx); n != 1 {
		t.Errorf("TreeSize before the fsync = %d, want 1", n)
	}
	if evs, err := s.ReadStream(ctx, "exhibit-1", eventstore.ReadOptions{From: eventstore.End, Direction: eventstore.Backwards}); err != nil || len(evs) != 1 || evs[0].Revision != 0 {
		t.Errorf("ReadStream backwards before the fsync = %d events, %v; want only revision 0", len(evs), err)
	}
	if evs, err := s.ReadAll(ctx, eventstore.ReadOptions{From: eventstore.Start}); err != nil || len(evs) != 1 {
		t.Errorf("ReadAll before the fsync = %d events, %v; want 1", len(evs), err)
	}
	select {
	case m := <-recv:
		t.Errorf("subscription delivered before the fsync: %+v", m)
	default:
	}

	close(gate)
	if err := <-done; err != nil {
		t.Fatalf("append after the fsync: %v", err)
	}
	if n, _ := s.TreeSize(ctx); n != 2 {
		t.Errorf("TreeSize after the fsync = %d, want 2", n)
	}
	select {
	case m := <-recv:
		if m.err != nil || m.ev.Revision != 1 {
			t.Errorf("subscription after the fsync: %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Error("subscription did not deliver the event after its fsync")
	}
}

// A failed fsync fails the appends it covered and every append after it;
// nothing it covered becomes visible.
func TestSyncer_failedFsyncStopsAppends(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	if _, err := s.Append(ctx, "exhibit-1", eventstore.NoStream, event("first")); err != nil {
		t.Fatal(err)
	}
	disk := errors.New("EIO from the disk")
	sqlite.SetSync(s, func(*os.File) error { return disk })

	_, err := s.Append(ctx, "exhibit-1", eventstore.Exact(0), event("second"))
	if !errors.Is(err, sqlite.ErrSyncFailed) || !errors.Is(err, disk) {
		t.Fatalf("append covered by a failed fsync: err = %v, want ErrSyncFailed wrapping the disk's error", err)
	}
	_, err = s.Append(ctx, "exhibit-2", eventstore.NoStream, event("third"))
	if !errors.Is(err, sqlite.ErrSyncFailed) {
		t.Fatalf("append after a failed fsync: err = %v, want ErrSyncFailed", err)
	}
	if n, _ := s.TreeSize(ctx); n != 1 {
		t.Errorf("TreeSize = %d, want 1: nothing covered by the failed fsync is visible", n)
	}
	if evs, err := s.ReadAll(ctx, eventstore.ReadOptions{From: eventstore.Start}); err != nil || len(evs) != 1 {
		t.Errorf("ReadAll = %d events, %v; want 1", len(evs), err)
	}
}
