package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Participant is an agency taking part in a case.
type Participant struct {
	Agency string `json:"agency"`
	Role   string `json:"role"` // owner, supervising or shared
}

// CaseSummary is a case with its participants, seizures and exhibit counts.
type CaseSummary struct {
	CaseID            string           `json:"case_id"`
	Reference         string           `json:"reference"`
	OwnerAgency       string           `json:"owner_agency"`
	Country           string           `json:"country"`
	LegalFramework    string           `json:"legal_framework"`
	SupervisingAgency string           `json:"supervising_agency,omitempty"`
	Summary           string           `json:"summary,omitempty"`
	OpenedAt          time.Time        `json:"opened_at"`
	ClosedAt          *time.Time       `json:"closed_at,omitempty"`
	Outcome           string           `json:"outcome,omitempty"`
	OnHold            bool             `json:"on_hold"`
	Revision          uint64           `json:"revision"`
	Participants      []Participant    `json:"participants"`
	Seizures          []SeizureSummary `json:"seizures"`
	// ExhibitsByStatus counts the recorded exhibits (sub-samples included).
	ExhibitsByStatus map[string]int64 `json:"exhibits_by_status"`
}

// SeizureSummary is a recorded seizure. Exhibits is filled by Seizure, not
// by Case.
type SeizureSummary struct {
	SeizureID       string           `json:"seizure_id"`
	CaseID          string           `json:"case_id"`
	RecordNumber    string           `json:"record_number"`
	LegalFramework  string           `json:"legal_framework"`
	SeizedAt        time.Time        `json:"seized_at"`
	ClosedAt        time.Time        `json:"closed_at"`
	PlaceName       string           `json:"place_name"`
	PlaceCountry    string           `json:"place_country"`
	PlaceCode       string           `json:"place_code,omitempty"`
	Cause           string           `json:"cause"`
	DetectionMethod string           `json:"detection_method"`
	HolderPresent   bool             `json:"holder_present"`
	Custodian       string           `json:"custodian_agency"`
	RecordedBy      string           `json:"recorded_by"`
	ExhibitCount    int64            `json:"exhibit_count"`
	Exhibits        []ExhibitCustody `json:"exhibits,omitempty"`
}

const caseColumns = `c.case_id, c.reference, c.owner_agency, c.country, c.legal_framework, c.supervising_agency, c.summary,
	c.opened_at, c.closed_at, c.outcome, c.holds, c.revision`

func scanCase(row interface{ Scan(...any) error }) (CaseSummary, error) {
	var c CaseSummary
	var opened int64
	var closed sql.NullInt64
	var holds int64
	err := row.Scan(&c.CaseID, &c.Reference, &c.OwnerAgency, &c.Country, &c.LegalFramework, &c.SupervisingAgency, &c.Summary,
		&opened, &closed, &c.Outcome, &holds, &c.Revision)
	c.OpenedAt, c.ClosedAt, c.OnHold = fromNanos(opened), nullTime(closed), holds > 0
	return c, err
}

const seizureColumns = `s.seizure_id, s.case_id, s.record_number, s.legal_framework, s.seized_at, s.closed_at, s.place_name,
	s.place_country, s.place_code, s.cause, s.detection_method, s.holder_present, s.custodian_agency, s.recording_agency, s.exhibit_count`

func scanSeizure(row interface{ Scan(...any) error }) (SeizureSummary, error) {
	var s SeizureSummary
	var seized, closed int64
	err := row.Scan(&s.SeizureID, &s.CaseID, &s.RecordNumber, &s.LegalFramework, &seized, &closed, &s.PlaceName,
		&s.PlaceCountry, &s.PlaceCode, &s.Cause, &s.DetectionMethod, &s.HolderPresent, &s.Custodian, &s.RecordedBy, &s.ExhibitCount)
	s.SeizedAt, s.ClosedAt = fromNanos(seized), fromNanos(closed)
	return s, err
}

