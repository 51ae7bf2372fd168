package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// applicationID marks a SQLite file as a scelle event store (PRAGMA
// application_id): the bytes "SCEL".
const applicationID = 0x5343454C

// SchemaVersion is the version of the schema this package writes and reads
// (PRAGMA user_version). Open refuses a file with a newer version.
const SchemaVersion = 1

var (
	// ErrNotStore: the file exists but is not a scelle event store.
	ErrNotStore = errors.New("sqlite: not a scelle event store")
	// ErrNewerSchema: the file was written by a newer scelle whose schema this
	// version does not know.
	ErrNewerSchema = errors.New("sqlite: store has a newer schema version")
	// ErrAlreadyOpen: another Store of this process has the file open. The
	// writer trusts its cached stream heads and Merkle border, so a file has
	// one Store at a time.
	ErrAlreadyOpen = errors.New("sqlite: store already open in this process")
)

// schema is version 1 of the store. Every statement is idempotent-free on
// purpose: it runs once, inside the transaction that creates the store.
var schema = []string{
	`CREATE TABLE events (
		position       INTEGER PRIMARY KEY, -- global order, 0-based, dense; = Merkle leaf index
		event_id       BLOB    NOT NULL UNIQUE, -- 16-byte UUID
		stream         TEXT    NOT NULL,
		revision       INTEGER NOT NULL,
		type           TEXT    NOT NULL,
		schema_version INTEGER NOT NULL,
		occurred_at    INTEGER NOT NULL, -- Unix nanoseconds, UTC
		recorded_at    INTEGER NOT NULL, -- Unix nanoseconds, UTC
		actor_user     TEXT    NOT NULL,
		actor_agency   TEXT    NOT NULL,
		actor_role     TEXT    NOT NULL,
		correlation_id BLOB    NOT NULL, -- 16 bytes
		causation_id   BLOB    NOT NULL, -- 16 bytes
		payload_digest BLOB    NOT NULL, -- SHA-256 of payload
		prev_hash      BLOB    NOT NULL, -- hash of the stream's previous event, zeros at revision 0
		hash           BLOB    NOT NULL, -- ledger.Link over the envelope
		payload        BLOB    NOT NULL, -- JSON, byte for byte as appended
		UNIQUE (stream, revision)
	)`,
	// A node's key is the index of the leaf whose append completed it,
	// times 64, plus its level: nodes are inserted in key order, so that a
	// transaction appends to the end of one B-tree instead of touching a
	// page per level. level and idx are computed from the key on read.
	`CREATE TABLE merkle_nodes (
		id    INTEGER PRIMARY KEY, -- ((((idx + 1) << level) - 1) << 6) | level
		hash  BLOB    NOT NULL,
		level INTEGER GENERATED ALWAYS AS (id & 63) VIRTUAL, -- 0 = leaf
		idx   INTEGER GENERATED ALWAYS AS ((((id >> 6) + 1) >> (id & 63)) - 1) VIRTUAL -- covers leaves [idx << level, (idx+1) << level)
	)`,
	`CREATE TRIGGER events_no_update BEFORE UPDATE ON events
		BEGIN SELECT RAISE(ABORT, 'scelle: events are append-only: UPDATE refused'); END`,
	`CREATE TRIGGER events_no_delete BEFORE DELETE ON events
		BEGIN SELECT RAISE(ABORT, 'scelle: events are append-only: DELETE refused'); END`,
	`CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
		BEGIN SELECT RAISE(ABORT, 'scelle: merkle_nodes are append-only: UPDATE refused'); END`,
	`CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
		BEGIN SELECT RAISE(ABORT, 'scelle: merkle_nodes are append-only: DELETE refused'); END`,
	fmt.Sprintf(`PRAGMA application_id = %d`, applicationID),
	fmt.Sprintf(`PRAGMA user_version = %d`, SchemaVersion),
}

// nodeKey is the merkle_nodes key of a node: see the table's definition.
func nodeKey(level uint, idx uint64) (int64, error) {
	if level > 56 || idx >= (1<<56)>>level {
		return 0, fmt.Errorf("merkle node (%d, %d) is out of range", level, idx)
	}
	return int64((((idx+1)<<level)-1)<<6 | uint64(level)), nil
}

// prepareSchema checks that the file behind conn is a scelle store of a
// version this package knows, or creates the schema in an empty file. It
// runs before anything else touches the file, so that opening a foreign
// SQLite file changes nothing in it (not even its journal mode).
func prepareSchema(ctx context.Context, conn *sql.Conn, path string) error {
	appID, version, tables, err := identify(ctx, conn)
	if err != nil {
		return err
	}
	if appID == 0 && version == 0 && tables == 0 {
		if err := createSchema(ctx, conn); err != nil {
			return fmt.Errorf("sqlite: open %s: create schema: %w", path, err)
		}
		appID, version, _, err = identify(ctx, conn)
		if err != nil {
			return err
		}
	}
	switch {
	case appID != applicationID:
		return fmt.Errorf("sqlite: open %s: %w (application_id %#x, %d tables)", path, ErrNotStore, appID, tables)
	case version > SchemaVersion:
		return fmt.Errorf("sqlite: open %s: %w: file has version %d, this build knows up to %d", path, ErrNewerSchema, version, SchemaVersion)
	case version < 1:
		return fmt.Errorf("sqlite: open %s: %w: schema version %d", path, ErrNotStore, version)
	}
	return nil
}

func identify(ctx context.Context, conn *sql.Conn) (appID, version int64, tables int64, err error) {
	if err = conn.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return 0, 0, 0, classifyOpenError(err)
	}
	if err = conn.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return 0, 0, 0, classifyOpenError(err)
	}
	if err = conn.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&tables); err != nil {
		return 0, 0, 0, classifyOpenError(err)
	}
	return appID, version, tables, nil
}

// classifyOpenError turns SQLite's "file is not a database" into ErrNotStore.
func classifyOpenError(err error) error {
	var se *sqlitedriver.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_NOTADB {
		return fmt.Errorf("%w: %w", ErrNotStore, err)
	}
	return err
}

func createSchema(ctx context.Context, conn *sql.Conn) (err error) {
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}()
	// Another process may have created the schema between our check and
	// our write lock.
	var tables int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&tables); err != nil {
		return err
	}
	if tables != 0 {
		_, err := conn.ExecContext(ctx, `ROLLBACK`)
		return err
	}
	for _, stmt := range schema {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	_, err = conn.ExecContext(ctx, `COMMIT`)
	return err
}
