package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
)

// testReadStream reads one stream forwards and backwards from Start, End
// and At(n), with and without Count.
func (s *suite) testReadStream(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)
	const stream = "exhibit-read"
	var want []uuid.UUID
	for i, n := range []int{4, 3, 3} {
		evs := newEvents("ExhibitWeighed", n)
		want = append(want, ids(evs)...)
		mustAppend(t, ctx, st, stream, eventstore.Any, evs...)
		// Interleave another stream so revisions and positions differ.
		mustAppend(t, ctx, st, fmt.Sprintf("exhibit-noise-%d", i), eventstore.NoStream, newEvent("ExhibitWeighed"))
	}
	pos := make(map[uuid.UUID]uint64)
	for _, e := range readAll(t, ctx, st) {
		pos[e.EventID] = e.Position
	}

	fw, bw := eventstore.Forwards, eventstore.Backwards
	cases := []struct {
		name string
		dir  eventstore.Direction
		from eventstore.From
		n    uint64
		revs []uint64
	}{
		{"forwards from start", fw, eventstore.Start, 0, span(0, 9)},
		{"forwards from start count 3", fw, eventstore.Start, 3, span(0, 2)},
		{"forwards from 0", fw, eventstore.At(0), 0, span(0, 9)},
		{"forwards from 4 count 3", fw, eventstore.At(4), 3, span(4, 6)},
		{"forwards from 8 count 5", fw, eventstore.At(8), 5, span(8, 9)},
		{"forwards from 9", fw, eventstore.At(9), 0, span(9, 9)},
		{"forwards past the end", fw, eventstore.At(10), 0, nil},
		{"backwards from end", bw, eventstore.End, 0, span(9, 0)},
		{"backwards from end count 2", bw, eventstore.End, 2, span(9, 8)},
		{"backwards from 9", bw, eventstore.At(9), 0, span(9, 0)},
		{"backwards from 5 count 3", bw, eventstore.At(5), 3, span(5, 3)},
		{"backwards from 2", bw, eventstore.At(2), 0, span(2, 0)},
		{"backwards from 0", bw, eventstore.At(0), 10, span(0, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := st.ReadStream(ctx, stream, eventstore.ReadOptions{Direction: c.dir, From: c.from, Count: c.n})
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if len(got) != len(c.revs) {
				t.Fatalf("got %d events (revisions %v), want revisions %v", len(got), revisions(got), c.revs)
			}
			for i, e := range got {
				if e.Revision != c.revs[i] || e.Stream != stream || e.EventID != want[e.Revision] {
					t.Fatalf("event %d: got %s@%d id %s, want %s@%d id %s", i, e.Stream, e.Revision, e.EventID, stream, c.revs[i], want[c.revs[i]])
				}
				if e.Position != pos[e.EventID] {
					t.Fatalf("event %d: got position %d, want %d as in the global order", i, e.Position, pos[e.EventID])
				}
			}
		})
	}

	t.Run("stream not found", func(t *testing.T) {
		for _, o := range []eventstore.ReadOptions{
			{Direction: fw, From: eventstore.Start},
			{Direction: bw, From: eventstore.End},
			{Direction: fw, From: eventstore.At(0), Count: 1},
		} {
			got, err := st.ReadStream(ctx, "exhibit-missing", o)
			if !errors.Is(err, eventstore.ErrStreamNotFound) {
				t.Fatalf("read %+v: got %d events and %v, want %v", o, len(got), err, eventstore.ErrStreamNotFound)
			}
		}
		// A prefix of an existing stream is another stream.
		if _, err := st.ReadStream(ctx, "exhibit-rea", eventstore.ReadOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Fatalf("read a prefix of a stream name: got %v, want %v", err, eventstore.ErrStreamNotFound)
		}
	})
}

func span(from, to uint64) []uint64 {
	var out []uint64
	if from <= to {
		for r := from; r <= to; r++ {
			out = append(out, r)
		}
		return out
	}
	for r := from; ; r-- {
		out = append(out, r)
		if r == to {
			return out
		}
	}
}

func revisions(evs []eventstore.RecordedEvent) []uint64 {
	out := make([]uint64, len(evs))
	for i := range evs {
		out[i] = evs[i].Revision
	}
	return out
}

type readCase struct {
	name string
	opts eventstore.ReadOptions
	want []eventstore.RecordedEvent
}

