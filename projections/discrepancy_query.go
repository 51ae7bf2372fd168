package projections

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Discrepancy is a discrepancy raised on an exhibit.
type Discrepancy struct {
	DiscrepancyID string     `json:"discrepancy_id"`
	ExhibitID     string     `json:"exhibit_id"`
	CaseID        string     `json:"case_id"`
	Kind          string     `json:"kind"`
	Automatic     bool       `json:"automatic"`
	Detail        string     `json:"detail"`
	ExpectedMg    int64      `json:"expected_mg,omitempty"`
	ObservedMg    int64      `json:"observed_mg,omitempty"`
	ExpectedSeal  string     `json:"expected_seal,omitempty"`
	ObservedSeal  string     `json:"observed_seal,omitempty"`
	RaisedAt      time.Time  `json:"raised_at"`
	RaisedBy      string     `json:"raised_by"`
	ResolvedAt    *time.Time `json:"resolved_at,omitempty"`
	Resolution    string     `json:"resolution,omitempty"`
}

// DiscrepancyFilter selects discrepancies; by default only open ones.
type DiscrepancyFilter struct {
	ExhibitID       *uuid.UUID `json:"exhibit_id,omitempty"`
	CaseID          *uuid.UUID `json:"case_id,omitempty"`
	Kind            string     `json:"kind,omitempty"`
	IncludeResolved bool       `json:"include_resolved,omitempty"`
}

// DiscrepancyPage is one page of discrepancies, oldest first.
type DiscrepancyPage struct {
	Items      []Discrepancy `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// Discrepancies lists the discrepancies of recorded exhibits of cases the
// agency may see, oldest first.
func (m *ReadModels) Discrepancies(ctx context.Context, agency string, f DiscrepancyFilter, page Page) (DiscrepancyPage, error) {
	var out DiscrepancyPage
	limit, err := page.limit()
	if err != nil {
		return out, err
	}
	key, err := decodeCursor("discrepancies", page.Cursor, 2)
	if err != nil {
		return out, err
	}
	where, args := []string{visible("d"), `EXISTS (SELECT 1 FROM {exhibits} e WHERE e.exhibit_id = d.exhibit_id AND e.recorded)`}, []any{agency}
	if !f.IncludeResolved {
		where = append(where, `d.resolved_at IS NULL`)
	}
	if f.ExhibitID != nil {
		where, args = append(where, `d.exhibit_id = ?`), append(args, f.ExhibitID.String())
	}
	if f.CaseID != nil {
		where, args = append(where, `d.case_id = ?`), append(args, f.CaseID.String())
	}
	if f.Kind != "" {
		where, args = append(where, `d.kind = ?`), append(args, f.Kind)
	}
	if key != nil {
		at, err := strconv.ParseInt(key[0], 10, 64)
		if err != nil {
			return out, &CursorError{Reason: "bad time"}
		}
		where, args = append(where, `(d.raised_at, d.discrepancy_id) > (?, ?)`), append(args, at, key[1])
	}
	w, a := renumber(where, args)
	lim, a := limitClause(a, limit+1)
	err = m.read(ctx, "discrepancies", agency, "custody", &page, func(q *reader) error {
		rows, err := q.query(`SELECT d.discrepancy_id, d.exhibit_id, d.case_id, d.kind, d.automatic, d.detail, d.expected_mg, d.observed_mg,
			d.expected_seal, d.observed_seal, d.raised_at, d.raised_by, d.resolved_at, d.resolution
			FROM {discrepancies} d WHERE `+w+` ORDER BY d.raised_at, d.discrepancy_id`+lim, a...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d Discrepancy
			var raised int64
			var resolved sql.NullInt64
			if err := rows.Scan(&d.DiscrepancyID, &d.ExhibitID, &d.CaseID, &d.Kind, &d.Automatic, &d.Detail, &d.ExpectedMg, &d.ObservedMg,
				&d.ExpectedSeal, &d.ObservedSeal, &raised, &d.RaisedBy, &resolved, &d.Resolution); err != nil {
				return err
			}
			d.RaisedAt, d.ResolvedAt = fromNanos(raised), nullTime(resolved)
			out.Items = append(out.Items, d)
		}
		return rows.Err()
	})
	if err != nil {
		return DiscrepancyPage{}, err
	}
	if len(out.Items) > limit {
		out.Items = out.Items[:limit]
		last := out.Items[limit-1]
		out.NextCursor = encodeCursor("discrepancies", strconv.FormatInt(nanos(last.RaisedAt), 10), last.DiscrepancyID)
	}
	if out.Items == nil {
		out.Items = []Discrepancy{}
	}
	return out, nil
}
