package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrNoAgency: a query without an asking agency. Every query is scoped.
var ErrNoAgency = errors.New("projections: query without an agency")

// DefaultWaitTimeout bounds a read-your-writes wait when the caller's
// context has no deadline.
const DefaultWaitTimeout = 5 * time.Second

// ReadModels answers the API's queries. Every query takes the asking
// agency and returns only what it may see: cases it owns, supervises or
// that were shared with it (until revoked), their seizures and exhibits.
type ReadModels struct {
	db     *DB
	runner *Runner
	stmts  stmtCache
	// active caches each projection's active tables for readOne.
	activeMu sync.RWMutex
	active   map[string]Tables
	pages    pageCache
	// WaitTimeout bounds a Page.MinPosition wait (default DefaultWaitTimeout).
	WaitTimeout time.Duration
}

// NewReadModels returns the query side over db; runner (which may be nil
// in tools that only read) serves read-your-writes waits.
func NewReadModels(db *DB, runner *Runner) *ReadModels {
	return &ReadModels{db: db, runner: runner, WaitTimeout: DefaultWaitTimeout}
}

// WaitFor waits until the read models have applied position; see
// Runner.WaitFor.
func (m *ReadModels) WaitFor(ctx context.Context, position uint64, timeout time.Duration) error {
	if m.runner == nil {
		return fmt.Errorf("projections: wait for position %d: no runner in this process", position)
	}
	return m.runner.WaitFor(ctx, position, timeout)
}

// read runs fn in one read transaction over projection's active tables:
// one snapshot, so a swap in the middle of a query cannot be seen.
func (m *ReadModels) read(ctx context.Context, op, agency, projection string, page *Page, fn func(q *reader) error) error {
	if agency == "" {
		return fmt.Errorf("projections: %s: %w", op, ErrNoAgency)
	}
	if page != nil && page.MinPosition != nil {
		if err := m.WaitFor(ctx, *page.MinPosition, m.WaitTimeout); err != nil {
			return fmt.Errorf("projections: %s: %w", op, err)
		}
	}
	q := &reader{ctx: ctx, stmts: &m.stmts, db: m.db.r}
	err := m.readTx(ctx, op, projection, q, fn)
	// Statements met for the first time are prepared now, once the
	// transaction has given its connection back: preparing on the pool
	// while holding one of its connections could wait forever.
	m.stmts.prepare(ctx, m.db.r, q.misses)
	return err
}

// readOne is read for fn that runs exactly one statement: a statement is
// its own snapshot, so it runs without BEGIN and ROLLBACK and without
// reading the registry, on the tables the registry named last time. A
// swap drops the tables it replaces in the transaction that updates the
// registry, so a statement on replaced tables fails rather than reading
// stale rows; on any failure the registry is read again and, if the tables
// changed, fn runs once more on the new ones (fn must start its results
// afresh on each call).
func (m *ReadModels) readOne(ctx context.Context, op, agency, projection string, page *Page, fn func(q *reader) error) error {
	if agency == "" {
		return fmt.Errorf("projections: %s: %w", op, ErrNoAgency)
	}
	if page != nil && page.MinPosition != nil {
		if err := m.WaitFor(ctx, *page.MinPosition, m.WaitTimeout); err != nil {
			return fmt.Errorf("projections: %s: %w", op, err)
		}
	}
	m.activeMu.RLock()
	t, ok := m.active[projection]
	m.activeMu.RUnlock()
	q := &reader{ctx: ctx, stmts: &m.stmts, db: m.db.r}
	var err error
	if !ok {
		if t, err = m.activeTables(ctx, op, projection, q); err != nil {
			m.stmts.prepare(ctx, m.db.r, q.misses)
			return err
		}
	}
	q.t = t
	err = fn(q)
	if err != nil && !isAnswer(err) {
		if now, terr := m.activeTables(ctx, op, projection, q); terr == nil && now != t {
			q.t = now
			err = fn(q)
		}
	}
	m.stmts.prepare(ctx, m.db.r, q.misses)
	if err != nil && !isAnswer(err) {
		return fmt.Errorf("projections: %s: %w", op, err)
	}
	return err
}

