package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/scelle-ledger/scelle/eventstore"
)

var _ eventstore.Store = (*Store)(nil)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// Namespace is prepended to every stream name in KurrentDB, so that
	// several ledgers (or test runs) can share one database: the store only
	// sees the streams of its namespace, in reads of the global order and in
	// subscriptions too. The envelope (and so the hash) carries the stream
	// name without the namespace. Empty means none. It follows the rules of
	// a stream name (eventstore.ValidateStreamName).
	Namespace string
	// Now is the clock for recorded_at; nil means time.Now.
	Now func() time.Time
	// CacheEvents bounds the number of event IDs the store keeps in memory
	// (the stream indices behind idempotency, see the package doc). 0 means
	// 1<<20.
	CacheEvents int
	// MaxConflictRetries bounds how many times an append expecting Any or
	// StreamExists is retried when another writer moves the stream between
	// the read of its head and the write. 0 means 64.
	MaxConflictRetries int
	// Logger receives the KurrentDB client's own log lines (at debug level
	// for its errors, which the store reports itself). nil discards them.
	Logger *slog.Logger
}

// Store is the KurrentDB event store. It is safe for concurrent use.
type Store struct {
	client *esdb.Client
	opts   Options
	ns     string
	now    func() time.Time
	cache  *cache

	mu     sync.RWMutex
	closed bool
	// subs are the open subscriptions, which Close ends.
	subs map[*subscription]struct{}
}

// Open connects to the KurrentDB at url, an esdb:// or esdb+discover://
// connection string (kurrentdb://, kurrent:// and their +discover forms,
// which testcontainers-go returns, are rewritten to esdb://). It checks that
// the server answers a read of $all before returning.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	conn, err := ConnectionString(url)
	if err != nil {
		return nil, err
	}
	if opts.Namespace != "" {
		var ie *eventstore.InvalidError
		if err := eventstore.ValidateStreamName(opts.Namespace); errors.As(err, &ie) {
			return nil, fmt.Errorf("kurrentdb: open: %w", &eventstore.InvalidError{Field: "namespace", Reason: ie.Reason})
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CacheEvents <= 0 {
		opts.CacheEvents = 1 << 20
	}
	if opts.MaxConflictRetries <= 0 {
		opts.MaxConflictRetries = 64
	}
	cfg, err := esdb.ParseConnectionString(conn)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: open: %w", &eventstore.InvalidError{Field: "url", Reason: err.Error()})
	}
	cfg.Logger = clientLogger(opts.Logger)
	client, err := esdb.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("kurrentdb: open: %w", err)
	}
	s := &Store{
		client: client,
		opts:   opts,
		ns:     opts.Namespace,
		now:    opts.Now,
		cache:  newCache(opts.CacheEvents),
		subs:   map[*subscription]struct{}{},
	}
	if err := s.ping(ctx); err != nil {
		client.Close()
		return nil, fmt.Errorf("kurrentdb: open: %w", err)
	}
	return s, nil
}

// ConnectionString returns url with a kurrentdb:// or kurrent:// scheme
// (and their +discover forms) rewritten to the esdb:// scheme the v4 client
// parses. Other esdb URLs are returned as they are; anything else fails
// with an *eventstore.InvalidError on field "url".
func ConnectionString(url string) (string, error) {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok || rest == "" {
		return "", &eventstore.InvalidError{Field: "url", Reason: "is not a connection string: want esdb://host:port or kurrentdb://host:port"}
	}
	switch strings.ToLower(scheme) {
	case "esdb", "kurrentdb", "kurrent":
		return "esdb://" + rest, nil
	case "esdb+discover", "kurrentdb+discover", "kurrent+discover":
		return "esdb+discover://" + rest, nil
	}
	return "", &eventstore.InvalidError{Field: "url", Reason: fmt.Sprintf("unknown scheme %q: want esdb, esdb+discover, kurrentdb or kurrent", scheme)}
}

// clientLogger turns the client's printf-style log lines into slog records.
// The client logs every failed call as an error; the store reports those
// itself, so they go out at debug level.
func clientLogger(l *slog.Logger) esdb.LoggingFunc {
	if l == nil {
		return esdb.NoopLogging()
	}
	return func(level esdb.LogLevel, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if level == esdb.LogWarn || level == esdb.LogInfo {
			l.Info(msg, slog.String("component", "kurrentdb-client"))
			return
		}
		l.Debug(msg, slog.String("component", "kurrentdb-client"), slog.String("level", level))
	}
}

// ping reads one event of $all backwards, so that a wrong address, bad
// credentials or a server not ready fail Open rather than the first append.
func (s *Store) ping(ctx context.Context) error {
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}, RequiresLeader: true}, 1)
	if err != nil {
		return mapErr(err)
	}
	defer rs.Close()
	if _, err := rs.Recv(); err != nil && !errors.Is(err, io.EOF) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return mapErr(err)
	}
	return nil
}

// Close releases the client and ends every subscription. Calls after Close
// fail with eventstore.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return eventstore.ErrClosed
	}
	s.closed = true
	subs := s.subs
	s.subs = nil
	s.mu.Unlock()
	for sub := range subs {
		sub.cancel()
	}
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("kurrentdb: close: %w", err)
	}
	return nil
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// begin checks what every call checks first: the context, then the store.
func (s *Store) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.isClosed() {
		return eventstore.ErrClosed
	}
	return nil
}

// fail turns an error of a call into the store's error: ErrClosed if the
// store was closed meanwhile, the context's error if it ended, otherwise
// the mapped client error prefixed by the operation.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	switch {
	case s.isClosed():
		return fmt.Errorf("kurrentdb: %s: %w", op, eventstore.ErrClosed)
	case ctx.Err() != nil:
		return fmt.Errorf("kurrentdb: %s: %w", op, ctx.Err())
	}
	return fmt.Errorf("kurrentdb: %s: %w", op, mapErr(err))
}

// errWrongExpectedVersion marks a server-side optimistic concurrency
// failure, which Append retries or turns into a *WrongRevisionError.
var errWrongExpectedVersion = errors.New("kurrentdb: wrong expected version")

// mapErr translates a KurrentDB client error into the store's errors, once,
// at the boundary: stream not found (or deleted) to ErrStreamNotFound, a
// closed connection to ErrClosed, deadlines and cancellations to the context
// errors, a wrong expected version to errWrongExpectedVersion. The client
// error stays in the chain for errors.As.
//
// Note that esdb.FromError's bool is inverted (true means no error): this
// uses errors.As instead.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var e *esdb.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code() {
	case esdb.ErrorCodeWrongExpectedVersion:
		return fmt.Errorf("%w: %w", errWrongExpectedVersion, err)
	case esdb.ErrorCodeResourceNotFound, esdb.ErrorCodeStreamDeleted:
		return fmt.Errorf("%w: %w", eventstore.ErrStreamNotFound, err)
	case esdb.ErrorCodeConnectionClosed:
		return fmt.Errorf("%w: %w", eventstore.ErrClosed, err)
	case esdb.ErrorCodeDeadlineExceeded:
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	switch status.Code(e.Err()) {
	case codes.Canceled:
		return fmt.Errorf("%w: %w", context.Canceled, err)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}

// isWrongExpectedVersion reports whether err is the server's optimistic
// concurrency failure.
func isWrongExpectedVersion(err error) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == esdb.ErrorCodeWrongExpectedVersion
}
