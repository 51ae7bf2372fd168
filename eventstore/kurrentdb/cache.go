package kurrentdb

import (
	"context"
	"hash/fnv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

// stripes is the number of stream locks: appends to streams of one stripe
// run one at a time in this process.
const stripes = 1024

// streamIndex is what the store knows of a stream's prefix: its head and
// every event ID up to it. Streams are append-only, so a prefix read once
// stays true; an append reads only the events after it. It is read and
// changed only under the stream's stripe lock.
type streamIndex struct {
	exists     bool
	last       uint64      // revision of the last event known
	hash       ledger.Hash // its hash
	recordedAt time.Time   // its recorded_at
	ids        map[uuid.UUID]uint64
}

// next is the revision the stream's next event gets.
func (x *streamIndex) next() uint64 {
	if !x.exists {
		return 0
	}
	return x.last + 1
}

// cache holds the stream indices and, for every ID they hold and every
// append in flight, the stream it belongs to: the process-wide part of the
// idempotency check.
type cache struct {
	locks [stripes]chan struct{}

	mu      sync.Mutex
	streams map[string]*streamIndex
	owners  map[uuid.UUID]string
	size    int // IDs held by the indices
	limit   int
}

func newCache(limit int) *cache {
	c := &cache{streams: map[string]*streamIndex{}, owners: map[uuid.UUID]string{}, limit: limit}
	for i := range c.locks {
		c.locks[i] = make(chan struct{}, 1)
	}
	return c
}

func (c *cache) stripe(stream string) chan struct{} {
	h := fnv.New32a()
	h.Write([]byte(stream))
	return c.locks[h.Sum32()%stripes]
}

// lock takes the stream's stripe lock, or fails with ctx's error.
func (c *cache) lock(ctx context.Context, stream string) (unlock func(), err error) {
	l := c.stripe(stream)
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// index returns the stream's index, creating an empty one. The caller holds
// the stream's lock.
func (c *cache) index(stream string) *streamIndex {
	c.mu.Lock()
	defer c.mu.Unlock()
	x, ok := c.streams[stream]
	if !ok {
		x = &streamIndex{ids: map[uuid.UUID]uint64{}}
		c.streams[stream] = x
	}
	return x
}

// owner returns the stream an ID was seen in or is being appended to.
func (c *cache) owner(id uuid.UUID) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.owners[id]
	return s, ok
}

// extend records events read or written at the end of the stream, in
// revision order. The caller holds the stream's lock and has checked that
// evs follow x's head.
func (c *cache) extend(stream string, x *streamIndex, evs []eventstore.RecordedEvent) {
	if len(evs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	live := c.streams[stream] == x
	for i := range evs {
		e := &evs[i]
		if _, dup := x.ids[e.EventID]; !dup {
			x.ids[e.EventID] = e.Revision
			if live {
				c.size++
			}
		}
		if live {
			c.owners[e.EventID] = stream
		}
	}
	last := &evs[len(evs)-1]
	x.exists, x.last, x.hash, x.recordedAt = true, last.Revision, last.Hash, last.RecordedAt
	if live && c.size > c.limit {
		c.evict(stream)
	}
}

// evict drops whole stream indices, other than keep's and those whose lock
// is taken, until the cache is under its limit. The caller holds c.mu.
func (c *cache) evict(keep string) {
	for name, x := range c.streams {
		if c.size <= c.limit {
			return
		}
		if name == keep {
			continue
		}
		l := c.stripe(name)
		select {
		case l <- struct{}{}:
		default:
			continue // in use: its holder may be extending it
		}
		for id := range x.ids {
			if c.owners[id] == name {
				delete(c.owners, id)
			}
		}
		c.size -= len(x.ids)
		delete(c.streams, name)
		<-l
	}
}

// reserve claims the IDs of an append to stream before it is sent, so that
// two appends of this process cannot write one ID to two streams. It
// returns the IDs it claimed (to release if the append fails), or the first
// ID another stream holds.
func (c *cache) reserve(stream string, ids []uuid.UUID) (claimed []uuid.UUID, taken uuid.UUID, by string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if o, ok := c.owners[id]; ok && o != stream {
			return nil, id, o
		}
	}
	for _, id := range ids {
		if _, ok := c.owners[id]; !ok {
			c.owners[id] = stream
			claimed = append(claimed, id)
		}
	}
	return claimed, uuid.Nil, ""
}

// release drops claims of an append that did not write, unless the stream
// index has learnt the ID meanwhile.
func (c *cache) release(stream string, x *streamIndex, claimed []uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range claimed {
		if _, known := x.ids[id]; known && c.streams[stream] == x {
			continue
		}
		if c.owners[id] == stream {
			delete(c.owners, id)
		}
	}
}