// Case returns a case the agency takes part in, with its participants,
// recorded seizures and exhibit counts; ErrNotFound otherwise.
func (m *ReadModels) Case(ctx context.Context, agency string, caseID uuid.UUID, minPosition *uint64) (CaseSummary, error) {
	var c CaseSummary
	err := m.read(ctx, "case", agency, "custody", &Page{MinPosition: minPosition}, func(q *reader) error {
		var err error
		c, err = scanCase(q.queryRow(`SELECT `+caseColumns+` FROM {cases} c WHERE c.case_id = ? AND `+visible("c"), caseID.String(), agency))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("projections: case %s: %w", caseID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		return fillCase(q, &c)
	})
	return c, err
}

func fillCase(q *reader, c *CaseSummary) error {
	rows, err := q.query(`SELECT agency, role FROM {participants} WHERE case_id = ? ORDER BY agency`, c.CaseID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var p Participant
		if err := rows.Scan(&p.Agency, &p.Role); err != nil {
			rows.Close()
			return err
		}
		c.Participants = append(c.Participants, p)
	}
	rows.Close()
	rows, err = q.query(`SELECT `+seizureColumns+` FROM {seizures} s WHERE s.case_id = ? ORDER BY s.seized_at, s.seizure_id`, c.CaseID)
	if err != nil {
		return err
	}
	c.Seizures = []SeizureSummary{}
	for rows.Next() {
		s, err := scanSeizure(rows)
		if err != nil {
			rows.Close()
			return err
		}
		c.Seizures = append(c.Seizures, s)
	}
	rows.Close()
	rows, err = q.query(`SELECT status, count(*) FROM {exhibits} WHERE case_id = ? AND recorded GROUP BY status`, c.CaseID)
	if err != nil {
		return err
	}
	defer rows.Close()
	c.ExhibitsByStatus = map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return err
		}
		c.ExhibitsByStatus[st] = n
	}
	return rows.Err()
}

// CasePage is one page of cases.
type CasePage struct {
	Items      []CaseSummary `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// CaseFilter selects cases; Open keeps only cases not closed.
type CaseFilter struct {
	OwnerAgency string `json:"owner_agency,omitempty"`
	Open        bool   `json:"open,omitempty"`
}

// Cases lists the cases the agency takes part in, by case ID.
func (m *ReadModels) Cases(ctx context.Context, agency string, f CaseFilter, page Page) (CasePage, error) {
	var out CasePage
	limit, err := page.limit()
	if err != nil {
		return out, err
	}
	key, err := decodeCursor("cases", page.Cursor, 1)
	if err != nil {
		return out, err
	}
	where, args := []string{visible("c")}, []any{agency}
	if key != nil {
		where, args = append(where, `c.case_id > ?`), append(args, key[0])
	}
	if f.OwnerAgency != "" {
		where, args = append(where, `c.owner_agency = ?`), append(args, f.OwnerAgency)
	}
	if f.Open {
		where = append(where, `c.closed_at IS NULL`)
	}
	w, a := renumber(where, args)
	lim, a := limitClause(a, limit+1)
	err = m.read(ctx, "cases", agency, "custody", &page, func(q *reader) error {
		rows, err := q.query(`SELECT `+caseColumns+` FROM {cases} c WHERE `+w+` ORDER BY c.case_id`+lim, a...)
		if err != nil {
			return err
		}
		for rows.Next() {
			c, err := scanCase(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out.Items = append(out.Items, c)
		}
		rows.Close()
		if len(out.Items) > limit {
			out.Items = out.Items[:limit]
			out.NextCursor = encodeCursor("cases", out.Items[limit-1].CaseID)
		}
		for i := range out.Items {
			if err := fillCase(q, &out.Items[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if out.Items == nil {
		out.Items = []CaseSummary{}
	}
	return out, err
}

// Seizure returns a recorded seizure the agency may see, with its
// recorded exhibits (sub-samples of its exhibits included) by label.
func (m *ReadModels) Seizure(ctx context.Context, agency string, seizureID uuid.UUID, now time.Time, minPosition *uint64) (SeizureSummary, error) {
	var s SeizureSummary
	err := m.read(ctx, "seizure", agency, "custody", &Page{MinPosition: minPosition}, func(q *reader) error {
		var err error
		s, err = scanSeizure(q.queryRow(`SELECT `+seizureColumns+` FROM {seizures} s WHERE s.seizure_id = ? AND `+visible("s"), seizureID.String(), agency))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("projections: seizure %s: %w", seizureID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		rows, err := q.query(`SELECT `+exhibitColumns+exhibitFrom+` WHERE e.seizure_id = ? AND e.recorded ORDER BY e.label, e.exhibit_id`, s.SeizureID)
		if err != nil {
			return err
		}
		defer rows.Close()
		sc := newExhibitScanner()
		for rows.Next() {
			x, err := sc.scan(rows, now)
			if err != nil {
				return err
			}
			s.Exhibits = append(s.Exhibits, x)
		}
		return rows.Err()
	})
	return s, err
}
