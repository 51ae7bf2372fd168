package api

import (
	"maps"
	"slices"
	"sync"

	"github.com/scelle-ledger/scelle/domain"
)

// streamCache keeps the decoded events of recently used streams, so that a
// command does not re-read and re-decode its case, seizure and related
// exhibits on every call. It stays exact: every append this server makes
// extends the cached stream it wrote (or drops it), and a read never
// stores a result that an append may have overtaken (each stream's write
// generation is compared before storing). The embedded SQLite store is
// opened by one process only, so no other writer can go unseen; with
// KurrentDB, other servers may write too, and a stale entry makes an
// append fail with a revision conflict, which drops the entry and decides
// the command again (execute).
type streamCache struct {
	mu      sync.Mutex
	streams map[string]cachedStream
	gen     map[string]uint64
	epoch   uint64
	limit   int
}

type cachedStream struct {
	events []domain.Event // never modified once stored: appends copy; nil once state is set
	rev    uint64
	// state is events folded (nil until a load asks for it). It is shared
	// by concurrent commands, which only read it (domain.Decide never
	// modifies a view): an append folds its events into a copy (advance).
	state domain.State
}

func newStreamCache(limit int) *streamCache {
	return &streamCache{streams: map[string]cachedStream{}, gen: map[string]uint64{}, limit: limit}
}

// get returns the cached events of stream.
func (c *streamCache) get(stream string) ([]domain.Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.streams[stream]
	return s.events, ok && s.events != nil
}

// ticket is taken before reading a stream from the store; put stores the
// read only if no append happened since.
type ticket struct{ gen, epoch uint64 }

func (c *streamCache) ticket(stream string) ticket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ticket{gen: c.gen[stream], epoch: c.epoch}
}

func (c *streamCache) put(stream string, t ticket, events []domain.Event) {
	if len(events) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.epoch != c.epoch || t.gen != c.gen[stream] {
		return
	}
	if len(c.streams) >= c.limit {
		// Crude but exact: forget everything.
		clear(c.streams)
		clear(c.gen)
		c.epoch++
		return
	}
	c.streams[stream] = cachedStream{events: events, rev: uint64(len(events) - 1)}
}

// appended records an append of events at revisions first.. to stream.
func (c *streamCache) appended(stream string, first uint64, events []domain.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[stream]++
	s, ok := c.streams[stream]
	if !ok {
		return
	}
	if s.rev+1 != first {
		delete(c.streams, stream)
		return
	}
	if s.state != nil {
		// Commands need only the state: the events are dropped rather
		// than copied on every append of a growing stream.
		c.streams[stream] = cachedStream{rev: s.rev + uint64(len(events)), state: advance(s.state, events)}
		return
	}
	c.streams[stream] = cachedStream{events: slices.Concat(s.events, events), rev: s.rev + uint64(len(events))}
}

// state returns the folded state of a cached stream, if it was folded.
func (c *streamCache) state(stream string) (domain.State, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.streams[stream]
	return s.state, ok && s.state != nil
}

// setState remembers st, the fold of the first n events of stream, if the
// cache still holds exactly those.
func (c *streamCache) setState(stream string, n int, st domain.State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.streams[stream]
	if !ok || s.state != nil || len(s.events) != n {
		return
	}
	s.state = st
	c.streams[stream] = s
}

// advance folds events into a copy of st, leaving st as it was. Apply
// modifies a state's maps and appends to its slices; it replaces, never
// modifies, what its pointers point to. So the copy clones the maps and
// clips the slices (TestAdvance_copiesEveryContainer fails if a state type
// gains a container this does not copy).
func advance(st domain.State, events []domain.Event) domain.State {
	switch x := st.(type) {
	case *domain.Exhibit:
		y := *x
		y.Reports, y.Discrepancies, y.Holds = maps.Clone(x.Reports), maps.Clone(x.Discrepancies), maps.Clone(x.Holds)
		y.SubSamples = slices.Clip(x.SubSamples)
		for _, e := range events {
			y.Apply(e)
		}
		return &y
	case *domain.Case:
		y := *x
		y.Shares, y.Holds = maps.Clone(x.Shares), maps.Clone(x.Holds)
		for _, e := range events {
			y.Apply(e)
		}
		return &y
	case *domain.Seizure:
		y := *x
		for _, e := range events {
			y.Apply(e)
		}
		return &y
	}
	return nil
}

// drop forgets a stream (after a revision conflict on it).
func (c *streamCache) drop(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[stream]++
	delete(c.streams, stream)
}
