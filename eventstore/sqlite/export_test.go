package sqlite

import "os"

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
