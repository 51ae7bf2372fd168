package projections

import (
	"database/sql"
	"errors"
	"strings"
)

// statsRow is one row of {stats_exhibits}. As custody does with its
// exhibit rows, statistics fold a batch's events into the rows in memory
// and write each row once, at Flush: an exhibit's registration, weighing
// and seizure record cost one statement, not three.
type statsRow struct {
	ExhibitID, CaseID, SeizureID string
	ParentID                     sql.NullString
	Recorded                     bool
	Presumed, Identified         string
	NetMg                        sql.NullInt64
}

const statsRowColumns = `exhibit_id, case_id, seizure_id, parent_id, recorded, presumed, identified, net_mg`

var statsRowColumnList = strings.Split(strings.Join(strings.Fields(statsRowColumns), ""), ",")

func (x *statsRow) fields() []any {
	return []any{&x.ExhibitID, &x.CaseID, &x.SeizureID, &x.ParentID, &x.Recorded, &x.Presumed, &x.Identified, &x.NetMg}
}

func (x *statsRow) values() []any {
	return []any{x.ExhibitID, x.CaseID, x.SeizureID, x.ParentID, x.Recorded, x.Presumed, x.Identified, x.NetMg}
}

// statsCache holds the batch's rows of {stats_exhibits} (nil: no such
// exhibit), in first-touched order, and for those read from the table the
// values read, so that Flush updates only what changed.
type statsCache struct {
	rows   map[string]*statsRow
	order  []string
	stored map[string]statsRow
}

func statsRows(tx *Tx) *statsCache {
	return tx.State("stats/exhibits", func() any {
		return &statsCache{rows: map[string]*statsRow{}, stored: map[string]statsRow{}}
	}).(*statsCache)
}

// get returns the exhibit's row, nil if there is none, reading it from the
// table on first use in the batch unless Preload did.
func (c *statsCache) get(tx *Tx, id string) (*statsRow, error) {
	if x, ok := c.rows[id]; ok {
		return x, nil
	}
	x := &statsRow{}
	err := tx.QueryRow(`SELECT `+statsRowColumns+` FROM {stats_exhibits} WHERE exhibit_id = ?`, id).Scan(x.fields()...)
	if errors.Is(err, sql.ErrNoRows) {
		c.rows[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.loaded(x)
	return x, nil
}

func (c *statsCache) loaded(x *statsRow) {
	c.stored[x.ExhibitID] = *x
	c.rows[x.ExhibitID] = x
	c.order = append(c.order, x.ExhibitID)
}

// add makes x the row of a new exhibit.
func (c *statsCache) add(x *statsRow) {
	c.rows[x.ExhibitID] = x
	c.order = append(c.order, x.ExhibitID)
}

// Preload reads in a few statements the rows of the exhibits the batch's
// events concern (those not found are known not to exist).
func (Stats) Preload(tx *Tx, batch []Event) error {
	var ids idSet
	ids.addBatchExhibits(batch, false)
	c := statsRows(tx)
	return forChunks(ids.ids, func(in string, args []any) error {
		for _, a := range args {
			if _, ok := c.rows[a.(string)]; !ok {
				c.rows[a.(string)] = nil
			}
		}
		rows, err := tx.Query(`SELECT `+statsRowColumns+` FROM {stats_exhibits} WHERE exhibit_id IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			x := &statsRow{}
			if err := rows.Scan(x.fields()...); err != nil {
				return err
			}
			if c.rows[x.ExhibitID] == nil {
				c.loaded(x)
			}
		}
		return rows.Err()
	})
}

// Flush writes the batch's rows: new ones many per statement, the others
// by an UPDATE of the columns that changed.
func (Stats) Flush(tx *Tx) error {
	v, ok := tx.state["stats/exhibits"]
	if !ok {
		return nil
	}
	c := v.(*statsCache)
	fresh, err := updateStored(tx, `{stats_exhibits}`, statsRowColumnList, c.order, c.rows, c.stored)
	if err != nil {
		return err
	}
	return insertRows(tx, `{stats_exhibits}`, statsRowColumns, len(statsRowColumnList), fresh)
}

// updateStored writes a batch's rows, taken once each in first-touched
// order: a row read from the table (in stored) by an UPDATE of the columns
// that changed, the new rows returned as values for a multi-row insert. A
// nil row is skipped.
func updateStored[R any, P interface {
	*R
	values() []any
}](tx *Tx, table string, cols []string, order []string, rows map[string]P, stored map[string]R) ([][]any, error) {
	var fresh [][]any
	seen := make(map[string]bool, len(order))
	for _, id := range order {
		x := rows[id]
		if x == nil || seen[id] {
			continue
		}
		seen[id] = true
		st, ok := stored[id]
		if !ok {
			fresh = append(fresh, x.values())
			continue
		}
		if err := updateChanged(tx, table, cols, P(&st).values(), x.values()); err != nil {
			return nil, err
		}
	}
	return fresh, nil
}

// updateChanged writes the columns of row that differ from stored, the
// values the table holds; column 0 is the key of both (named by cols[0]).
func updateChanged(tx *Tx, table string, cols []string, stored, row []any) error {
	var q strings.Builder
	var args []any
	for i := 1; i < len(row); i++ {
		if row[i] == stored[i] {
			continue
		}
		if args == nil {
			q.WriteString(`UPDATE ` + table + ` SET `)
		} else {
			q.WriteString(", ")
		}
		q.WriteString(cols[i] + " = ?")
		args = append(args, row[i])
	}
	if args == nil {
		return nil
	}
	q.WriteString(` WHERE ` + cols[0] + ` = ?`)
	_, err := tx.Exec(q.String(), append(args, row[0])...)
	return err
}
