package kurrentdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
)

// refreshBatch is the number of events a stream refresh hands to the cache
// at a time, so that reading a long stream holds one batch in memory.
const refreshBatch = 1024

// Append writes events to the end of stream if its revision matches
// expected (see eventstore.Store and the package doc for the steps).
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.ValidateAppend(stream, expected, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.begin(ctx); err != nil {
		return eventstore.AppendResult{}, err
	}
	op := "append to " + stream
	unlock, err := s.cache.lock(ctx, stream)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	defer unlock()
	x := s.cache.index(stream)
	for attempt := 0; ; attempt++ {
		if err := s.refresh(ctx, stream, x); err != nil {
			return eventstore.AppendResult{}, s.fail(ctx, op, err)
		}
		// A retry of an append already written wins over the revision check.
		if res, err, decided := s.retried(ctx, stream, x, events); decided {
			return res, err
		}
		if !expected.Check(x.last, x.exists) {
			return eventstore.AppendResult{}, &eventstore.WrongRevisionError{Stream: stream, Expected: expected, Actual: x.last, Exists: x.exists}
		}
		if attempt > s.opts.MaxConflictRetries {
			return eventstore.AppendResult{}, fmt.Errorf("kurrentdb: %s: other writers moved the stream between each read of its head and the write, %d times: giving up", op, attempt)
		}
		res, err := s.write(ctx, stream, x, events)
		if errors.Is(err, errWrongExpectedVersion) {
			// Another process wrote meanwhile: read what it wrote and
			// decide again, against the caller's own expectation.
			continue
		}
		return res, err
	}
}

// refresh reads the events of stream after x's head into x, checking that
// they follow it (revisions and hash chain).
func (s *Store) refresh(ctx context.Context, stream string, x *streamIndex) error {
	var from esdb.StreamPosition = esdb.Start{}
	if x.exists {
		from = esdb.Revision(x.next())
	}
	batch := make([]eventstore.RecordedEvent, 0, 16)
	want, prev := x.next(), x.hash
	err := s.scanStream(ctx, stream, esdb.Forwards, from, maxCount, func(e eventstore.RecordedEvent) error {
		if e.Revision != want {
			return fmt.Errorf("stream %s: got revision %d, want %d", stream, e.Revision, want)
		}
		if e.PrevHash != prev {
			return fmt.Errorf("stream %s@%d: got prev_hash %s, want %s: the hash chain is broken", stream, e.Revision, e.PrevHash, prev)
		}
		want, prev = e.Revision+1, e.Hash
		e.Payload = nil // the index keeps IDs only
		batch = append(batch, e)
		if len(batch) == refreshBatch {
			s.cache.extend(stream, x, batch)
			batch = batch[:0]
		}
		return nil
	})
	s.cache.extend(stream, x, batch)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		if x.exists {
			return fmt.Errorf("stream %s is gone though its revision %d was read: was it deleted outside scelle? %w", stream, x.last, err)
		}
		return nil
	}
	return err
}

// retried decides an append some of whose event IDs are already known, in
// this stream (x, complete up to its head) or, as far as this process has
// seen, in another one. decided is false if none is.
func (s *Store) retried(ctx context.Context, stream string, x *streamIndex, events []eventstore.EventData) (res eventstore.AppendResult, err error, decided bool) {
	revs := make([]int64, len(events))
	nfound := 0
	for i := range events {
		revs[i] = -1
		if rev, ok := x.ids[events[i].ID]; ok {
			revs[i] = int64(rev)
			nfound++
			continue
		}
		if other, ok := s.cache.owner(events[i].ID); ok && other != stream {
			return res, &eventstore.IDReusedError{ID: events[i].ID, Stream: stream,
				Reason: fmt.Sprintf("already written to stream %q", other)}, true
		}
	}
	if nfound == 0 {
		return res, nil, false
	}
	if nfound < len(events) {
		written, fresh := -1, -1
		for i := range revs {
			if revs[i] >= 0 && written < 0 {
				written = i
			} else if revs[i] < 0 && fresh < 0 {
				fresh = i
			}
		}
		return res, &eventstore.IDReusedError{ID: events[written].ID, Stream: stream,
			Reason: fmt.Sprintf("events[%d] was already written but events[%d] is new: a retry must repeat the original append exactly", written, fresh)}, true
	}
	for i := range revs {
		if revs[i] != revs[0]+int64(i) {
			return res, &eventstore.IDReusedError{ID: events[i].ID, Stream: stream,
				Reason: fmt.Sprintf("already written at revision %d, not in the order of this append", revs[i])}, true
		}
	}
	stored, err := s.readRange(ctx, stream, uint64(revs[0]), len(events))
	if err != nil {
		return res, s.fail(ctx, "append to "+stream+": read the original append", err), true
	}
	for i := range stored {
		if !eventstore.SameContent(&stored[i], &events[i]) {
			return res, &eventstore.IDReusedError{ID: events[i].ID, Stream: stream,
				Reason: fmt.Sprintf("already written at revision %d with other content", stored[i].Revision)}, true
		}
	}
	last := &stored[len(stored)-1]
	return eventstore.AppendResult{Revision: last.Revision, Position: last.Position}, nil, true
}

