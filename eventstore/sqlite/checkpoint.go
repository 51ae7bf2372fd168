package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
)

const (
	// checkpointEvents is how many committed events wake the background
	// checkpointer: about two to four thousand WAL pages.
	checkpointEvents = 2000
	// writerAutoCheckpoint is the WAL size, in pages, at which the writer
	// checkpoints on its own (SQLite's wal_autocheckpoint): a backstop that
	// bounds the WAL if the background checkpointer falls behind, and the
	// only checkpoint that can always complete, since nothing writes while
	// the writer checkpoints.
	writerAutoCheckpoint = 16000
)

// checkpointer copies the WAL back into the database file (PRAGMA
// wal_checkpoint(PASSIVE)) on a connection of its own, so that the writer
// does not stall for the copy and its fsync while callers wait for their
// commits. It stops when the store is closed.
func (s *Store) checkpointer(ctx context.Context, db *sql.DB, done chan<- struct{}) {
	defer close(done)
	last := s.size.Load()
	for {
		wake := s.waitChan()
		select {
		case <-s.done:
			return
		case <-wake:
		}
		if size := s.size.Load(); size-last >= checkpointEvents {
			last = size
			if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil && !s.isClosed() {
				// Not fatal: the writer's own checkpoints bound the WAL.
				slog.WarnContext(ctx, "sqlite: background checkpoint failed", slog.String("path", s.path), slog.Any("err", err))
			}
		}
	}
}

func (s *Store) openCheckpointer(ctx context.Context) error {
	db, err := sql.Open("sqlite", dsn(s.path,
		"_pragma", "busy_timeout(10000)",
		"_pragma", "synchronous(FULL)",
	))
	if err != nil {
		return fmt.Errorf("sqlite: open %s: checkpointer: %w", s.path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return fmt.Errorf("sqlite: open %s: checkpointer: %w", s.path, err)
	}
	s.cdb = db
	s.cpdone = make(chan struct{})
	go s.checkpointer(context.WithoutCancel(ctx), db, s.cpdone)
	return nil
}
