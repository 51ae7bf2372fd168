package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/scelle-ledger/scelle/eventstore"
)

// maxCount is the count sent for "every event", as the official clients do
// (long.MaxValue on the server side).
const maxCount = math.MaxInt64

// allPage is the number of $all events a ReadAll asks for at a time; it
// reads page after page while the filter keeps too few.
const allPage = 512

func checkDirection(d eventstore.Direction) error {
	if d != eventstore.Forwards && d != eventstore.Backwards {
		return &eventstore.InvalidError{Field: "direction", Reason: fmt.Sprintf("unknown value %d", d)}
	}
	return nil
}

// recvAll calls fn for every event of a read, until its end.
func recvAll(rs *esdb.ReadStream, fn func(*esdb.ResolvedEvent) error) (err error) {
	defer rs.Close()
	defer func() {
		// The v4 client panics on a read message it does not know.
		if p := recover(); p != nil {
			err = fmt.Errorf("kurrentdb client: %v", p)
		}
	}()
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return mapErr(err)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// scanStream reads stream in the given direction from from, at most count
// events, and calls fn with each one decoded. A stream that does not exist
// fails with an error matching eventstore.ErrStreamNotFound.
func (s *Store) scanStream(ctx context.Context, stream string, dir esdb.Direction, from esdb.StreamPosition, count uint64, fn func(eventstore.RecordedEvent) error) error {
	rs, err := s.client.ReadStream(ctx, s.ns+stream, esdb.ReadStreamOptions{Direction: dir, From: from, RequiresLeader: true}, count)
	if err != nil {
		return mapErr(err)
	}
	return recvAll(rs, func(ev *esdb.ResolvedEvent) error {
		e, err := decodeEvent(s.ns, ev.Event)
		if err != nil {
			return err
		}
		return fn(e)
	})
}

// ReadStream reads one stream from opts.From (a revision, inclusive),
// forwards or backwards, at most opts.Count events (0: all). Backwards from
// Start reads revision 0 only.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadOptions) ([]eventstore.RecordedEvent, error) {
	if err := eventstore.ValidateStreamName(stream); err != nil {
		return nil, err
	}
	if err := checkDirection(opts.Direction); err != nil {
		return nil, err
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	op := "read stream " + stream
	dir, count := esdb.Forwards, opts.Count
	if opts.Direction == eventstore.Backwards {
		dir = esdb.Backwards
	}
	if count == 0 || count > maxCount {
		count = maxCount
	}
	var from esdb.StreamPosition
	v, at := opts.From.Value()
	switch {
	case at && v <= maxCount:
		from = esdb.Revision(v)
	case opts.From.IsStart() && dir == esdb.Backwards:
		from = esdb.Revision(0)
	case opts.From.IsStart():
		from = esdb.Start{}
	case dir == esdb.Backwards: // End, or a revision past any stream's end
		from = esdb.End{}
	default:
		// Forwards from End (or from past any end): nothing to read, but
		// a missing stream is still reported.
		from, count = esdb.End{}, 1
		err := s.scanStream(ctx, stream, esdb.Backwards, from, count, func(eventstore.RecordedEvent) error { return nil })
		if err != nil {
			return nil, s.fail(ctx, op, err)
		}
		return nil, nil
	}
	var out []eventstore.RecordedEvent
	err := s.scanStream(ctx, stream, dir, from, count, func(e eventstore.RecordedEvent) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return out, nil
}

// scanAll reads $all raw (every event, system ones included) in the given
// direction from from, at most count events, and calls fn with each.
func (s *Store) scanAll(ctx context.Context, dir esdb.Direction, from esdb.AllPosition, count uint64, fn func(*esdb.RecordedEvent) error) error {
	rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: dir, From: from}, count)
	if err != nil {
		return mapErr(err)
	}
	return recvAll(rs, func(ev *esdb.ResolvedEvent) error {
		if ev.Event == nil {
			return nil
		}
		return fn(ev.Event)
	})
}

