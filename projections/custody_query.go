package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Party is a custodian or a receiver: an agency, optionally a person or a
// storage location of that agency.
type Party struct {
	Agency   string `json:"agency"`
	Person   string `json:"person,omitempty"`
	Location string `json:"location,omitempty"`
}

// Weights are an exhibit's last weighing, in milligrams, and what
// sub-samples took since.
type Weights struct {
	GrossMg       *int64     `json:"gross_mg,omitempty"`
	NetMg         *int64     `json:"net_mg,omitempty"`
	TareMg        *int64     `json:"tare_mg,omitempty"`
	UncertaintyMg *int64     `json:"uncertainty_mg,omitempty"`
	WeighedAt     *time.Time `json:"weighed_at,omitempty"`
	SubsampledMg  int64      `json:"subsampled_mg"`
}

// Flags are an exhibit's warnings. Overdue is computed against the query's
// Now, never the projection's clock.
type Flags struct {
	Hold        bool `json:"hold"`
	Discrepancy bool `json:"discrepancy"`
	SealBroken  bool `json:"seal_broken"`
	Missing     bool `json:"missing"`
	Overdue     bool `json:"overdue"`
}

// PendingTransfer is a transfer offered and not yet accepted, rejected or
// cancelled.
type PendingTransfer struct {
	TransferID string    `json:"transfer_id"`
	From       Party     `json:"from"`
	To         Party     `json:"to"`
	Purpose    string    `json:"purpose"`
	OfferedAt  time.Time `json:"offered_at"`
}

// Checkout is an exhibit lent until DueAt.
type Checkout struct {
	CheckoutID   string    `json:"checkout_id"`
	ToAgency     string    `json:"to_agency"`
	Purpose      string    `json:"purpose"`
	DueAt        time.Time `json:"due_at"`
	CheckedOutAt time.Time `json:"checked_out_at"`
}

// Disposal is an authorised disposal not yet carried out.
type Disposal struct {
	Method            string    `json:"method"`
	ChallengeDeadline time.Time `json:"challenge_deadline"`
}

// ExhibitCustody is the current custody of one exhibit.
type ExhibitCustody struct {
	ExhibitID           string           `json:"exhibit_id"`
	CaseID              string           `json:"case_id"`
	SeizureID           string           `json:"seizure_id"`
	ParentID            string           `json:"parent_id,omitempty"`
	Label               string           `json:"label"`
	Reference           string           `json:"reference,omitempty"`
	Description         string           `json:"description,omitempty"`
	Category            string           `json:"category"`
	PresumedSubstance   string           `json:"presumed_substance,omitempty"`
	IdentifiedSubstance string           `json:"identified_substance,omitempty"`
	UnitCount           int64            `json:"unit_count"`
	RegisteredAt        time.Time        `json:"registered_at"`
	Status              string           `json:"status"`
	Custodian           Party            `json:"custodian"`
	Seal                string           `json:"seal,omitempty"`
	SealState           string           `json:"seal_state"`
	Weights             Weights          `json:"weights"`
	Flags               Flags            `json:"flags"`
	OpenDiscrepancies   int64            `json:"open_discrepancies"`
	PendingTransfer     *PendingTransfer `json:"pending_transfer,omitempty"`
	Checkout            *Checkout        `json:"checkout,omitempty"`
	Disposal            *Disposal        `json:"disposal,omitempty"`
	// Revision is the exhibit stream's last revision (the API's ETag).
	Revision  uint64    `json:"revision"`
	UpdatedAt time.Time `json:"updated_at"`
	Position  uint64    `json:"position"`
}

const exhibitColumns = `e.exhibit_id, e.case_id, e.seizure_id, coalesce(e.parent_id, ''), e.label, e.reference, e.description, e.category,
	e.presumed_substance, e.identified_substance, e.unit_count, e.registered_at, e.status, e.custodian_agency, e.custodian_person,
	e.location, e.seal, e.seal_state, e.seal_broken, e.missing, (e.holds > 0 OR coalesce(c.holds, 0) > 0), e.open_discrepancies,
	e.gross_mg, e.net_mg, e.tare_mg, e.uncertainty_mg, e.weighed_at, e.subsampled_mg,
	e.transfer_id, e.transfer_to_agency, e.transfer_to_person, e.transfer_to_location, e.transfer_purpose, e.transfer_offered_at,
	e.checkout_id, e.checkout_to_agency, e.checkout_purpose, e.checkout_due_at, e.checked_out_at,
	e.disposal_method, e.disposal_deadline, e.revision, e.updated_at, e.position`

