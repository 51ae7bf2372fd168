package projections

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/scelle-ledger/scelle/eventstore"
)

// Projection is one read model: a set of tables fed by events in global
// order. Implementations are stateless between calls: all their state is in
// their tables.
type Projection interface {
	// Name identifies the projection: lowercase letters, digits and '_'.
	Name() string
	// Version is bumped whenever Schema or Apply changes what the tables
	// hold; a new version is rebuilt from zero instead of migrated.
	Version() int
	// Tables lists the base names of the tables Schema creates.
	Tables() []string
	// Schema returns DDL statements. Table names are written in braces,
	// "CREATE TABLE {custody} (...)", "CREATE INDEX {custody}_by_agency ON
	// {custody}(...)": they are replaced by the versioned names.
	Schema() []string
	// Apply applies one event within the batch's transaction. It must be
	// deterministic: the same events give the same rows. Events it does not
	// care about are ignored (nil error).
	Apply(tx *Tx, ev *Event) error
}

// Indexer is implemented by projections some of whose indexes serve only
// queries, never Apply. QueryIndexes returns their DDL, table names in
// braces as in Schema. Init creates them with the tables; a rebuild
// creates them once it has loaded the rows, before the swap: one sort
// costs less than keeping them up to date row by row.
type Indexer interface {
	QueryIndexes() []string
}

// Preloader is implemented by projections that read rows for many events
// of a batch: Preload runs in the batch's transaction before the first
// Apply, with the events after the projection's checkpoint, and may read
// in a few statements what Apply would otherwise read row by row. What it
// loads lives in the batch's state (Tx.State).
type Preloader interface {
	Preload(tx *Tx, batch []Event) error
}

// Flusher is implemented by projections that keep rows in memory during a
// batch (Tx.State) to write each row once per batch rather than once per
// event: Flush runs after the batch's last event, in its transaction.
type Flusher interface {
	Flush(tx *Tx) error
}

// RowsPerEventer is implemented by projections that can tell about how
// many rows they keep per event of the log (the feed: one). A rebuild
// from zero loads the projection with the most directly into its shadow
// tables, and the others into scratch files it copies in afterwards: the
// largest tables are spared the copy.
type RowsPerEventer interface {
	RowsPerEvent() float64
}

// Event is an event as a projection sees it: the recorded event and its
// payload decoded by the runner's Decoder (nil when there is no decoder or
// the decoder does not know the type).
type Event struct {
	*eventstore.RecordedEvent // shared, read only: not copied per event
	Data                      any
}

// Decoder turns a recorded event's payload into a value for projections. It
// returns (nil, nil) for event types it does not know, so that an older
// binary skips newer events instead of stopping.
type Decoder func(ev *eventstore.RecordedEvent) (any, error)

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Tables maps a projection's base table names to one generation's names.
type Tables struct {
	suffix     string
	generation int
}

func tablesFor(version, generation int) Tables {
	return Tables{suffix: fmt.Sprintf("_v%d_g%d", version, generation), generation: generation}
}

// Name returns the versioned name of base.
func (t Tables) Name(base string) string { return base + t.suffix }

// Expand replaces every {name} in query by its versioned name.
func (t Tables) Expand(query string) string {
	if !strings.Contains(query, "{") {
		return query
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(query, '{')
		if i < 0 {
			b.WriteString(query)
			return b.String()
		}
		j := strings.IndexByte(query[i:], '}')
		if j < 0 {
			b.WriteString(query)
			return b.String()
		}
		b.WriteString(query[:i])
		b.WriteString(query[i+1 : i+j])
		b.WriteString(t.suffix)
		query = query[i+j+1:]
	}
}

// Tx is a projection's view of a batch transaction: statements whose table
// names are in braces, prepared once per batch.
type Tx struct {
	ctx    context.Context
	tx     *sql.Tx
	tables Tables
	stmts  map[string]*sql.Stmt
	cache  *writeStmts // statements kept across batches (nil: none)
	state  map[string]any
}

// State returns the batch's value under key, created by init on first
// use. It lives for one batch (one transaction), then is dropped: a
// projection keeps nothing between batches outside its tables.
func (t *Tx) State(key string, init func() any) any {
	if v, ok := t.state[key]; ok {
		return v
	}
	if t.state == nil {
		t.state = map[string]any{}
	}
	v := init()
	t.state[key] = v
	return v
}

// newTx wraps a batch transaction. Statements run under a context without
// cancellation (the driver would otherwise start a goroutine per statement
// to watch it); applyBatch checks ctx between events instead, and a
// cancelled batch is rolled back whole.
func newTx(ctx context.Context, tx *sql.Tx, t Tables, cache *writeStmts) *Tx {
	return &Tx{ctx: context.WithoutCancel(ctx), tx: tx, tables: t, stmts: map[string]*sql.Stmt{}, cache: cache}
}

// Context is the batch's context.
func (t *Tx) Context() context.Context { return t.ctx }

// Tables gives the versioned names of this generation's tables.
func (t *Tx) Tables() Tables { return t.tables }

func (t *Tx) stmt(query string) (*sql.Stmt, error) {
	if s, ok := t.stmts[query]; ok {
		return s, nil
	}
	text := t.tables.Expand(query)
	if t.cache != nil {
		if s := t.cache.get(text); s != nil {
			s = t.tx.StmtContext(t.ctx, s) // the statement prepared on this connection, in this transaction
			t.stmts[query] = s
			return s, nil
		}
	}
	s, err := t.tx.PrepareContext(t.ctx, text)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", query, err)
	}
	t.stmts[query] = s
	return s, nil
}

// Exec runs a statement.
func (t *Tx) Exec(query string, args ...any) (sql.Result, error) {
	s, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(t.ctx, args...)
}

// QueryRow runs a query that returns at most one row.
func (t *Tx) QueryRow(query string, args ...any) *sql.Row {
	s, err := t.stmt(query)
	if err != nil {
		// Unprepared, the same error reaches the caller through Scan.
		return t.tx.QueryRowContext(t.ctx, t.tables.Expand(query), args...)
	}
	return s.QueryRowContext(t.ctx, args...)
}

// Query runs a query.
func (t *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	s, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(t.ctx, args...)
}

func (t *Tx) close() {
	for _, s := range t.stmts {
		s.Close()
	}
	t.stmts = nil
}
