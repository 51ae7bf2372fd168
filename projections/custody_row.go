package projections

import (
	"database/sql"
	"errors"
	"strings"
)

// exhibitRow is one row of {exhibits}. During a batch the custody
// projection folds an exhibit's events into its row in memory and writes
// it once, at Flush: a catch-up batch touches each exhibit many times.
type exhibitRow struct {
	ExhibitID, CaseID, SeizureID                                       string
	ParentID                                                           sql.NullString
	Recorded                                                           bool
	Label, Reference, Description, Category, PresumedSubstance         string
	IdentifiedSubstance                                                string
	UnitCount, RegisteredAt                                            int64
	Status, PrevStatus, CustodianAgency, CustodianPerson, Location     string
	Seal, SealState                                                    string
	SealBroken, Missing                                                bool
	Holds, OpenDiscrepancies                                           int64
	GrossMg, NetMg, TareMg, UncertaintyMg, WeighedAt                   sql.NullInt64
	SubsampledMg                                                       int64
	TransferID, TransferToAgency, TransferToPerson, TransferToLocation sql.NullString
	TransferPurpose                                                    sql.NullString
	TransferOfferedAt                                                  sql.NullInt64
	CheckoutID, CheckoutToAgency, CheckoutPurpose                      sql.NullString
	CheckoutDueAt, CheckedOutAt                                        sql.NullInt64
	DisposalMethod                                                     sql.NullString
	DisposalDeadline                                                   sql.NullInt64
	Revision                                                           int64
	UpdatedAt                                                          int64
	Position                                                           int64
}

const exhibitRowColumns = `exhibit_id, case_id, seizure_id, parent_id, recorded, label, reference, description, category,
	presumed_substance, identified_substance, unit_count, registered_at, status, prev_status, custodian_agency, custodian_person,
	location, seal, seal_state, seal_broken, missing, holds, open_discrepancies, gross_mg, net_mg, tare_mg, uncertainty_mg,
	weighed_at, subsampled_mg, transfer_id, transfer_to_agency, transfer_to_person, transfer_to_location, transfer_purpose,
	transfer_offered_at, checkout_id, checkout_to_agency, checkout_purpose, checkout_due_at, checked_out_at, disposal_method,
	disposal_deadline, revision, updated_at, position`

func (x *exhibitRow) fields() []any {
	return []any{&x.ExhibitID, &x.CaseID, &x.SeizureID, &x.ParentID, &x.Recorded, &x.Label, &x.Reference, &x.Description, &x.Category,
		&x.PresumedSubstance, &x.IdentifiedSubstance, &x.UnitCount, &x.RegisteredAt, &x.Status, &x.PrevStatus, &x.CustodianAgency,
		&x.CustodianPerson, &x.Location, &x.Seal, &x.SealState, &x.SealBroken, &x.Missing, &x.Holds, &x.OpenDiscrepancies,
		&x.GrossMg, &x.NetMg, &x.TareMg, &x.UncertaintyMg, &x.WeighedAt, &x.SubsampledMg, &x.TransferID, &x.TransferToAgency,
		&x.TransferToPerson, &x.TransferToLocation, &x.TransferPurpose, &x.TransferOfferedAt, &x.CheckoutID, &x.CheckoutToAgency,
		&x.CheckoutPurpose, &x.CheckoutDueAt, &x.CheckedOutAt, &x.DisposalMethod, &x.DisposalDeadline, &x.Revision, &x.UpdatedAt,
		&x.Position}
}

func (x *exhibitRow) values() []any {
	f := x.fields()
	out := make([]any, len(f))
	for i, p := range f {
		switch v := p.(type) {
		case *string:
			out[i] = *v
		case *bool:
			out[i] = *v
		case *int64:
			out[i] = *v
		case *sql.NullString:
			out[i] = *v
		case *sql.NullInt64:
			out[i] = *v
		}
	}
	return out
}

func (x *exhibitRow) clearTransfer() {
	x.TransferID, x.TransferToAgency, x.TransferToPerson, x.TransferToLocation, x.TransferPurpose =
		sql.NullString{}, sql.NullString{}, sql.NullString{}, sql.NullString{}, sql.NullString{}
	x.TransferOfferedAt = sql.NullInt64{}
}

func (x *exhibitRow) clearCheckout() {
	x.CheckoutID, x.CheckoutToAgency, x.CheckoutPurpose = sql.NullString{}, sql.NullString{}, sql.NullString{}
	x.CheckoutDueAt, x.CheckedOutAt = sql.NullInt64{}, sql.NullInt64{}
}

