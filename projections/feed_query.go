package projections

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
)

// FeedItem is one event as the feed shows it. Seq orders the feed;
// Position and CaseID are the feed row's, the rest is the event's as the
// store has it at Position.
type FeedItem struct {
	Seq         int64     `json:"seq"`
	Position    uint64    `json:"position"`
	EventID     string    `json:"event_id"`
	Stream      string    `json:"stream"`
	Revision    uint64    `json:"revision"`
	Type        string    `json:"type"`
	CaseID      string    `json:"case_id"`
	ExhibitID   string    `json:"exhibit_id,omitempty"`
	OccurredAt  time.Time `json:"occurred_at"`
	RecordedAt  time.Time `json:"recorded_at"`
	ActorUser   string    `json:"actor_user"`
	ActorAgency string    `json:"actor_agency"`
	ActorRole   string    `json:"actor_role"`
}

// FeedFilter narrows the feed to one case.
type FeedFilter struct {
	CaseID *uuid.UUID `json:"case_id,omitempty"`
}

// FeedPage is one page of the feed. NextCursor is always set when Items is
// not empty: a live reader passes it back to get what came after.
type FeedPage struct {
	Items      []FeedItem `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
	// HasMore says another page is ready now.
	HasMore bool `json:"has_more"`
}

// FeedEvents returns the events of the cases the agency takes part in now,
// after the cursor, in feed order. The page's rows come from the feed
// table, their events from the runner's store (one read for the page):
// without a runner, FeedEvents fails.
func (m *ReadModels) FeedEvents(ctx context.Context, agency string, f FeedFilter, page Page) (FeedPage, error) {
	var out FeedPage
	limit, err := page.limit()
	if err != nil {
		return out, err
	}
	key, err := decodeCursor("feed", page.Cursor, 1)
	if err != nil {
		return out, err
	}
	after := int64(0)
	if key != nil {
		if after, err = strconv.ParseInt(key[0], 10, 64); err != nil || after < 0 {
			return out, &CursorError{Reason: "bad sequence number"}
		}
	}
	if agency == "" {
		return out, fmt.Errorf("projections: feed: %w", ErrNoAgency)
	}
	if m.runner == nil || m.runner.store == nil {
		return out, fmt.Errorf("projections: feed: no event store in this process to read the feed's events from")
	}
	// A row's case is a key into {feed_cases}: the join gives the case id
	// that the scoping and the filter compare.
	where, args := []string{`f.seq > ?`, visible("c")}, []any{after, agency}
	if f.CaseID != nil {
		where, args = append(where, `c.case_id = ?`), append(args, f.CaseID.String())
	}
	w, a := renumber(where, args)
	err = m.read(ctx, "feed", agency, "feed", &page, func(q *reader) error {
		out.Items = out.Items[:0]
		rows, err := q.query(`SELECT f.seq, f.position, c.case_id FROM {feed} f
			JOIN {feed_cases} c ON c.case_key = f.case_key
			WHERE `+w+fmt.Sprintf(` ORDER BY f.seq LIMIT %d`, limit+1), a...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var it FeedItem
			if err := rows.Scan(&it.Seq, &it.Position, &it.CaseID); err != nil {
				return err
			}
			out.Items = append(out.Items, it)
		}
		return rows.Err()
	})
	if err != nil {
		return FeedPage{}, err
	}
	if len(out.Items) > limit {
		out.Items, out.HasMore = out.Items[:limit], true
	}
	if len(out.Items) == 0 {
		out.Items = []FeedItem{}
		out.NextCursor = page.Cursor
		return out, nil
	}
	if err := completeFeedItems(ctx, m.runner.store, out.Items); err != nil {
		return FeedPage{}, fmt.Errorf("projections: feed: %w", err)
	}
	out.NextCursor = encodeCursor("feed", strconv.FormatInt(out.Items[len(out.Items)-1].Seq, 10))
	return out, nil
}

// completeFeedItems fills in the items' event fields from the store, by
// position.
func completeFeedItems(ctx context.Context, store eventstore.Store, items []FeedItem) error {
	positions := make([]uint64, len(items))
	for i := range items {
		positions[i] = items[i].Position
	}
	evs, err := readPositions(ctx, store, positions)
	if err != nil {
		return err
	}
	if len(evs) != len(items) {
		return fmt.Errorf("read %d positions: store returned %d events", len(positions), len(evs))
	}
	for i := range items {
		it, ev := &items[i], &evs[i]
		if ev.Position != it.Position {
			return fmt.Errorf("read position %d: store returned position %d", it.Position, ev.Position)
		}
		it.EventID = ev.EventID.String()
		it.Stream, it.Revision, it.Type = ev.Stream, ev.Revision, ev.Type
		it.ExhibitID, _ = exhibitOfStream(ev.Stream)
		it.OccurredAt, it.RecordedAt = ev.OccurredAt.UTC(), ev.RecordedAt.UTC()
		it.ActorUser, it.ActorAgency, it.ActorRole = ev.Actor.User, ev.Actor.Agency, ev.Actor.Role
	}
	return nil
}

// positionReader is implemented by stores that read a set of positions in
// one query (the SQLite store and its replica wrapper).
type positionReader interface {
	ReadPositions(ctx context.Context, positions []uint64) ([]eventstore.RecordedEvent, error)
}

// readPositions returns the events at positions, in order: in one read if
// the store is a positionReader, else one ReadAll per position. A position
// the store does not have is an error naming it.
func readPositions(ctx context.Context, store eventstore.Store, positions []uint64) ([]eventstore.RecordedEvent, error) {
	if pr, ok := store.(positionReader); ok {
		return pr.ReadPositions(ctx, positions)
	}
	out := make([]eventstore.RecordedEvent, 0, len(positions))
	for _, p := range positions {
		evs, err := store.ReadAll(ctx, eventstore.ReadOptions{From: eventstore.At(p), Count: 1})
		if err != nil {
			return nil, fmt.Errorf("read position %d: %w", p, err)
		}
		if len(evs) == 0 || evs[0].Position != p {
			return nil, fmt.Errorf("read position %d: the store has no event at this position", p)
		}
		out = append(out, evs[0])
	}
	return out, nil
}
