// Package checkpointdb keeps a log's signed checkpoints in their own SQLite
// file (by convention checkpoints.db in the data directory), append-only.
// It is apart from package ledger so that the integrity layer and its
// verifier link no database.
package checkpointdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/scelle-ledger/scelle/ledger"
)

// DB is a ledger.CheckpointStore in its own SQLite file (by convention
// checkpoints.db in the data directory). The table is append-only: triggers
// refuse UPDATE and DELETE. The note column is the source of truth; size and
// root are copies for queries, and readers re-verify the note.
type DB struct {
	db *sql.DB
}

var _ ledger.CheckpointStore = (*DB)(nil)

const checkpointSchema = `
CREATE TABLE IF NOT EXISTS checkpoints (
	seq        INTEGER PRIMARY KEY,
	origin     TEXT    NOT NULL,
	size       INTEGER NOT NULL,
	root       BLOB    NOT NULL,
	issued_at  INTEGER NOT NULL,
	note       BLOB    NOT NULL
);
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
`

// Open opens (creating if needed) the checkpoint file at path.
func Open(ctx context.Context, path string) (*DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, fmt.Errorf("checkpointdb: open checkpoints %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, checkpointSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("checkpointdb: open checkpoints %s: %w", path, err)
	}
	return &DB{db: db}, nil
}

// Close closes the file.
func (s *DB) Close() error { return s.db.Close() }

// Latest returns the last checkpoint.
func (s *DB) Latest(ctx context.Context) (ledger.SignedCheckpoint, bool, error) {
	row := s.db.QueryRowContext(ctx, `SELECT seq, issued_at, note FROM checkpoints ORDER BY seq DESC LIMIT 1`)
	c, err := scanCheckpoint(row)
	if errors.Is(err, sql.ErrNoRows) {
		return ledger.SignedCheckpoint{}, false, nil
	}
	if err != nil {
		return ledger.SignedCheckpoint{}, false, fmt.Errorf("checkpointdb: latest checkpoint: %w", err)
	}
	return c, true, nil
}

// Add appends c.
func (s *DB) Add(ctx context.Context, c *ledger.SignedCheckpoint) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("checkpointdb: add checkpoint: %w", err)
	}
	defer tx.Rollback()
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(size) FROM checkpoints`).Scan(&last); err != nil {
		return fmt.Errorf("checkpointdb: add checkpoint: %w", err)
	}
	if last.Valid && uint64(last.Int64) > c.Body.Size {
		return fmt.Errorf("checkpointdb: add checkpoint: size %d is below the latest size %d", c.Body.Size, last.Int64)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO checkpoints (origin, size, root, issued_at, note) VALUES (?, ?, ?, ?, ?)`,
		c.Body.Origin, int64(c.Body.Size), c.Body.Root[:], c.Issued.UnixNano(), c.Note)
	if err != nil {
		return fmt.Errorf("checkpointdb: add checkpoint: %w", err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("checkpointdb: add checkpoint: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("checkpointdb: add checkpoint: %w", err)
	}
	c.Seq = uint64(seq)
	return nil
}

// All returns every checkpoint in issue order.
func (s *DB) All(ctx context.Context) ([]ledger.SignedCheckpoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, issued_at, note FROM checkpoints ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("checkpointdb: list checkpoints: %w", err)
	}
	defer rows.Close()
	var out []ledger.SignedCheckpoint
	for rows.Next() {
		c, err := scanCheckpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("checkpointdb: list checkpoints: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("checkpointdb: list checkpoints: %w", err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

// scanCheckpoint reads a row and parses its note body, best effort: Body is
// left zero when the note does not parse. Callers that trust a checkpoint
// verify its note with OpenCheckpoint, which reports what is wrong.
func scanCheckpoint(r scanner) (ledger.SignedCheckpoint, error) {
	var (
		c      ledger.SignedCheckpoint
		seq    int64
		issued int64
	)
	if err := r.Scan(&seq, &issued, &c.Note); err != nil {
		return c, err
	}
	c.Seq, c.Issued = uint64(seq), time.Unix(0, issued).UTC()
	if text, _, err := ledger.SplitNote(c.Note); err == nil {
		c.Body, _ = ledger.ParseCheckpoint(text)
	}
	return c, nil
}
