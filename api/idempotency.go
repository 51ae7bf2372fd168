package api

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

// idempotency keeps, per user and Idempotency-Key, the digest of the
// request and the response it got, in api.db of the data directory. The
// same key with the same request returns the stored response; with another
// request it is refused. Concurrent requests with one key are serialised,
// so ten simultaneous retries produce one set of events.
//
// Only successful responses are stored: a refused command may be retried
// with the same key once the situation changed. The events themselves carry
// IDs derived from the key, so even a response lost in a crash cannot make
// a retry write twice.
type idempotency struct {
	db *sql.DB

	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

const apiSchema = `
CREATE TABLE IF NOT EXISTS idempotency (
	scope TEXT NOT NULL,
	key TEXT NOT NULL,
	request_hash BLOB NOT NULL,
	response BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS attachments (
	digest TEXT NOT NULL,
	case_id TEXT NOT NULL,
	media_type TEXT NOT NULL,
	size INTEGER NOT NULL,
	filename TEXT NOT NULL DEFAULT '',
	uploaded_by TEXT NOT NULL,
	agency TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (digest, case_id)
);
`

func openIdempotency(ctx context.Context, dataDir string) (*idempotency, error) {
	// synchronous=NORMAL: a record lost to a power cut only means a retry
	// is decided again, and its events, whose IDs derive from the key, are
	// deduplicated by the store.
	db, err := openSQLite(ctx, filepath.Join(dataDir, "api.db"), "NORMAL")
	if err != nil {
		return nil, fmt.Errorf("api: open api.db: %w", err)
	}
	if _, err := db.ExecContext(ctx, apiSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("api: open api.db: schema: %w", err)
	}
	return &idempotency{db: db, locks: map[string]*keyLock{}}, nil
}

func (i *idempotency) close() error { return i.db.Close() }

// errKeyReused: same Idempotency-Key, different request.
var errKeyReused = errors.New("api: idempotency key reused for a different request")

// requestDigest hashes what identifies a request: the operation, its path
// parameters and its body.
func requestDigest(operation string, parts ...any) ([32]byte, error) {
	b, err := json.Marshal(append([]any{operation}, parts...))
	if err != nil {
		return [32]byte{}, fmt.Errorf("api: request digest: %w", err)
	}
	return sha256.Sum256(b), nil
}

// do runs fn once per (scope, key): a later call with the same digest gets
// the stored response decoded into out; one with another digest fails with
// errKeyReused.
func (i *idempotency) do(ctx context.Context, scope, key string, digest [32]byte, out any, fn func() (any, error), now time.Time) error {
	id := scope + "\x00" + key
	i.mu.Lock()
	l := i.locks[id]
	if l == nil {
		l = &keyLock{}
		i.locks[id] = l
	}
	l.refs++
	i.mu.Unlock()
	l.mu.Lock()
	defer func() {
		l.mu.Unlock()
		i.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(i.locks, id)
		}
		i.mu.Unlock()
	}()

	var stored, resp []byte
	err := i.db.QueryRowContext(ctx, `SELECT request_hash, response FROM idempotency WHERE scope=? AND key=?`, scope, key).Scan(&stored, &resp)
	switch {
	case err == nil:
		if string(stored) != string(digest[:]) {
			return errKeyReused
		}
		if err := json.Unmarshal(resp, out); err != nil {
			return fmt.Errorf("api: idempotency: decode stored response: %w", err)
		}
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("api: idempotency: %w", err)
	}
	res, err := fn()
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("api: idempotency: encode response: %w", err)
	}
	if _, err := i.db.ExecContext(context.WithoutCancel(ctx), `INSERT INTO idempotency(scope,key,request_hash,response,created_at) VALUES(?,?,?,?,?)`,
		scope, key, digest[:], b, now.UnixNano()); err != nil {
		return fmt.Errorf("api: idempotency: store response: %w", err)
	}
	return json.Unmarshal(b, out)
}