const exhibitFrom = ` FROM {exhibits} e LEFT JOIN {cases} c ON c.case_id = e.case_id `

// exhibitScanner reads rows of exhibitColumns. It keeps its holders and
// destination list from row to row: a page scans many rows, and a fresh
// set of holders per row was most of a list's allocations.
type exhibitScanner struct {
	x                             ExhibitCustody
	registered, updated           int64
	gross, net, tare, unc, weighd sql.NullInt64
	tid, tAgency, tPerson, tLoc   sql.NullString
	tPurpose                      sql.NullString
	tAt                           sql.NullInt64
	cid, cAgency, cPurpose        sql.NullString
	cDue, cAt                     sql.NullInt64
	dMethod                       sql.NullString
	dDeadline                     sql.NullInt64
	dest                          []any
}

func newExhibitScanner() *exhibitScanner {
	s := &exhibitScanner{}
	x := &s.x
	s.dest = []any{&x.ExhibitID, &x.CaseID, &x.SeizureID, &x.ParentID, &x.Label, &x.Reference, &x.Description, &x.Category,
		&x.PresumedSubstance, &x.IdentifiedSubstance, &x.UnitCount, &s.registered, &x.Status, &x.Custodian.Agency, &x.Custodian.Person,
		&x.Custodian.Location, &x.Seal, &x.SealState, &x.Flags.SealBroken, &x.Flags.Missing, &x.Flags.Hold, &x.OpenDiscrepancies,
		&s.gross, &s.net, &s.tare, &s.unc, &s.weighd, &x.Weights.SubsampledMg,
		&s.tid, &s.tAgency, &s.tPerson, &s.tLoc, &s.tPurpose, &s.tAt,
		&s.cid, &s.cAgency, &s.cPurpose, &s.cDue, &s.cAt,
		&s.dMethod, &s.dDeadline, &x.Revision, &s.updated, &x.Position}
	return s
}

func scanExhibit(rows interface{ Scan(...any) error }, now time.Time) (ExhibitCustody, error) {
	return newExhibitScanner().scan(rows, now)
}

func (s *exhibitScanner) scan(rows interface{ Scan(...any) error }, now time.Time) (ExhibitCustody, error) {
	s.x = ExhibitCustody{}
	if err := rows.Scan(s.dest...); err != nil {
		return ExhibitCustody{}, err
	}
	x := s.x
	x.RegisteredAt, x.UpdatedAt = fromNanos(s.registered), fromNanos(s.updated)
	x.Flags.Discrepancy = x.OpenDiscrepancies > 0
	ptr := func(n sql.NullInt64) *int64 {
		if !n.Valid {
			return nil
		}
		return &n.Int64
	}
	x.Weights.GrossMg, x.Weights.NetMg, x.Weights.TareMg, x.Weights.UncertaintyMg = ptr(s.gross), ptr(s.net), ptr(s.tare), ptr(s.unc)
	x.Weights.WeighedAt = nullTime(s.weighd)
	if s.tid.Valid {
		x.PendingTransfer = &PendingTransfer{TransferID: s.tid.String, From: x.Custodian,
			To:      Party{Agency: s.tAgency.String, Person: s.tPerson.String, Location: s.tLoc.String},
			Purpose: s.tPurpose.String, OfferedAt: fromNanos(s.tAt.Int64)}
	}
	if s.cid.Valid {
		x.Checkout = &Checkout{CheckoutID: s.cid.String, ToAgency: s.cAgency.String, Purpose: s.cPurpose.String,
			DueAt: fromNanos(s.cDue.Int64), CheckedOutAt: fromNanos(s.cAt.Int64)}
		x.Flags.Overdue = now.After(x.Checkout.DueAt)
	}
	if s.dMethod.Valid {
		x.Disposal = &Disposal{Method: s.dMethod.String, ChallengeDeadline: fromNanos(s.dDeadline.Int64)}
	}
	return x, nil
}

