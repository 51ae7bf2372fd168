package projections

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/domain"
)

// Feed is the read model of the API's live feed: every domain event, with
// its case, in the order it became visible. Events of an exhibit that is
// not yet recorded (its SeizureRecorded or SubSampleTaken not yet written)
// wait in {feed_pending} and enter the feed, in their order, right after
// the record that makes the exhibit visible: a reader following the feed by
// sequence number never misses them and never sees an unrecorded exhibit.
// Who may see an item is decided at query time from {participants}, so a
// revoked sharing hides the case's events from then on.
type Feed struct{}

// FeedVersion is bumped whenever the feed tables or their meaning change.
const FeedVersion = 1

func (Feed) Name() string { return "feed" }
func (Feed) Version() int { return FeedVersion }
func (Feed) Tables() []string {
	return []string{"participants", "feed", "feed_pending", "feed_recorded"}
}

const feedColumns = `position, event_id, stream, revision, type, case_id, exhibit_id, occurred_at, recorded_at, actor_user, actor_agency, actor_role`

func (Feed) Schema() []string {
	return append(participantsSchema(),
		`CREATE TABLE {feed} (
			seq          INTEGER PRIMARY KEY,
			position     INTEGER NOT NULL UNIQUE,
			event_id     TEXT NOT NULL,
			stream       TEXT NOT NULL,
			revision     INTEGER NOT NULL,
			type         TEXT NOT NULL,
			case_id      TEXT NOT NULL,
			exhibit_id   TEXT,
			occurred_at  INTEGER NOT NULL,
			recorded_at  INTEGER NOT NULL,
			actor_user   TEXT NOT NULL,
			actor_agency TEXT NOT NULL,
			actor_role   TEXT NOT NULL
		) STRICT`,
		`CREATE INDEX {feed}_by_case ON {feed}(case_id, seq)`,
		`CREATE TABLE {feed_pending} (
			position     INTEGER PRIMARY KEY,
			event_id     TEXT NOT NULL,
			stream       TEXT NOT NULL,
			revision     INTEGER NOT NULL,
			type         TEXT NOT NULL,
			case_id      TEXT NOT NULL,
			exhibit_id   TEXT,
			occurred_at  INTEGER NOT NULL,
			recorded_at  INTEGER NOT NULL,
			actor_user   TEXT NOT NULL,
			actor_agency TEXT NOT NULL,
			actor_role   TEXT NOT NULL
		) STRICT`,
		`CREATE INDEX {feed_pending}_by_exhibit ON {feed_pending}(exhibit_id, position)`,
		`CREATE TABLE {feed_recorded} (exhibit_id TEXT PRIMARY KEY) WITHOUT ROWID, STRICT`,
	)
}

// caseOf returns the case of a domain event (every one carries it).
func caseOf(d any) (uuid.UUID, bool) {
	switch e := d.(type) {
	case domain.CaseOpened:
		return e.CaseID, true
	case domain.CaseShared:
		return e.CaseID, true
	case domain.CaseSharingRevoked:
		return e.CaseID, true
	case domain.HoldPlaced:
		return e.CaseID, true
	case domain.HoldReleased:
		return e.CaseID, true
	case domain.CaseClosed:
		return e.CaseID, true
	case domain.SeizureRecorded:
		return e.CaseID, true
	}
	if r, ok := exhibitRef(d); ok {
		return r.CaseID, true
	}
	return uuid.Nil, false
}

func (Feed) Apply(tx *Tx, ev *Event) error {
	if _, err := applyAccess(tx, ev); err != nil {
		return err
	}
	caseID, ok := caseOf(ev.Data)
	if !ok {
		return nil
	}
	var exhibit any
	kind, sid, _ := domain.ParseStream(ev.Stream)
	if kind == "exhibit" {
		exhibit = sid.String()
	}
	args := []any{int64(ev.Position), ev.EventID.String(), ev.Stream, ev.Revision, ev.Type, caseID.String(), exhibit,
		nanos(ev.OccurredAt), nanos(ev.RecordedAt), ev.Actor.User, ev.Actor.Agency, ev.Actor.Role}
	pending := false
	if kind == "exhibit" {
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM {feed_recorded} WHERE exhibit_id = ?`, exhibit).Scan(&n); err != nil {
			return err
		}
		pending = n == 0
	}
	table := "{feed}"
	if pending {
		table = "{feed_pending}"
	}
	if _, err := tx.Exec(`INSERT INTO `+table+`(`+feedColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
		return err
	}
	switch e := ev.Data.(type) {
	case domain.SeizureRecorded:
		for _, id := range e.ExhibitIDs {
			if err := releasePending(tx, id.String()); err != nil {
				return err
			}
		}
	case domain.SubSampleTaken:
		return releasePending(tx, e.SubSampleID.String())
	}
	return nil
}

// releasePending marks an exhibit recorded and moves its waiting events
// into the feed, in their order.
func releasePending(tx *Tx, exhibitID string) error {
	if _, err := tx.Exec(`INSERT OR IGNORE INTO {feed_recorded}(exhibit_id) VALUES (?)`, exhibitID); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO {feed}(`+feedColumns+`) SELECT `+feedColumns+` FROM {feed_pending}
		WHERE exhibit_id = ? ORDER BY position`, exhibitID); err != nil {
		return err
	}
	_, err := tx.Exec(`DELETE FROM {feed_pending} WHERE exhibit_id = ?`, exhibitID)
	return err
}

var exhibitRefType = reflect.TypeFor[domain.ExhibitRef]()

// exhibitRef returns the ExhibitRef every exhibit event embeds.
func exhibitRef(d any) (domain.ExhibitRef, bool) {
	v := reflect.ValueOf(d)
	if v.Kind() != reflect.Struct {
		return domain.ExhibitRef{}, false
	}
	f := v.FieldByName("ExhibitRef")
	if !f.IsValid() || f.Type() != exhibitRefType {
		return domain.ExhibitRef{}, false
	}
	return f.Interface().(domain.ExhibitRef), true
}

// FeedItem is one event as the feed shows it. Seq orders the feed; the
// event itself is read from the store by stream and revision.
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
// after the cursor, in feed order.
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
	where, args := []string{`f.seq > ?`, visible("f")}, []any{after, agency}
	if f.CaseID != nil {
		where, args = append(where, `f.case_id = ?`), append(args, f.CaseID.String())
	}
	w, a := renumber(where, args)
	err = m.read(ctx, "feed", agency, "feed", &page, func(q *reader) error {
		rows, err := q.query(`SELECT f.seq, f.position, f.event_id, f.stream, f.revision, f.type, f.case_id, coalesce(f.exhibit_id, ''),
			f.occurred_at, f.recorded_at, f.actor_user, f.actor_agency, f.actor_role FROM {feed} f
			WHERE `+w+fmt.Sprintf(` ORDER BY f.seq LIMIT %d`, limit+1), a...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var it FeedItem
			var occ, rec int64
			if err := rows.Scan(&it.Seq, &it.Position, &it.EventID, &it.Stream, &it.Revision, &it.Type, &it.CaseID, &it.ExhibitID,
				&occ, &rec, &it.ActorUser, &it.ActorAgency, &it.ActorRole); err != nil {
				return err
			}
			it.OccurredAt, it.RecordedAt = fromNanos(occ), fromNanos(rec)
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
	if out.Items == nil {
		out.Items = []FeedItem{}
		out.NextCursor = page.Cursor
	} else {
		out.NextCursor = encodeCursor("feed", strconv.FormatInt(out.Items[len(out.Items)-1].Seq, 10))
	}
	return out, nil
}
