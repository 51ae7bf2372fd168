package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
)

// SetGroupHook makes the writer call f with the size of each group of
// appends before deciding it. Call it before the first append.
func SetGroupHook(s *Store, f func(n int)) { s.w.groupHook = f }

// QueueLen returns the number of appends waiting for the writer.
func QueueLen(s *Store) int { return len(s.reqs) }

// EventsTableSQL and InsertEventSQL let benchmarks write rows of exactly the
// store's shape without the store.
var (
	EventsTableSQL = schema[0]
	InsertEventSQL = insertEventSQL
)

// Buffered returns the number of events a subscription of this package holds
// in memory.
func Buffered(sub any) int { return len(sub.(*subscription).buf) }

// SubscriptionPage is the most events a subscription holds in memory.
const SubscriptionPage = subscriptionPage

// SetSync replaces the syncer's fsync of the WAL. Call it before the first
// append.
func SetSync(s *Store, f func(*os.File) error) {
	s.y.mu.Lock()
	defer s.y.mu.Unlock()
	s.y.sync = f
}

// KeptReadStmts returns the number of read statements kept prepared, over
// every read connection.
func KeptReadStmts(s *Store) int {
	s.reads.mu.Lock()
	defer s.reads.mu.Unlock()
	n := 0
	for _, m := range s.reads.by {
		n += len(m)
	}
	return n
}

// MaxReadStmts is the most read statements kept per connection.
const MaxReadStmts = maxReadStmts

// DropReadConn keeps a read statement prepared on a read connection, then
// has the pool discard that connection, as it does one whose query was
// interrupted by its context.
func DropReadConn(ctx context.Context, s *Store) error {
	conn, err := s.rdb.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		if _, kept, err := s.reads.get(ctx, dc, `SELECT count(*) FROM events`); err != nil || !kept {
			return fmt.Errorf("statement not kept (%v)", err)
		}
		return driver.ErrBadConn // database/sql closes the connection
	})
	if !errors.Is(err, driver.ErrBadConn) {
		return fmt.Errorf("raw: %v, want driver.ErrBadConn", err)
	}
	return nil
}