// Custody returns the current custody of an exhibit the agency may see.
// now is the time overdue checkouts are judged against. An exhibit that
// does not exist, is not yet recorded (its seizure or sub-sample record is
// missing) or belongs to a case the agency does not take part in fails
// with ErrNotFound.
func (m *ReadModels) Custody(ctx context.Context, agency string, exhibitID uuid.UUID, now time.Time, minPosition *uint64) (ExhibitCustody, error) {
	var x ExhibitCustody
	err := m.readOne(ctx, "custody", agency, "custody", &Page{MinPosition: minPosition}, func(q *reader) error {
		row := q.queryRow(`SELECT `+exhibitColumns+exhibitFrom+` WHERE e.exhibit_id = ? AND e.recorded AND `+visible("e"),
			exhibitID.String(), agency)
		var err error
		x, err = scanExhibit(row, now)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("projections: exhibit %s: %w", exhibitID, ErrNotFound)
		}
		return err
	})
	return x, err
}

// HoldingsFilter selects what a holder holds now. Agency is the holding
// agency (default: the asking agency); Person and Location narrow it.
// Terminal exhibits (destroyed, returned, released) are not holdings.
type HoldingsFilter struct {
	Agency   string    `json:"agency,omitempty"`
	Person   string    `json:"person,omitempty"`
	Location string    `json:"location,omitempty"`
	Now      time.Time `json:"now"`
}

