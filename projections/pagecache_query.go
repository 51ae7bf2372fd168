package projections

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// pageCache keeps the last rows each exhibit list query returned, with the
// position the custody projection had applied when it ran. The custody
// tables change only in the runner's batches and swaps, each of which
// moves that position (after its commit), so rows read at an unchanged
// position are still the rows a query would read: many clients asking for
// the same page between two batches share one query. A read-your-writes
// wait happens before the position is taken, so a page is never older than
// the position a client waited for. Only the overdue flag depends on the
// asking time: it is computed again on every use. Without a runner in the
// process (tools), nothing is cached.
type pageCache struct {
	mu sync.Mutex
	m  map[string]cachedPage
}

type cachedPage struct {
	at    int64
	items []ExhibitCustody // never modified once stored
}

const maxCachedPages = 512

// key returns the cache key of a query and the projection's applied
// position, taken now; ok is false when nothing may be cached.
func (c *pageCache) key(r *Runner, projection, text string, args []any) (string, int64, bool) {
	if r == nil {
		return "", 0, false
	}
	r.mu.Lock()
	at, ok := r.applied[projection]
	r.mu.Unlock()
	if !ok {
		return "", 0, false
	}
	var b strings.Builder
	b.WriteString(text)
	for _, a := range args {
		b.WriteByte(0)
		switch v := a.(type) {
		case string:
			b.WriteByte('s')
			b.WriteString(v)
		case int:
			b.WriteByte('i')
			b.WriteString(strconv.Itoa(v))
		case int64:
			b.WriteByte('i')
			b.WriteString(strconv.FormatInt(v, 10))
		default:
			return "", 0, false
		}
	}
	return b.String(), at, true
}

// get returns a copy of the rows cached for key at position at, with the
// overdue flags judged against now.
func (c *pageCache) get(key string, at int64, now time.Time) ([]ExhibitCustody, bool) {
	c.mu.Lock()
	p, ok := c.m[key]
	c.mu.Unlock()
	if !ok || p.at != at {
		return nil, false
	}
	items := make([]ExhibitCustody, len(p.items), max(len(p.items), 1))
	copy(items, p.items)
	for i := range items {
		items[i].Flags.Overdue = items[i].Checkout != nil && now.After(items[i].Checkout.DueAt)
	}
	return items, true
}

func (c *pageCache) put(key string, at int64, items []ExhibitCustody) {
	stored := make([]ExhibitCustody, len(items))
	copy(stored, items)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedPages {
		c.m = map[string]cachedPage{}
	}
	if old, ok := c.m[key]; ok && old.at > at {
		return
	}
	c.m[key] = cachedPage{at: at, items: stored}
}
