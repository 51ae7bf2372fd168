package api

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/scelle-ledger/scelle/eventstore/sqlite"
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
	db  *sql.DB // one connection: the writer, and attachments
	rdb *sql.DB // readers
	get *sql.Stmt
	ins *sql.Stmt // on db

	mu      sync.Mutex
	locks   map[string]*keyLock
	pending map[string]idemRecord // responses not yet persisted
	// known holds every (scope, key) ever recorded, loaded at open and
	// added to on record, under mu: a key it does not hold was never
	// stored, so its lookup in api.db is skipped (a new key per command is
	// the common case).
	known *keyFilter

	queue chan idemRecord
	done  chan struct{}
	bg    context.Context // openIdempotency's, without its cancellation
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

type idemRecord struct {
	scope, key string
	digest     [32]byte
	response   []byte
	at         time.Time
	written    chan error // the outcome of the record's write
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
	// synchronous=NORMAL: a record survives the server being killed (it is
	// committed before the response is sent) but not a power cut of the
	// last seconds; a retry whose record was lost is decided again, and its
	// events, whose IDs derive from the key, are deduplicated by the store
	// (a command whose target has moved on since may then be refused).
	// The writer's WAL frames reach the file in one write per commit (the
	// event store's WAL shim): a command waits for its record's commit.
	vfs, err := sqlite.WALBufferVFS()
	if err != nil {
		return nil, fmt.Errorf("api: open api.db: %w", err)
	}
	var params []string
	if vfs != "" {
		params = []string{"vfs", vfs}
	}
	db, err := openSQLite(ctx, filepath.Join(dataDir, "api.db"), "NORMAL", params...)
	if err != nil {
		return nil, fmt.Errorf("api: open api.db: %w", err)
	}
	// One writing connection: writers never wait on each other's locks
	// (SQLite allows one writer; a pool would spin on SQLITE_BUSY).
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, apiSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("api: open api.db: schema: %w", err)
	}
	rdb, err := openSQLite(ctx, filepath.Join(dataDir, "api.db"), "NORMAL")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("api: open api.db: %w", err)
	}
	rdb.SetMaxOpenConns(8)
	get, err := rdb.PrepareContext(ctx, `SELECT request_hash, response FROM idempotency WHERE scope=? AND key=?`)
	if err != nil {
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("api: open api.db: %w", err)
	}
	ins, err := db.PrepareContext(ctx, `INSERT OR IGNORE INTO idempotency(scope,key,request_hash,response,created_at) VALUES(?,?,?,?,?)`)
	if err != nil {
		get.Close()
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("api: open api.db: %w", err)
	}
	known, err := loadKeyFilter(ctx, rdb)
	if err != nil {
		ins.Close()
		get.Close()
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("api: open api.db: %w", err)
	}
	i := &idempotency{db: db, rdb: rdb, get: get, ins: ins, known: known, locks: map[string]*keyLock{}, pending: map[string]idemRecord{},
		queue: make(chan idemRecord, 4096), done: make(chan struct{}), bg: context.WithoutCancel(ctx)}
	go i.persist()
	return i, nil
}