// testReadAll reads the global order forwards and backwards from Start, End
// and positions, with Count and filters.
func (s *suite) testReadAll(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)
	if got := readAll(t, ctx, st); len(got) != 0 {
		t.Fatalf("read all of an empty store: got %d events, want 0", len(got))
	}
	if got, err := st.ReadAll(ctx, eventstore.ReadOptions{Direction: eventstore.Backwards, From: eventstore.End}); err != nil || len(got) != 0 {
		t.Fatalf("read all backwards of an empty store: got %d events and %v, want none and no error", len(got), err)
	}
	type w struct{ stream, typ string }
	plan := []w{
		{"case-1", "CaseOpened"}, {"seizure-1", "SeizureRecorded"}, {"exhibit-1", "ExhibitRegistered"},
		{"exhibit-2", "ExhibitRegistered"}, {"exhibit-1", "ExhibitSealed"}, {"exhibit-2", "ExhibitSealed"},
		{"exhibits-index", "ExhibitSealed"}, {"case-1", "CaseShared"}, {"exhibit-1", "TransferOffered"},
		{"exhibit-1", "TransferAccepted"}, {"exhibit-2", "ExhibitWeighed"}, {"case-10", "CaseOpened"},
		{"seizure-1", "ExhibitSealed"}, {"exhibit-3", "ExhibitRegistered"}, {"exhibit-3", "ExhibitSealed"},
		{"case-1", "HoldPlaced"}, {"exhibit-2", "TransferOffered"}, {"exhibit-1", "ExhibitSealed"},
	}
	var want []uuid.UUID
	for i := 0; i < len(plan); {
		// Appends of one to three events of one stream.
		j := i + 1
		for j < len(plan) && j < i+3 && plan[j].stream == plan[i].stream {
			j++
		}
		var evs []eventstore.EventData
		for _, p := range plan[i:j] {
			evs = append(evs, newEvent(p.typ))
		}
		mustAppend(t, ctx, st, plan[i].stream, eventstore.Any, evs...)
		want = append(want, ids(evs)...)
		i = j
	}
	all := readAll(t, ctx, st)
	checkSameEvents(t, "global order", all, want)
	s.checkPositions(t, all)
	for i := range all {
		if all[i].Stream != plan[i].stream || all[i].Type != plan[i].typ {
			t.Fatalf("global event %d: got %s %s, want %s %s", i, all[i].Stream, all[i].Type, plan[i].stream, plan[i].typ)
		}
	}

	fw, bw := eventstore.Forwards, eventstore.Backwards
	p := func(i int) eventstore.From { return eventstore.At(all[i].Position) }
	reversed := slices.Clone(all)
	slices.Reverse(reversed)
	cases := []readCase{
		{"forwards count 5", eventstore.ReadOptions{Direction: fw, From: eventstore.Start, Count: 5}, all[:5]},
		{"forwards from position 7 count 4", eventstore.ReadOptions{Direction: fw, From: p(7), Count: 4}, all[7:11]},
		{"forwards from the last position", eventstore.ReadOptions{Direction: fw, From: p(len(all) - 1)}, all[len(all)-1:]},
		{"forwards from the first position", eventstore.ReadOptions{Direction: fw, From: p(0)}, all},
		{"backwards from end", eventstore.ReadOptions{Direction: bw, From: eventstore.End}, reversed},
		{"backwards from end count 3", eventstore.ReadOptions{Direction: bw, From: eventstore.End, Count: 3}, reversed[:3]},
		{"backwards from position 7 count 3", eventstore.ReadOptions{Direction: bw, From: p(7), Count: 3}, []eventstore.RecordedEvent{all[7], all[6], all[5]}},
		{"backwards from the first position", eventstore.ReadOptions{Direction: bw, From: p(0)}, all[:1]},
	}
	if s.opts.DensePositions {
		// Only dense positions name the place after the last event.
		cases = append(cases, readCase{"forwards past the end", eventstore.ReadOptions{Direction: fw, From: eventstore.At(uint64(len(all)))}, nil})
	}
	filters := []eventstore.Filter{
		{StreamPrefixes: []string{"exhibit-"}},
		{StreamPrefixes: []string{"case-", "seizure-"}},
		{StreamPrefixes: []string{"case-1"}},
		{EventTypes: []string{"ExhibitSealed"}},
		{EventTypes: []string{"CaseOpened", "TransferOffered"}},
		{StreamPrefixes: []string{"exhibit-"}, EventTypes: []string{"ExhibitSealed", "TransferOffered"}},
		{StreamPrefixes: []string{"nothing-"}},
		{EventTypes: []string{"Unknown"}},
	}
	for _, f := range filters {
		var match []eventstore.RecordedEvent
		for _, e := range all {
			if f.Match(e.Stream, e.Type) {
				match = append(match, e)
			}
		}
		rmatch := slices.Clone(match)
		slices.Reverse(rmatch)
		name := fmt.Sprintf("filter %v %v", f.StreamPrefixes, f.EventTypes)
		cases = append(cases,
			readCase{name + " forwards", eventstore.ReadOptions{Direction: fw, From: eventstore.Start, Filter: f}, match},
			readCase{name + " forwards count 2", eventstore.ReadOptions{Direction: fw, From: eventstore.Start, Count: 2, Filter: f}, match[:min(2, len(match))]},
			readCase{name + " backwards count 2", eventstore.ReadOptions{Direction: bw, From: eventstore.End, Count: 2, Filter: f}, rmatch[:min(2, len(rmatch))]},
		)
		var after []eventstore.RecordedEvent
		for _, e := range match {
			if e.Position >= all[9].Position {
				after = append(after, e)
			}
		}
		cases = append(cases, readCase{name + " forwards from position 9", eventstore.ReadOptions{Direction: fw, From: p(9), Filter: f}, after})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := st.ReadAll(ctx, c.opts)
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d events at positions %v, want positions %v", len(got), positions(got), positions(c.want))
			}
			for i := range got {
				if got[i].EventID != c.want[i].EventID || got[i].Position != c.want[i].Position {
					t.Fatalf("event %d: got %s at %d, want %s at %d", i, got[i].EventID, got[i].Position, c.want[i].EventID, c.want[i].Position)
				}
			}
		})
	}
}