// readRange reads n events of stream from revision from, and fails unless
// it gets exactly those.
func (s *Store) readRange(ctx context.Context, stream string, from uint64, n int) ([]eventstore.RecordedEvent, error) {
	out := make([]eventstore.RecordedEvent, 0, n)
	err := s.scanStream(ctx, stream, esdb.Forwards, esdb.Revision(from), uint64(n), func(e eventstore.RecordedEvent) error {
		if want := from + uint64(len(out)); e.Revision != want {
			return fmt.Errorf("stream %s: got revision %d, want %d", stream, e.Revision, want)
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) != n {
		return nil, fmt.Errorf("stream %s: read %d events from revision %d, want %d", stream, len(out), from, n)
	}
	return out, nil
}

// write seals events onto x's head (envelopes and hash chain), appends them
// expecting exactly that head, and reads them back for their positions. A
// server-side conflict returns errWrongExpectedVersion and writes nothing.
func (s *Store) write(ctx context.Context, stream string, x *streamIndex, events []eventstore.EventData) (eventstore.AppendResult, error) {
	op := "append to " + stream
	now := s.now().UTC().Round(0)
	if now.Before(x.recordedAt) {
		now = x.recordedAt // recorded_at never runs backwards within a stream
	}
	first := x.next()
	recs, err := eventstore.Chain(make([]eventstore.RecordedEvent, 0, len(events)), stream, first, now, x.hash, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	data := make([]esdb.EventData, len(events))
	ids := make([]uuid.UUID, len(events))
	for i := range events {
		ev := &events[i]
		if data[i], err = encodeEvent(&recs[i]); err != nil {
			return eventstore.AppendResult{}, &eventstore.InvalidError{Field: fmt.Sprintf("events[%d]", i), Reason: err.Error()}
		}
		ids[i] = ev.ID
	}
	claimed, taken, by := s.cache.reserve(stream, ids)
	if taken != uuid.Nil {
		return eventstore.AppendResult{}, &eventstore.IDReusedError{ID: taken, Stream: stream,
			Reason: fmt.Sprintf("written or being written to stream %q", by)}
	}
	var exp esdb.ExpectedRevision = esdb.NoStream{}
	if x.exists {
		exp = esdb.Revision(x.last)
	}
	if _, err := s.client.AppendToStream(ctx, s.ns+stream, esdb.AppendToStreamOptions{ExpectedRevision: exp, RequiresLeader: true}, data...); err != nil {
		s.cache.release(stream, x, claimed)
		if isWrongExpectedVersion(err) {
			return eventstore.AppendResult{}, errWrongExpectedVersion
		}
		return eventstore.AppendResult{}, s.fail(ctx, op, err)
	}
	// The append's result carries one position for the whole append; each
	// event's own position (the one $all reports) comes from reading them.
	// The read also shows what KurrentDB kept if it took the append for a
	// retry of events another writer wrote at the same revisions.
	got, err := s.readRange(ctx, stream, first, len(events))
	if err != nil {
		return eventstore.AppendResult{}, s.fail(ctx, op+": read back", err)
	}
	if got[0].PrevHash != x.hash {
		return eventstore.AppendResult{}, fmt.Errorf("kurrentdb: %s: read back %s@%d with prev_hash %s, want %s", op, stream, first, got[0].PrevHash, x.hash)
	}
	s.cache.extend(stream, x, got)
	for i := range got {
		if got[i].EventID != ids[i] || !eventstore.SameContent(&got[i], &events[i]) {
			return eventstore.AppendResult{}, &eventstore.IDReusedError{ID: ids[i], Stream: stream,
				Reason: fmt.Sprintf("another writer wrote revision %d with other content at the same time", got[i].Revision)}
		}
	}
	last := &got[len(got)-1]
	return eventstore.AppendResult{Revision: last.Revision, Position: last.Position}, nil
}