// ExhibitPage is one page of exhibits.
type ExhibitPage struct {
	Items      []ExhibitCustody `json:"items"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

// Holdings lists what an agency, a person of it or one of its storage
// locations holds, among the cases the asking agency may see, by exhibit ID.
func (m *ReadModels) Holdings(ctx context.Context, agency string, f HoldingsFilter, page Page) (ExhibitPage, error) {
	holder := f.Agency
	if holder == "" {
		holder = agency
	}
	where := []string{`e.custodian_agency = ?`, `e.status NOT IN ('destroyed', 'returned', 'released')`, `e.recorded`}
	args := []any{holder}
	if f.Person != "" {
		where, args = append(where, `e.custodian_person = ?`, `e.custodian_person != ''`), append(args, f.Person)
	}
	if f.Location != "" {
		where, args = append(where, `e.location = ?`, `e.location != ''`), append(args, f.Location)
	}
	return m.listExhibits(ctx, "holdings", agency, where, args, f.Now, page)
}

// ExhibitFilter selects exhibits by case, seizure, status or flags.
type ExhibitFilter struct {
	CaseID    *uuid.UUID `json:"case_id,omitempty"`
	SeizureID *uuid.UUID `json:"seizure_id,omitempty"`
	Status    string     `json:"status,omitempty"`
	Substance string     `json:"substance,omitempty"`
	Now       time.Time  `json:"now"`
}

// Exhibits lists the recorded exhibits the agency may see, by exhibit ID.
func (m *ReadModels) Exhibits(ctx context.Context, agency string, f ExhibitFilter, page Page) (ExhibitPage, error) {
	where := []string{`e.recorded`}
	var args []any
	if f.CaseID != nil {
		where, args = append(where, `e.case_id = ?`), append(args, f.CaseID.String())
	}
	if f.SeizureID != nil {
		where, args = append(where, `e.seizure_id = ?`), append(args, f.SeizureID.String())
	}
	if f.Status != "" {
		where, args = append(where, `e.status = ?`), append(args, f.Status)
	}
	if f.Substance != "" {
		where, args = append(where, `(e.identified_substance = ?1 OR (e.identified_substance = '' AND e.presumed_substance = ?1))`), append(args, f.Substance)
	}
	return m.listExhibits(ctx, "exhibits", agency, where, args, f.Now, page)
}

// TransferFilter selects pending transfers by receiving or giving agency.
type TransferFilter struct {
	ToAgency   string `json:"to_agency,omitempty"`
	FromAgency string `json:"from_agency,omitempty"`
}

// PendingTransfers lists exhibits with a transfer offered and not yet
// answered, by exhibit ID.
func (m *ReadModels) PendingTransfers(ctx context.Context, agency string, f TransferFilter, now time.Time, page Page) (ExhibitPage, error) {
	where := []string{`e.transfer_id IS NOT NULL`, `e.recorded`}
	var args []any
	if f.ToAgency != "" {
		where, args = append(where, `e.transfer_to_agency = ?`), append(args, f.ToAgency)
	}
	if f.FromAgency != "" {
		where, args = append(where, `e.custodian_agency = ?`), append(args, f.FromAgency)
	}
	return m.listExhibits(ctx, "pending-transfers", agency, where, args, now, page)
}

// OverdueCheckouts lists exhibits checked out whose due date is before
// now, by exhibit ID.
func (m *ReadModels) OverdueCheckouts(ctx context.Context, agency string, now time.Time, page Page) (ExhibitPage, error) {
	if now.IsZero() {
		return ExhibitPage{}, &FilterError{Field: "now", Reason: "is required"}
	}
	return m.listExhibits(ctx, "overdue-checkouts", agency,
		[]string{`e.checkout_id IS NOT NULL`, `e.checkout_due_at < ?`, `e.recorded`}, []any{nanos(now)}, now, page)
}

// listExhibits pages through exhibits by exhibit ID under conditions.
// Numbered parameters (?1) in a condition refer to its own argument: the
// conditions are renumbered here.
func (m *ReadModels) listExhibits(ctx context.Context, view, agency string, where []string, args []any, now time.Time, page Page) (ExhibitPage, error) {
	var out ExhibitPage
	limit, err := page.limit()
	if err != nil {
		return out, err
	}
	key, err := decodeCursor(view, page.Cursor, 1)
	if err != nil {
		return out, err
	}
	if key != nil {
		where, args = append(where, `e.exhibit_id > ?`), append(args, key[0])
	}
	where = append(where, visible("e"))
	args = append(args, agency)
	sqlWhere, sqlArgs := renumber(where, args)
	lim, sqlArgs := limitClause(sqlArgs, limit+1)
	text := `SELECT ` + exhibitColumns + exhibitFrom + ` WHERE ` + sqlWhere + ` ORDER BY e.exhibit_id` + lim
	err = m.readOne(ctx, view, agency, "custody", &page, func(q *reader) error {
		ck, at, cacheable := m.pages.key(m.runner, "custody", q.t.Expand(text), sqlArgs)
		if cacheable {
			if items, ok := m.pages.get(ck, at, now); ok {
				out.Items = items
				return nil
			}
		}
		rows, err := q.query(text, sqlArgs...)
		if err != nil {
			return err
		}
		defer rows.Close()
		sc := newExhibitScanner()
		out.Items = make([]ExhibitCustody, 0, min(limit+1, 64))
		for rows.Next() {
			x, err := sc.scan(rows, now)
			if err != nil {
				return err
			}
			out.Items = append(out.Items, x)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if cacheable {
			m.pages.put(ck, at, out.Items)
		}
		return nil
	})
	if err != nil {
		return ExhibitPage{}, err
	}
	if len(out.Items) > limit {
		out.Items = out.Items[:limit]
		out.NextCursor = encodeCursor(view, out.Items[limit-1].ExhibitID)
	}
	if out.Items == nil {
		out.Items = []ExhibitCustody{}
	}
	return out, nil
}

// renumber joins conditions with AND and gives every placeholder an
// explicit number: "?" takes the condition's next argument, "?1" its
// first. Each condition has its own arguments, in order, in args.
func renumber(where []string, args []any) (string, []any) {
	var b strings.Builder
	out := make([]any, 0, len(args))
	ai := 0
	for i, w := range where {
		if i > 0 {
			b.WriteString(" AND ")
		}
		base := len(out)
		local := 0
		for j := 0; j < len(w); j++ {
			c := w[j]
			if c != '?' {
				b.WriteByte(c)
				continue
			}
			k := j + 1
			for k < len(w) && w[k] >= '0' && w[k] <= '9' {
				k++
			}
			n := 0
			if k > j+1 {
				n, _ = strconv.Atoi(w[j+1 : k])
			} else {
				local++
				n = local
			}
			for local < n {
				local++
			}
			j = k - 1
			b.WriteByte('?')
			b.WriteString(strconv.Itoa(base + n))
		}
		for x := 0; x < local; x++ {
			out = append(out, args[ai])
			ai++
		}
	}
	return b.String(), out
}