// persist writes the recorded responses in batches, one transaction per
// batch, off the requests' path. A response waits in pending (and answers
// retries from there) until it is written.
func (i *idempotency) persist() {
	defer close(i.done)
	for r := range i.queue {
		batch := []idemRecord{r}
	drain:
		for len(batch) < 512 {
			select {
			case r, ok := <-i.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		err := i.write(batch)
		i.mu.Lock()
		for _, r := range batch {
			if err == nil {
				delete(i.pending, r.scope+"\x00"+r.key)
			}
		}
		i.mu.Unlock()
		for _, r := range batch {
			r.written <- err
		}
	}
}

func (i *idempotency) write(batch []idemRecord) error {
	ctx, cancel := context.WithTimeout(i.bg, 30*time.Second)
	defer cancel()
	tx, err := i.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins := tx.StmtContext(ctx, i.ins)
	for _, r := range batch {
		if _, err := ins.ExecContext(ctx, r.scope, r.key, r.digest[:], r.response, r.at.UnixNano()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (i *idempotency) close() error {
	close(i.queue)
	<-i.done
	i.get.Close()
	i.ins.Close()
	i.rdb.Close()
	return i.db.Close()
}

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

	i.mu.Lock()
	rec, inMemory := i.pending[id]
	maybeStored := i.known.mayHold(id)
	i.mu.Unlock()
	var stored, resp []byte
	var err error
	switch {
	case inMemory:
		stored, resp = rec.digest[:], rec.response
	case maybeStored:
		err = i.get.QueryRowContext(ctx, scope, key).Scan(&stored, &resp)
	default:
		err = sql.ErrNoRows
	}
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
	b, ok := appendFast(nil, res)
	if !ok {
		if b, err = json.Marshal(res); err != nil {
			return fmt.Errorf("api: idempotency: encode response: %w", err)
		}
	}
	r := idemRecord{scope: scope, key: key, digest: digest, response: b, at: now, written: make(chan error, 1)}
	i.mu.Lock()
	i.pending[id] = r
	i.known.add(id)
	i.mu.Unlock()
	i.queue <- r
	// Answer only once the record is in api.db (committed, not fsynced:
	// see openIdempotency), so that a retry after the server is killed
	// gets this very response instead of a decision taken again on the
	// state this command changed. Records are written in batches, so the
	// wait is one short transaction shared by every concurrent command.
	if err := <-r.written; err != nil {
		// The command is done whatever happens to its record: answer it,
		// and keep the record in memory for retries.
		slog.WarnContext(ctx, "api: idempotency record not written; a retry after a restart is decided again", slog.String("key", key), slog.Any("err", err))
	}
	// The first answer is the result itself, not its stored copy decoded
	// back: the copy encodes to the same bytes (see TestFastJSON for the
	// command result), so a retry answers what the first call did.
	if rv, pv := reflect.ValueOf(res), reflect.ValueOf(out); pv.Kind() == reflect.Pointer && rv.Type() == pv.Type().Elem() {
		pv.Elem().Set(rv)
		return nil
	}
	return json.Unmarshal(b, out)
}

// keyFilter is a Bloom filter of idempotency scopes and keys: no false
// negatives, a few false positives (which only cost a lookup). Its size is
// fixed: past a few million keys the false positives grow, never the
// errors.
type keyFilter struct {
	bits []uint64
}

const keyFilterBits = 1 << 25 // 4 MiB: under 1 % false positives up to 3 million keys

func newKeyFilter() *keyFilter { return &keyFilter{bits: make([]uint64, keyFilterBits/64)} }

func (f *keyFilter) positions(id string) [4]uint32 {
	h := sha256.Sum256([]byte(id))
	var p [4]uint32
	for j := range p {
		p[j] = (uint32(h[4*j]) | uint32(h[4*j+1])<<8 | uint32(h[4*j+2])<<16 | uint32(h[4*j+3])<<24) % keyFilterBits
	}
	return p
}

func (f *keyFilter) add(id string) {
	for _, b := range f.positions(id) {
		f.bits[b/64] |= 1 << (b % 64)
	}
}

func (f *keyFilter) mayHold(id string) bool {
	for _, b := range f.positions(id) {
		if f.bits[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

// loadKeyFilter reads every stored (scope, key).
func loadKeyFilter(ctx context.Context, db *sql.DB) (*keyFilter, error) {
	f := newKeyFilter()
	rows, err := db.QueryContext(ctx, `SELECT scope, key FROM idempotency`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var scope, key string
	for rows.Next() {
		if err := rows.Scan(&scope, &key); err != nil {
			return nil, err
		}
		f.add(scope + "\x00" + key)
	}
	return f, rows.Err()
}