// exhibitCache holds the batch's exhibit rows, in first-touched order,
// and what Preload read ahead: rows (nil: no such exhibit) and whether
// each exhibit is in {commits}.
type exhibitCache struct {
	rows      map[string]*exhibitRow
	order     []string
	preloaded map[string]*exhibitRow
	committed map[string]bool
	// stored holds, for the rows read from the table, the values read:
	// Flush updates only the columns that changed, so that an event that
	// changes none of an index's columns leaves that index's pages alone
	// (a live batch writes every page it dirties to the WAL).
	stored map[string]exhibitRow
	// newCommits are the {commits} rows of the batch, written at Flush.
	newCommits [][]any
}

func exhibits(tx *Tx) *exhibitCache {
	return tx.State("custody/exhibits", func() any {
		return &exhibitCache{rows: map[string]*exhibitRow{}, preloaded: map[string]*exhibitRow{}, committed: map[string]bool{},
			stored: map[string]exhibitRow{}}
	}).(*exhibitCache)
}

// get returns the exhibit's row (nil if it does not exist), reading it
// from the table on first use in the batch unless Preload read it.
func (c *exhibitCache) get(tx *Tx, id string) (*exhibitRow, error) {
	if x, ok := c.rows[id]; ok {
		return x, nil
	}
	if x, ok := c.preloaded[id]; ok {
		delete(c.preloaded, id)
		if x == nil {
			c.rows[id] = nil
			return nil, nil
		}
		c.stored[id] = *x
		c.put(id, x)
		return x, nil
	}
	x := &exhibitRow{}
	err := tx.QueryRow(`SELECT `+exhibitRowColumns+` FROM {exhibits} WHERE exhibit_id = ?`, id).Scan(x.fields()...)
	if errors.Is(err, sql.ErrNoRows) {
		c.rows[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.stored[id] = *x
	c.put(id, x)
	return x, nil
}

func (c *exhibitCache) put(id string, x *exhibitRow) {
	if _, ok := c.rows[id]; !ok {
		c.order = append(c.order, id)
	} else if c.rows[id] == nil {
		c.order = append(c.order, id)
	}
	c.rows[id] = x
}

// isCommitted reports whether the exhibit is in {commits}.
func (c *exhibitCache) isCommitted(tx *Tx, id string) (bool, error) {
	return memoExists(tx, c.committed, `{commits}`, id)
}

// Preload reads, in a few statements, the rows and commit records of the
// exhibits the batch's events concern.
func (Custody) Preload(tx *Tx, batch []Event) error {
	var ids idSet
	ids.addBatchExhibits(batch, true)
	c := exhibits(tx)
	return forChunks(ids.ids, func(in string, args []any) error {
		for _, a := range args {
			id := a.(string)
			if _, ok := c.rows[id]; !ok {
				c.preloaded[id] = nil
			}
			c.committed[id] = false
		}
		rows, err := tx.Query(`SELECT `+exhibitRowColumns+` FROM {exhibits} WHERE exhibit_id IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			x := &exhibitRow{}
			if err := rows.Scan(x.fields()...); err != nil {
				rows.Close()
				return err
			}
			if _, ok := c.rows[x.ExhibitID]; !ok {
				c.preloaded[x.ExhibitID] = x
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(`SELECT exhibit_id FROM {commits} WHERE exhibit_id IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			c.committed[id] = true
		}
		return rows.Err()
	})
}

// exhibitRowColumnList are exhibitRowColumns one by one, in the order of
// exhibitRow.values.
var exhibitRowColumnList = strings.Split(strings.Join(strings.Fields(exhibitRowColumns), ""), ",")

var exhibitUpsert = func() string {
	sets := make([]string, 0, len(exhibitRowColumnList))
	for _, c := range exhibitRowColumnList[1:] {
		sets = append(sets, c+" = excluded."+c)
	}
	return ` ON CONFLICT(exhibit_id) DO UPDATE SET ` + strings.Join(sets, ", ")
}()

// Flush writes the batch's exhibit rows: new rows many per statement, rows
// read from the table by an UPDATE of the columns that changed (none: no
// statement).
func (Custody) Flush(tx *Tx) error {
	v, ok := tx.state["custody/exhibits"]
	if !ok {
		return nil
	}
	c := v.(*exhibitCache)
	if err := insertRowsThen(tx, `{commits}`, `exhibit_id`, 1, c.newCommits, ` ON CONFLICT DO NOTHING`); err != nil {
		return err
	}
	rows, err := updateStored(tx, `{exhibits}`, exhibitRowColumnList, c.order, c.rows, c.stored)
	if err != nil {
		return err
	}
	return insertRowsThen(tx, `{exhibits}`, exhibitRowColumns, len(exhibitRowColumnList), rows, exhibitUpsert)
}
