package sqlite

import (
	"context"
	"sync"
)

// readStmts keeps the statements of Store.query prepared on each read
// connection, keyed by their text: preparing one costs about as much as
// running it on the short reads that repeat most (a subscription's next
// page behind a live batch, a feed page's events). A connection is used by
// one goroutine at a time (inside sql.Conn.Raw), so its statements are
// never run concurrently.
type readStmts struct {
	mu sync.Mutex
	by map[any]map[string]*rawStmt // driver connection -> text -> statement
}

// maxReadStmts bounds the statements kept per connection: filters make
// new texts (their placeholders vary), which past the bound are prepared
// for one use, as before.
const maxReadStmts = 32

// get returns q prepared on the driver connection dc, and whether it is
// kept (false: the caller closes it after use).
func (c *readStmts) get(ctx context.Context, dc any, q string) (*rawStmt, bool, error) {
	c.mu.Lock()
	st := c.by[dc][q]
	c.mu.Unlock()
	if st != nil {
		return st, true, nil
	}
	st, err := prepareRaw(ctx, dc, q)
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[any]map[string]*rawStmt{}
	}
	m := c.by[dc]
	if m == nil {
		m = map[string]*rawStmt{}
		c.by[dc] = m
	}
	if len(m) >= maxReadStmts {
		return st, false, nil
	}
	m[q] = st
	return st, true, nil
}

// closeConn closes the statements kept on the driver connection dc; the
// connection closes them when it closes (see readConn).
func (c *readStmts) closeConn(dc any) error {
	c.mu.Lock()
	m := c.by[dc]
	delete(c.by, dc)
	c.mu.Unlock()
	var first error
	for _, st := range m {
		if err := st.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
