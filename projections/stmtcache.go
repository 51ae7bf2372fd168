package projections

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the statement cache: the queries' texts are fixed
// (filters only add conditions, limits are parameters), so a few dozen
// cover every list; beyond the bound, a random entry makes room.
const maxCachedStmts = 256

// stmtCache keeps the read queries prepared, keyed by their SQL text with
// table names expanded. Parsing and planning a query costs more than
// running it on the small indexed ranges the API reads, so each statement
// is prepared once per pool and run on a transaction's connection with
// Tx.StmtContext, which prepares it once per connection and reuses it
// after. A statement is only prepared on the pool outside any transaction
// (see ReadModels.read): preparing on the pool from inside one, with every
// connection held by transactions doing the same, would wait forever.
type stmtCache struct {
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(text string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[text]
}

// prepare prepares the statements a transaction found missing. Failures
// are left for the next use to report: the transaction ran them unprepared.
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB, texts []string) {
	for _, text := range texts {
		if c.get(text) != nil {
			continue
		}
		st, err := db.PrepareContext(ctx, text)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.m == nil {
			c.m = map[string]*sql.Stmt{}
		}
		if c.m[text] != nil {
			c.mu.Unlock()
			st.Close()
			continue
		}
		if len(c.m) >= maxCachedStmts {
			for k, old := range c.m {
				// Closing waits for no one: a transaction still using it
				// keeps it open until it is done.
				old.Close()
				delete(c.m, k)
				break
			}
		}
		c.m[text] = st
		c.mu.Unlock()
	}
}
