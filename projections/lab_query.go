package projections

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"time"
)

// LabJob is an exhibit submitted to or held by a lab.
type LabJob struct {
	ExhibitID     string     `json:"exhibit_id"`
	CaseID        string     `json:"case_id"`
	Lab           string     `json:"lab"`
	Label         string     `json:"label"`
	SubmittedAt   time.Time  `json:"submitted_at"`
	ReceivedAt    *time.Time `json:"received_at,omitempty"`
	LabCaseNumber string     `json:"lab_case_number,omitempty"`
	// Waiting is how long the job has been open at the query's Now.
	Waiting time.Duration `json:"waiting_ns"`
}

// LabQueueFilter selects a lab's queue (default: the asking agency's).
type LabQueueFilter struct {
	Lab string    `json:"lab,omitempty"`
	Now time.Time `json:"now"`
}

// LabQueuePage is one page of a lab's open jobs, oldest first.
type LabQueuePage struct {
	Items      []LabJob `json:"items"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// LabQueue lists the exhibits submitted to or held by a lab without a
// result yet, oldest submission first, among cases the agency may see.
func (m *ReadModels) LabQueue(ctx context.Context, agency string, f LabQueueFilter, page Page) (LabQueuePage, error) {
	var out LabQueuePage
	lab := f.Lab
	if lab == "" {
		lab = agency
	}
	limit, err := page.limit()
	if err != nil {
		return out, err
	}
	key, err := decodeCursor("lab-queue", page.Cursor, 3)
	if err != nil {
		return out, err
	}
	where, args := []string{`j.lab = ?`, `j.reported_at IS NULL`, visible("j")}, []any{lab, agency}
	if key != nil {
		at, err := strconv.ParseInt(key[0], 10, 64)
		if err != nil {
			return out, &CursorError{Reason: "bad submission time"}
		}
		where = append(where, `(j.submitted_at, j.exhibit_id, j.seq) > (?, ?, ?)`)
		args = append(args, at, key[1], key[2])
	}
	w, a := renumber(where, args)
	lim, a := limitClause(a, limit+1)
	err = m.read(ctx, "lab queue", agency, "custody", &page, func(q *reader) error {
		rows, err := q.query(`SELECT j.exhibit_id, j.case_id, j.lab, coalesce(e.label, ''), j.submitted_at, j.received_at, j.lab_case_number, j.seq
			FROM {lab_jobs} j LEFT JOIN {exhibits} e ON e.exhibit_id = j.exhibit_id
			WHERE `+w+` AND coalesce(e.recorded, 0) ORDER BY j.submitted_at, j.exhibit_id, j.seq`+lim, a...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var seqs []int64
		for rows.Next() {
			var j LabJob
			var sub, seq int64
			var rec sql.NullInt64
			if err := rows.Scan(&j.ExhibitID, &j.CaseID, &j.Lab, &j.Label, &sub, &rec, &j.LabCaseNumber, &seq); err != nil {
				return err
			}
			j.SubmittedAt, j.ReceivedAt = fromNanos(sub), nullTime(rec)
			if !f.Now.IsZero() {
				j.Waiting = max(0, f.Now.Sub(j.SubmittedAt))
			}
			out.Items = append(out.Items, j)
			seqs = append(seqs, seq)
		}
		if len(out.Items) > limit {
			out.Items = out.Items[:limit]
			last := out.Items[limit-1]
			out.NextCursor = encodeCursor("lab-queue", strconv.FormatInt(nanos(last.SubmittedAt), 10), last.ExhibitID, strconv.FormatInt(seqs[limit-1], 10))
		}
		return rows.Err()
	})
	if out.Items == nil {
		out.Items = []LabJob{}
	}
	return out, err
}

// LabTurnaround summarises a lab's finished jobs: submission to report.
type LabTurnaround struct {
	Lab      string        `json:"lab"`
	Done     int64         `json:"done"`
	Open     int64         `json:"open"`
	Mean     time.Duration `json:"mean_ns"`
	Median   time.Duration `json:"median_ns"`
	Max      time.Duration `json:"max_ns"`
	Received int64         `json:"received"`
}

// Turnaround computes a lab's turnaround over the jobs the agency may see
// (default lab: the asking agency).
func (m *ReadModels) Turnaround(ctx context.Context, agency, lab string) (LabTurnaround, error) {
	if lab == "" {
		lab = agency
	}
	t := LabTurnaround{Lab: lab}
	err := m.read(ctx, "lab turnaround", agency, "custody", nil, func(q *reader) error {
		rows, err := q.query(`SELECT j.submitted_at, j.received_at, j.reported_at FROM {lab_jobs} j
			WHERE j.lab = ? AND `+visible("j"), lab, agency)
		if err != nil {
			return err
		}
		defer rows.Close()
		var ds []time.Duration
		var sum time.Duration
		for rows.Next() {
			var sub int64
			var rec, rep sql.NullInt64
			if err := rows.Scan(&sub, &rec, &rep); err != nil {
				return err
			}
			if rec.Valid {
				t.Received++
			}
			if !rep.Valid {
				t.Open++
				continue
			}
			d := time.Duration(rep.Int64 - sub)
			ds = append(ds, d)
			sum += d
		}
		if len(ds) > 0 {
			slices.Sort(ds)
			t.Done = int64(len(ds))
			t.Mean, t.Median, t.Max = sum/time.Duration(len(ds)), ds[len(ds)/2], ds[len(ds)-1]
		}
		return rows.Err()
	})
	return t, err
}
