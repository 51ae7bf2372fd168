package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

var (
	_ eventstore.Store  = (*Store)(nil)
	_ ledger.NodeReader = (*Store)(nil)
)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// Now is the clock for recorded_at; nil means time.Now.
	Now func() time.Time
	// MaxBatchEvents bounds the events one group commit writes (a group
	// also stops at 16 MiB of payload); an append larger than this is still
	// written whole, in a transaction of its own. 0 means 2048.
	MaxBatchEvents int
	// QueueLength is the number of appends that may wait for the writer
	// before Append blocks. 0 means 1024.
	QueueLength int
	// ReadConns is the size of the read pool. 0 means max(4, GOMAXPROCS).
	ReadConns int
	// HeadCacheSize bounds the number of stream heads (last revision and
	// hash) the writer keeps in memory. 0 means 65536.
	HeadCacheSize int
}

// Store is the SQLite event store. It is safe for concurrent use.
type Store struct {
	path string
	key  string // absolute path, in openFiles while open
	opts Options
	now  func() time.Time

	wdb *sql.DB // one connection, owned by the writer goroutine
	rdb *sql.DB // read pool
	// reads are Store.query's statements, kept prepared per connection.
	reads readStmts
	cdb   *sql.DB // one connection, owned by the checkpointer goroutine

	cpdone chan struct{} // closed when the checkpointer has returned

	// mu guards closed and the send on reqs, so that Close never races a
	// send on the closed channel.
	mu     sync.RWMutex
	closed bool
	reqs   chan *request
	done   chan struct{} // closed by Close
	wdone  chan struct{} // closed when the writer goroutine has returned

	w *writer
	y *syncer

	size atomic.Uint64 // durable tree size = number of events readers may see

	nmu    sync.Mutex
	notify chan struct{} // closed and replaced after every commit
}

// Open opens the store at path, creating the file and its schema if it does
// not exist. A file that is not a scelle store fails with ErrNotStore, one
// with a newer schema with ErrNewerSchema. One process at a time may open a
// given file.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: open: %w", &eventstore.InvalidError{Field: "path", Reason: "must not be empty"})
	}
	key, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if _, loaded := openFiles.LoadOrStore(key, struct{}{}); loaded {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, ErrAlreadyOpen)
	}
	s, err := open(ctx, path, key, opts)
	if err != nil {
		openFiles.Delete(key)
		return nil, err
	}
	return s, nil
}

// openFiles holds the absolute paths of the stores open in this process.
var openFiles sync.Map

