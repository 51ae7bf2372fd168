package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/scelle-ledger/scelle/eventstore"
)

// DefaultBatchSize bounds the events applied in one live transaction.
const DefaultBatchSize = 8192

// DefaultRebuildBatchSize bounds the events read, decoded and applied in
// one page (one transaction) of a rebuild or of a catch-up from far
// behind: nobody waits on a shadow generation, and a bigger batch writes
// each hot page once for more events (at 1M events, 50,000 took 5-10 %
// less CPU per event than 20,000; a page holds about 30 MB).
const DefaultRebuildBatchSize = 50000

// Options tune a Runner.
type Options struct {
	// BatchSize is the most events applied per transaction (default
	// DefaultBatchSize). Live, a batch is whatever has arrived.
	BatchSize int
	// RebuildBatchSize is the most events per transaction of a rebuild
	// (default DefaultRebuildBatchSize).
	RebuildBatchSize int
	// Decode decodes payloads once per event for every projection.
	Decode Decoder
	// Logger receives version changes, rebuilds and errors.
	Logger *slog.Logger
}

// Runner feeds projections from the store's global order into the
// read-model database. One Runner per process; Run it in its own goroutine.
type Runner struct {
	db     *DB
	store  eventstore.Store
	projs  []Projection
	byName map[string]Projection
	opts   Options

	// writeMu serialises this process's write transactions (live batches,
	// rebuild batches, swaps) on the single writer connection. Other
	// processes are excluded by BEGIN IMMEDIATE.
	writeMu sync.Mutex
	// stmts are the batches' statements, prepared once on the writer
	// connection (guarded by writeMu for preparing and clearing).
	stmts writeStmts
	// reg is the projection registry as last read or written by applyLive
	// (nil: read it again), valid while the database's data_version is
	// regVersion; checkpointSQL moves the checkpoints of a live batch.
	// Guarded by writeMu.
	reg           map[string]registryRow
	regVersion    int64
	checkpointSQL string

	mu      sync.Mutex
	applied map[string]int64
	changed chan struct{}
}

