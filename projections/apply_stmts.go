package projections

import (
	"context"
	"database/sql"
	"sync"
)

// writeStmts keeps the statements of projection batches prepared on the
// writer connection from one batch to the next: parsing a statement costs
// more than running it on a small live batch. A statement first met in a
// batch is prepared on the batch's transaction and noted; once the
// transaction has given the connection back, it is prepared for good
// (preparing on the pool's only connection while a transaction holds it
// would wait forever). Keys are expanded statements: a new generation's
// tables make new keys, and clear drops them all when tables are dropped.
type writeStmts struct {
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	misses map[string]bool
}

// maxWriteStmts bounds the cache; it is emptied when full.
const maxWriteStmts = 2048

func (c *writeStmts) get(text string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stmts[text]
	if s == nil {
		if c.misses == nil {
			c.misses = map[string]bool{}
		}
		c.misses[text] = true
	}
	return s
}

// prepare prepares the statements missed since the last call on db, which
// no transaction may hold. A statement that fails to prepare is left out:
// the next batch prepares it on its transaction again and reports errors.
func (c *writeStmts) prepare(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.misses) == 0 {
		return
	}
	if c.stmts == nil || len(c.stmts)+len(c.misses) > maxWriteStmts {
		c.clearLocked()
	}
	for text := range c.misses {
		if s, err := db.PrepareContext(ctx, text); err == nil {
			c.stmts[text] = s
		}
	}
	clear(c.misses)
}

// clear closes every statement; call it when tables were dropped.
func (c *writeStmts) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
}

func (c *writeStmts) clearLocked() {
	for _, s := range c.stmts {
		s.Close()
	}
	c.stmts = map[string]*sql.Stmt{}
	clear(c.misses)
}