func open(ctx context.Context, path, key string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBatchEvents <= 0 {
		opts.MaxBatchEvents = 2048
	}
	if opts.QueueLength <= 0 {
		opts.QueueLength = 1024
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = max(4, runtime.GOMAXPROCS(0))
	}
	if opts.HeadCacheSize <= 0 {
		opts.HeadCacheSize = 1 << 16
	}
	s := &Store{
		path:   path,
		key:    key,
		opts:   opts,
		now:    opts.Now,
		reqs:   make(chan *request, opts.QueueLength),
		done:   make(chan struct{}),
		wdone:  make(chan struct{}),
		notify: make(chan struct{}),
	}
	if err := s.open(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	y, err := newSyncer(s)
	if err != nil {
		s.closeDBs()
		return nil, err
	}
	s.y = y
	go y.run()
	if err := s.w.start(s.reqs, s.wdone, y.jobs); err != nil {
		close(y.jobs)
		<-y.done
		_ = y.close()
		s.closeDBs()
		return nil, err
	}
	if err := s.openCheckpointer(ctx); err != nil {
		_ = s.close()
		return nil, err
	}
	return s, nil
}

func dsn(path string, params ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Add(params[i], params[i+1])
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

func (s *Store) open(ctx context.Context) error {
	// The writer's WAL frames reach the file in one write per commit (see
	// walvfs.go).
	vfs, err := writerVFSParams()
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", s.path, err)
	}
	s.wdb, err = sql.Open("sqlite", dsn(s.path, append(vfs,
		"_pragma", "busy_timeout(10000)",
		// The syncer fsyncs the WAL before any commit is acknowledged or
		// visible (see syncer.go): COMMIT itself need not wait for the disk.
		"_pragma", "synchronous(NORMAL)",
		// 8 MiB of page cache: SQLite's pcache1 (modernc v1.62) scans the whole page
		// hash at the end of every write transaction here, so a larger cache
		// costs the writer more per commit than its extra hits save (64 MiB:
		// about 10 µs of writer CPU per event in BenchmarkStore).
		"_pragma", "cache_size(-8192)",
		"_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", writerAutoCheckpoint),
	)...))
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", s.path, err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", s.path, classifyOpenError(err))
	}
	if err := prepareSchema(ctx, conn, s.path); err != nil {
		_ = conn.Close()
		return err
	}
	var mode string
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode); err != nil {
		_ = conn.Close()
		return fmt.Errorf("sqlite: open %s: set WAL: %w", s.path, err)
	}
	if mode != "wal" {
		_ = conn.Close()
		return fmt.Errorf("sqlite: open %s: journal mode is %q, want wal", s.path, mode)
	}
	s.w, err = newWriter(ctx, s, conn)
	if err != nil {
		_ = conn.Close()
		return err
	}
	s.size.Store(s.w.tree.Size())

	s.rdb = sql.OpenDB(&readConnector{
		drv: s.wdb.Driver(),
		dsn: dsn(s.path,
			"_pragma", "busy_timeout(10000)",
			"_pragma", "query_only(1)",
		),
		stmts: &s.reads,
	})
	s.rdb.SetMaxOpenConns(s.opts.ReadConns)
	s.rdb.SetMaxIdleConns(s.opts.ReadConns)
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: open %s: read pool: %w", s.path, err)
	}
	return nil
}

func (s *Store) closeDBs() {
	if s.w != nil {
		s.w.close()
	}
	if s.wdb != nil {
		_ = s.wdb.Close()
	}
	if s.rdb != nil {
		_ = s.rdb.Close()
	}
}

// Path returns the file the store was opened on.
func (s *Store) Path() string { return s.path }

// Close waits for the appends already queued to be written, then releases
// the files. Subscriptions end with eventstore.ErrClosed. Calls after the
// first fail with eventstore.ErrClosed.
func (s *Store) Close() error {
	err := s.close()
	if !errors.Is(err, eventstore.ErrClosed) {
		openFiles.Delete(s.key)
	}
	return err
}

func (s *Store) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return eventstore.ErrClosed
	}
	s.closed = true
	close(s.reqs)
	close(s.done)
	s.mu.Unlock()
	<-s.wdone // the writer closes the syncer's queue when it returns
	<-s.y.done
	if s.cpdone != nil {
		<-s.cpdone
	}
	var errs []error
	if err := s.y.close(); err != nil {
		errs = append(errs, err)
	}
	if s.cdb != nil {
		if err := s.cdb.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.w.close(); err != nil {
		errs = append(errs, err)
	}
	if err := s.wdb.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := s.rdb.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// committed is called by the syncer once a committed size is durable.
func (s *Store) committed(size uint64) {
	s.size.Store(size)
	s.nmu.Lock()
	close(s.notify)
	s.notify = make(chan struct{})
	s.nmu.Unlock()
}

// waitChan returns a channel closed when the next commit is durable.
func (s *Store) waitChan() <-chan struct{} {
	s.nmu.Lock()
	defer s.nmu.Unlock()
	return s.notify
}

// TreeSize returns the number of events committed and durable, which is the
// size of the Merkle tree over the global order that readers may see.
func (s *Store) TreeSize(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.isClosed() {
		return 0, eventstore.ErrClosed
	}
	return s.size.Load(), nil
}
