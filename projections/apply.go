package projections

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/scelle-ledger/scelle/domain"
	"github.com/scelle-ledger/scelle/eventstore"
)

// Interest says what a projection needs of the events of one type.
type Interest uint8

const (
	// Skip: Apply is not called for the type.
	Skip Interest = iota
	// Envelope: Apply is called with Data nil; the projection reads only
	// the recorded event (stream, revision, position, times, actor).
	Envelope
	// Payload: Apply is called with the decoded payload in Data.
	Payload
)

// Selective is implemented by projections that need only some event types
// or only the envelope of some. The runner decodes a payload only if a
// projection it feeds asks for it (each payload once, whatever the number
// of projections), and calls Apply only for the types a projection does
// not skip, live and in rebuilds alike. A projection that is not Selective
// sees every event with its payload decoded.
type Selective interface {
	Interest(eventType string) Interest
}

func interestOf(p Projection, eventType string) Interest {
	if s, ok := p.(Selective); ok {
		return s.Interest(eventType)
	}
	return Payload
}

// wantsPayload reports whether any of projs needs eventType's payload.
func wantsPayload(projs []Projection, eventType string) bool {
	for _, p := range projs {
		if interestOf(p, eventType) == Payload {
			return true
		}
	}
	return false
}

// decodeFor wraps rec as an Event, decoding its payload only if one of
// projs needs it.
func (r *Runner) decodeFor(projs []Projection, rec *eventstore.RecordedEvent, ev *Event) error {
	ev.RecordedEvent = rec
	ev.Data = nil
	if r.opts.Decode == nil || !wantsPayload(projs, rec.Type) {
		return nil
	}
	d, err := r.opts.Decode(ev.RecordedEvent)
	if err != nil {
		return fmt.Errorf("projections: decode event at position %d (%s, %s rev %d): %w",
			rec.Position, rec.Type, rec.Stream, rec.Revision, err)
	}
	ev.Data = d
	return nil
}

// decodeAll wraps and decodes recs for projs, on every core when the page
// is large: decoding is the costliest step of a rebuild after the writes.
func (r *Runner) decodeAll(projs []Projection, recs []eventstore.RecordedEvent) ([]Event, error) {
	evs := make([]Event, len(recs))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(recs)/512))
	if workers == 1 {
		for i := range recs {
			if err := r.decodeFor(projs, &recs[i], &evs[i]); err != nil {
				return nil, err
			}
		}
		return evs, nil
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	per := (len(recs) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*per, min(len(recs), (w+1)*per)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				if err := r.decodeFor(projs, &recs[i], &evs[i]); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return evs, nil
}

// inChunk is the most values of one "IN (...)" list a preload binds.
const inChunk = 256

// forChunks calls f with the statement's IN list ("?, ?, ...") and
// arguments for each chunk of ids.
func forChunks(ids []string, f func(in string, args []any) error) error {
	for len(ids) > 0 {
		k := min(inChunk, len(ids))
		args := make([]any, k)
		for i, id := range ids[:k] {
			args[i] = id
		}
		in := "?" + strings.Repeat(", ?", k-1)
		if err := f(in, args); err != nil {
			return err
		}
		ids = ids[k:]
	}
	return nil
}

// idSet collects distinct IDs in first-seen order.
// addBatchExhibits adds the exhibits a batch's events concern: each
// exhibit stream's own, and those a seizure record or a sub-sampling
// names; also, if holds is set, the exhibit a hold is placed on or
// released from.
func (s *idSet) addBatchExhibits(batch []Event, holds bool) {
	for i := range batch {
		ev := &batch[i]
		if rest, ok := strings.CutPrefix(ev.Stream, "exhibit-"); ok {
			s.add(rest)
		}
		switch e := ev.Data.(type) {
		case domain.SeizureRecorded:
			for _, id := range e.ExhibitIDs {
				s.add(id.String())
			}
		case domain.SubSampleTaken:
			s.add(e.SubSampleID.String())
		case domain.HoldPlaced:
			if holds && e.ExhibitID != nil {
				s.add(e.ExhibitID.String())
			}
		case domain.HoldReleased:
			if holds && e.ExhibitID != nil {
				s.add(e.ExhibitID.String())
			}
		}
	}
}

// memoExists reports whether table (a {name} of the projection's tables)
// has a row for exhibit id, remembering the answer in seen for the rest of
// the batch.
func memoExists(tx *Tx, seen map[string]bool, table, id string) (bool, error) {
	if v, ok := seen[id]; ok {
		return v, nil
	}
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM `+table+` WHERE exhibit_id = ?`, id).Scan(&n); err != nil {
		return false, err
	}
	seen[id] = n > 0
	return n > 0, nil
}

type idSet struct {
	seen map[string]bool
	ids  []string
}

func (s *idSet) add(id string) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if !s.seen[id] {
		s.seen[id] = true
		s.ids = append(s.ids, id)
	}
}

// preloadMin: a batch of fewer events is not worth a preload's statements.
const preloadMin = 32

// applyBatch applies to p, in generation t, the events of batch after
// position after that p does not skip.
func (r *Runner) applyBatch(ctx context.Context, tx *sql.Tx, p Projection, t Tables, after int64, batch []Event) error {
	return applyBatchTo(ctx, tx, &r.stmts, p, t, after, batch)
}

// applyBatchTo is applyBatch on a transaction of any database: cache keeps
// statements prepared on that database's connection (nil: none kept).
func applyBatchTo(ctx context.Context, tx *sql.Tx, cache *writeStmts, p Projection, t Tables, after int64, batch []Event) error {
	ptx := newTx(ctx, tx, t, cache)
	defer ptx.close()
	first := sort.Search(len(batch), func(i int) bool { return int64(batch[i].Position) > after })
	if pl, ok := p.(Preloader); ok && len(batch)-first >= preloadMin {
		if err := pl.Preload(ptx, batch[first:]); err != nil {
			return fmt.Errorf("projections: %s: preload batch: %w", p.Name(), err)
		}
	}
	sel, _ := p.(Selective)
	for i := range batch {
		ev := &batch[i]
		if int64(ev.Position) <= after {
			continue
		}
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if sel != nil {
			switch sel.Interest(ev.Type) {
			case Skip:
				continue
			case Envelope:
				if ev.Data != nil { // decoded for another projection: not for this one
					e := *ev
					e.Data = nil
					ev = &e
				}
			}
		}
		if err := p.Apply(ptx, ev); err != nil {
			return fmt.Errorf("projections: %s: apply %s at position %d (%s rev %d): %w",
				p.Name(), ev.Type, ev.Position, ev.Stream, ev.Revision, err)
		}
	}
	if f, ok := p.(Flusher); ok {
		if err := f.Flush(ptx); err != nil {
			return fmt.Errorf("projections: %s: flush batch: %w", p.Name(), err)
		}
	}
	return nil
}