// at is the $all position of an event whose commit position is p. Events
// that scelle writes are single-event records, committed where they are
// prepared, so both halves are the same.
func at(p uint64) esdb.Position { return esdb.Position{Commit: p, Prepare: p} }

// ReadAll reads the global order from opts.From (a position, inclusive),
// forwards or backwards, keeping the events of this store that match
// opts.Filter, at most opts.Count of them (0: all). A position MUST be one
// that an event of the store was read at: KurrentDB positions are byte
// offsets in its log, and the server may refuse any other. Backwards from
// Start reads nothing (no KurrentDB event is at position 0).
func (s *Store) ReadAll(ctx context.Context, opts eventstore.ReadOptions) ([]eventstore.RecordedEvent, error) {
	if err := checkDirection(opts.Direction); err != nil {
		return nil, err
	}
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	var (
		out  []eventstore.RecordedEvent
		done = errors.New("done")
	)
	keep := func(r *esdb.RecordedEvent) error {
		if !ours(s.ns, r.StreamID, r.EventType) || !opts.Filter.Match(r.StreamID[len(s.ns):], r.EventType) {
			return nil
		}
		e, err := decodeEvent(s.ns, r)
		if err != nil {
			return err
		}
		out = append(out, e)
		if opts.Count > 0 && uint64(len(out)) >= opts.Count {
			return done
		}
		return nil
	}
	var err error
	if opts.Direction == eventstore.Forwards {
		err = s.readAllForwards(ctx, opts.From, keep)
	} else {
		err = s.readAllBackwards(ctx, opts.From, keep)
	}
	if err != nil && !errors.Is(err, done) {
		return nil, s.fail(ctx, "read all", err)
	}
	return out, nil
}

// readAllForwards pages through $all from from (inclusive). Each next page
// starts at the last event seen (positions are inclusive and must be real
// ones), which it skips.
func (s *Store) readAllForwards(ctx context.Context, from eventstore.From, keep func(*esdb.RecordedEvent) error) error {
	var pos esdb.AllPosition
	switch v, isAt := from.Value(); {
	case from.IsEnd():
		return nil
	case isAt:
		pos = at(v)
	default:
		pos = esdb.Start{}
	}
	var last uint64
	skip := false
	for {
		n := 0
		err := s.scanAll(ctx, esdb.Forwards, pos, allPage, func(r *esdb.RecordedEvent) error {
			n++
			p := r.Position.Commit
			if skip && p == last {
				return nil
			}
			last = p
			return keep(r)
		})
		if err != nil {
			return err
		}
		if n < allPage {
			return nil
		}
		pos, skip = at(last), true
	}
}

// readAllBackwards pages through $all backwards from from (inclusive).
// KurrentDB reads backwards strictly before the position it is given, so a
// read from At(p) starts at the first event after p (or at the end).
func (s *Store) readAllBackwards(ctx context.Context, from eventstore.From, keep func(*esdb.RecordedEvent) error) error {
	var pos esdb.AllPosition = esdb.End{}
	if v, isAt := from.Value(); isAt {
		found := false
		err := s.scanAll(ctx, esdb.Forwards, at(v), 2, func(r *esdb.RecordedEvent) error {
			if !found && r.Position.Commit > v {
				pos, found = at(r.Position.Commit), true
			}
			return nil
		})
		if err != nil {
			return err
		}
	} else if from.IsStart() {
		return nil
	}
	// With no event after p the read starts at the end, where events
	// written since the probe may be: they are after p, and dropped.
	limit, bounded := from.Value()
	for {
		n := 0
		var lowest uint64
		err := s.scanAll(ctx, esdb.Backwards, pos, allPage, func(r *esdb.RecordedEvent) error {
			n++
			lowest = r.Position.Commit
			if bounded && lowest > limit {
				return nil
			}
			return keep(r)
		})
		if err != nil {
			return err
		}
		if n < allPage {
			return nil
		}
		pos = at(lowest)
	}
}