// NewRunner checks the projections and returns a runner; call Init before
// Run, Rebuild or queries.
func NewRunner(db *DB, store eventstore.Store, projs []Projection, opts Options) (*Runner, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.RebuildBatchSize <= 0 {
		opts.RebuildBatchSize = DefaultRebuildBatchSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Runner{db: db, store: store, byName: map[string]Projection{}, opts: opts,
		applied: map[string]int64{}, changed: make(chan struct{})}
	for i, p := range projs {
		if !validName.MatchString(p.Name()) {
			return nil, fmt.Errorf("projections: new runner: projections[%d]: name %q: want lowercase letters, digits and '_'", i, p.Name())
		}
		if _, dup := r.byName[p.Name()]; dup {
			return nil, fmt.Errorf("projections: new runner: projections[%d]: name %q registered twice", i, p.Name())
		}
		if p.Version() < 1 {
			return nil, fmt.Errorf("projections: new runner: projection %s: version %d: want >= 1", p.Name(), p.Version())
		}
		for _, t := range p.Tables() {
			if !validName.MatchString(t) {
				return nil, fmt.Errorf("projections: new runner: projection %s: table %q: want lowercase letters, digits and '_'", p.Name(), t)
			}
		}
		r.byName[p.Name()] = p
		r.projs = append(r.projs, p)
	}
	r.checkpointSQL = checkpointStmt(r.projs)
	return r, nil
}

// Projections returns the names of the runner's projections, in order.
func (r *Runner) Projections() []string {
	names := make([]string, len(r.projs))
	for i, p := range r.projs {
		names[i] = p.Name()
	}
	return names
}

// Init creates the tables of new projections, rebuilds from zero (a fresh
// generation at position -1) every projection whose version changed or
// whose checkpoint is beyond the store's head (an older store restored),
// and drops what a dead rebuild left behind. Run then brings them up to date.
func (r *Runner) Init(ctx context.Context) error {
	head, err := Head(ctx, r.store)
	if err != nil {
		return fmt.Errorf("projections: init: %w", err)
	}
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	r.reg = nil // rewritten below
	tx, err := r.db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: init: %w", err)
	}
	defer tx.Rollback()
	reg, err := readRegistry(ctx, tx)
	if err != nil {
		return fmt.Errorf("projections: init: read registry: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM projection_shadow`); err != nil {
		return fmt.Errorf("projections: init: %w", err)
	}
	for _, p := range r.projs {
		row, ok := reg[p.Name()]
		switch {
		case !ok:
			gen, err := nextGeneration(ctx, tx)
			if err != nil {
				return fmt.Errorf("projections: init %s: %w", p.Name(), err)
			}
			row = registryRow{version: p.Version(), generation: gen, position: -1}
			if err := createTables(ctx, tx, p, tablesFor(row.version, row.generation), true); err != nil {
				return fmt.Errorf("projections: init %s: %w", p.Name(), err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO projection_registry(name, version, generation, position) VALUES (?, ?, ?, -1)`,
				p.Name(), row.version, row.generation); err != nil {
				return fmt.Errorf("projections: init %s: %w", p.Name(), err)
			}
		case row.version != p.Version() || row.position > head:
			// A new version, or read models ahead of the store (an older
			// store was restored): rebuild from zero.
			r.opts.Logger.InfoContext(ctx, "projection rebuilt from zero", "projection", p.Name(),
				"from_version", row.version, "to_version", p.Version(), "position", row.position, "store_head", head)
			gen, err := nextGeneration(ctx, tx)
			if err != nil {
				return fmt.Errorf("projections: init %s: %w", p.Name(), err)
			}
			row = registryRow{version: p.Version(), generation: gen, position: -1}
			if err := createTables(ctx, tx, p, tablesFor(row.version, row.generation), true); err != nil {
				return fmt.Errorf("projections: init %s: %w", p.Name(), err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE projection_registry SET version = ?, generation = ?, position = -1 WHERE name = ?`,
				row.version, row.generation, p.Name()); err != nil {
				return fmt.Errorf("projections: init %s: %w", p.Name(), err)
			}
		}
		if err := r.dropOtherGenerations(ctx, tx, p, tablesFor(row.version, row.generation)); err != nil {
			return fmt.Errorf("projections: init %s: %w", p.Name(), err)
		}
		reg[p.Name()] = row
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projections: init: commit: %w", err)
	}
	if err := r.removeScratchFiles(); err != nil { // the rebuilds they were for are discarded
		return fmt.Errorf("projections: init: remove a dead rebuild's scratch files: %w", err)
	}
	r.stmts.clear() // tables may have been dropped
	r.mu.Lock()
	for _, p := range r.projs {
		r.applied[p.Name()] = reg[p.Name()].position
	}
	r.notifyLocked()
	r.mu.Unlock()
	return nil
}

// createTables creates generation t of p's tables, and their query
// indexes unless a rebuild will create them later (withIndexes false).
func createTables(ctx context.Context, tx *sql.Tx, p Projection, t Tables, withIndexes bool) error {
	for _, base := range p.Tables() {
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS "`+t.Name(base)+`"`); err != nil {
			return fmt.Errorf("drop %s: %w", t.Name(base), err)
		}
	}
	for _, ddl := range p.Schema() {
		if _, err := tx.ExecContext(ctx, t.Expand(ddl)); err != nil {
			return fmt.Errorf("create tables: %q: %w", t.Expand(ddl), err)
		}
	}
	if !withIndexes {
		return nil
	}
	for _, ddl := range queryIndexes(p) {
		if _, err := tx.ExecContext(ctx, t.Expand(ddl)); err != nil {
			return fmt.Errorf("create index: %q: %w", t.Expand(ddl), err)
		}
	}
	return nil
}

func queryIndexes(p Projection) []string {
	if ix, ok := p.(Indexer); ok {
		return ix.QueryIndexes()
	}
	return nil
}

// nextGeneration numbers a new generation of a projection's tables: one
// more than any generation in use or being rebuilt, whatever the
// projection, so that a base table name two projections both have
// ("participants") never names one table of both.
func nextGeneration(ctx context.Context, tx *sql.Tx) (int, error) {
	var g int
	err := tx.QueryRowContext(ctx, `SELECT coalesce(max(g), 0) + 1 FROM (
		SELECT max(generation) AS g FROM projection_registry UNION ALL SELECT max(generation) FROM projection_shadow)`).Scan(&g)
	if err != nil {
		return 0, fmt.Errorf("next generation: %w", err)
	}
	return g, nil
}

// inUseByOthers returns the table names of the generations other
// projections use or are rebuilding: those of p's base names that another
// projection shares are not p's to drop. A projection this runner does
// not know is taken to have all of p's base names.
func (r *Runner) inUseByOthers(ctx context.Context, tx *sql.Tx, p Projection) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, version, generation FROM projection_registry WHERE name != ?1
		UNION ALL SELECT name, version, generation FROM projection_shadow WHERE name != ?1`, p.Name())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	used := map[string]bool{}
	for rows.Next() {
		var name string
		var version, gen int
		if err := rows.Scan(&name, &version, &gen); err != nil {
			return nil, err
		}
		bases := p.Tables()
		if q, ok := r.byName[name]; ok {
			bases = q.Tables()
		}
		t := tablesFor(version, gen)
		for _, b := range bases {
			used[t.Name(b)] = true
		}
	}
	return used, rows.Err()
}

// dropOtherGenerations drops every table of p that is not keep's and that
// no other projection uses.
func (r *Runner) dropOtherGenerations(ctx context.Context, tx *sql.Tx, p Projection, keep Tables) error {
	used, err := r.inUseByOthers(ctx, tx, p)
	if err != nil {
		return err
	}
	for _, base := range p.Tables() {
		rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB ? AND name != ?`,
			base+"_v[0-9]*_g[0-9]*", keep.Name(base))
		if err != nil {
			return err
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			names = append(names, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, n := range names {
			if used[n] {
				continue
			}
			if _, err := tx.ExecContext(ctx, `DROP TABLE "`+n+`"`); err != nil {
				return fmt.Errorf("drop %s: %w", n, err)
			}
		}
	}
	return nil
}

// errResubscribe: a projection's checkpoint moved behind the subscription
// (another process reset it); follow again from the lowest checkpoint.
var errResubscribe = errors.New("projections: checkpoint behind subscription")

// Run feeds the projections until ctx is done, then returns nil. It
// returns early only on an error it cannot recover from (a payload that
// does not decode, a projection that fails, the store or the database
// failing); the read models stay consistent, at their last checkpoint.
func (r *Runner) Run(ctx context.Context) error {
	for {
		err := r.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errResubscribe) {
			r.opts.Logger.InfoContext(ctx, "projection checkpoint moved back: resubscribing")
			continue
		}
		return err
	}
}

// catchUpBulk brings the projections near the store's head when they are
// far behind it. Projections still at zero (a new read-model file, a new
// version) are built as a rebuild builds them, together, in one pass:
// beside their empty tables, query indexes created after the rows, and
// swapped in. Then (after downtime) pages are read in bulk and decoded
// ahead as a rebuild reads them, and each is applied as a live batch
// (rows and checkpoints in one transaction). The subscription then
// follows from there.
func (r *Runner) catchUpBulk(ctx context.Context) error {
	if err := r.buildFromZero(ctx); err != nil {
		return err
	}
	for {
		low := r.lowest()
		head, err := Head(ctx, r.store)
		if err != nil {
			return fmt.Errorf("projections: catch up: %w", err)
		}
		if head-low <= int64(r.opts.RebuildBatchSize) {
			return nil
		}
		if err := r.catchUpPages(ctx, low, head); err != nil {
			return err
		}
	}
}

// buildFromZero rebuilds together the projections at position -1 if the
// store holds more than a page of events. A rebuild it cannot start (one
// under way in another process) leaves them to the live catch-up.
func (r *Runner) buildFromZero(ctx context.Context) error {
	var fresh []string
	r.mu.Lock()
	for _, p := range r.projs {
		if r.applied[p.Name()] < 0 {
			fresh = append(fresh, p.Name())
		}
	}
	r.mu.Unlock()
	if len(fresh) == 0 {
		return nil
	}
	head, err := Head(ctx, r.store)
	if err != nil {
		return fmt.Errorf("projections: catch up: %w", err)
	}
	if head < int64(r.opts.RebuildBatchSize) {
		return nil
	}
	if _, err := r.RebuildAll(ctx, fresh, nil); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.opts.Logger.WarnContext(ctx, "projections: build from zero as a rebuild failed, catching up live", "projections", fresh, "err", err)
	}
	return r.refresh(ctx)
}

func (r *Runner) catchUpPages(ctx context.Context, low, head int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prev := low
	for pg := range r.readPages(ctx, r.projs, low, head) {
		if pg.err != nil {
			return pg.err
		}
		if err := r.applyLive(ctx, prev, pg.events); err != nil {
			return err
		}
		prev = int64(pg.events[len(pg.events)-1].Position)
	}
	return ctx.Err()
}

// refresh reloads the checkpoints from the registry, the source of truth
// when another process (a rebuild) moved them.
func (r *Runner) refresh(ctx context.Context) error {
	reg, err := readRegistry(ctx, r.db.r)
	if err != nil {
		return fmt.Errorf("projections: read registry: %w", err)
	}
	m := map[string]int64{}
	for _, p := range r.projs {
		row, ok := reg[p.Name()]
		if !ok {
			return fmt.Errorf("projections: projection %s: not in the registry: call Init first", p.Name())
		}
		m[p.Name()] = row.position
	}
	r.setApplied(m)
	return nil
}

func (r *Runner) lowest() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	low := int64(-1)
	for i, p := range r.projs {
		if a := r.applied[p.Name()]; i == 0 || a < low {
			low = a
		}
	}
	return low
}

func (r *Runner) setApplied(m map[string]int64) {
	if len(m) == 0 {
		return
	}
	r.mu.Lock()
	for n, pos := range m {
		r.applied[n] = pos
	}
	r.notifyLocked()
	r.mu.Unlock()
}

func (r *Runner) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}