// isAnswer: errors that are the query's answer, not a failure.
func isAnswer(err error) bool {
	return errors.Is(err, ErrBadCursor) || errors.Is(err, ErrBadFilter) || errors.Is(err, ErrNotFound)
}

// activeTables reads projection's active tables from the registry and
// remembers them for readOne.
func (m *ReadModels) activeTables(ctx context.Context, op, projection string, q *reader) (Tables, error) {
	var version, gen int
	err := q.queryRowRaw(`SELECT version, generation FROM projection_registry WHERE name = ?`, projection).Scan(&version, &gen)
	if errors.Is(err, sql.ErrNoRows) {
		return Tables{}, fmt.Errorf("projections: %s: projection %s was never initialised", op, projection)
	}
	if err != nil {
		return Tables{}, fmt.Errorf("projections: %s: %w", op, err)
	}
	t := tablesFor(version, gen)
	m.activeMu.Lock()
	if m.active == nil {
		m.active = map[string]Tables{}
	}
	m.active[projection] = t
	m.activeMu.Unlock()
	return t, nil
}

func (m *ReadModels) readTx(ctx context.Context, op, projection string, q *reader, fn func(q *reader) error) error {
	tx, err := m.db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("projections: %s: %w", op, err)
	}
	defer tx.Rollback()
	q.tx = tx
	var version, gen int
	err = q.queryRowRaw(`SELECT version, generation FROM projection_registry WHERE name = ?`, projection).Scan(&version, &gen)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("projections: %s: projection %s was never initialised", op, projection)
	}
	if err != nil {
		return fmt.Errorf("projections: %s: %w", op, err)
	}
	q.t = tablesFor(version, gen)
	if err := fn(q); err != nil {
		if isAnswer(err) {
			return err
		}
		return fmt.Errorf("projections: %s: %w", op, err)
	}
	return nil
}

// ErrNotFound: the item does not exist or the agency may not see it (the
// two are not told apart, so that a query cannot probe other agencies'
// cases).
var ErrNotFound = errors.New("projections: not found")

type reader struct {
	ctx    context.Context
	tx     *sql.Tx // nil: statements run on db, each on its own (readOne)
	db     *sql.DB
	t      Tables
	stmts  *stmtCache
	misses []string // statements not yet prepared, see stmtCache
}

func (q *reader) query(query string, args ...any) (*sql.Rows, error) {
	return q.queryRaw(q.t.Expand(query), args...)
}

func (q *reader) queryRow(query string, args ...any) *sql.Row {
	return q.queryRowRaw(q.t.Expand(query), args...)
}

// queryRaw runs a statement whose table names are already expanded, on the
// transaction's connection, prepared once per connection.
func (q *reader) queryRaw(text string, args ...any) (*sql.Rows, error) {
	st := q.stmts.get(text)
	if st == nil {
		q.misses = append(q.misses, text)
	}
	switch {
	case q.tx == nil && st != nil:
		return st.QueryContext(q.ctx, args...)
	case q.tx == nil:
		return q.db.QueryContext(q.ctx, text, args...)
	case st != nil:
		return q.tx.StmtContext(q.ctx, st).QueryContext(q.ctx, args...)
	}
	return q.tx.QueryContext(q.ctx, text, args...)
}

func (q *reader) queryRowRaw(text string, args ...any) *sql.Row {
	st := q.stmts.get(text)
	if st == nil {
		q.misses = append(q.misses, text)
	}
	switch {
	case q.tx == nil && st != nil:
		return st.QueryRowContext(q.ctx, args...)
	case q.tx == nil:
		return q.db.QueryRowContext(q.ctx, text, args...)
	case st != nil:
		return q.tx.StmtContext(q.ctx, st).QueryRowContext(q.ctx, args...)
	}
	return q.tx.QueryRowContext(q.ctx, text, args...)
}

// nanos and fromNanos convert times to the INTEGER columns (Unix ns, UTC).
func nanos(t time.Time) int64 { return t.UTC().UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func nullTime(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}
