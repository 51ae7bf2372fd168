package projections

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/scelle-ledger/scelle/domain"
)

// Stats is the statistics read model: one row per recorded seizure and
// per exhibit (sub-samples kept apart, so that they are not counted twice),
// with the dimensions statistics group by. Substance is what an analysis
// identified (an analysis of a sub-sample counts for its parent), else
// what was presumed; net weight is the first weighing's.
type Stats struct{}

// StatsVersion is bumped whenever the stats tables or their meaning change.
const StatsVersion = 1

func (Stats) Name() string     { return "stats" }
func (Stats) Version() int     { return StatsVersion }
func (Stats) Tables() []string { return []string{"participants", "stats_seizures", "stats_exhibits"} }

func (Stats) Schema() []string {
	return append(participantsSchema(),
		`CREATE TABLE {stats_seizures} (
			seizure_id TEXT PRIMARY KEY,
			case_id    TEXT NOT NULL,
			month      TEXT NOT NULL,
			country    TEXT NOT NULL,
			place      TEXT NOT NULL,
			agency     TEXT NOT NULL
		) WITHOUT ROWID, STRICT`,
		`CREATE TABLE {stats_exhibits} (
			exhibit_id TEXT PRIMARY KEY,
			case_id    TEXT NOT NULL,
			seizure_id TEXT NOT NULL,
			parent_id  TEXT,
			recorded   INTEGER NOT NULL,
			presumed   TEXT NOT NULL,
			identified TEXT NOT NULL DEFAULT '',
			net_mg     INTEGER
		) WITHOUT ROWID, STRICT`,
	)
}

// QueryIndexes are the statistics indexes Apply does not use.
func (Stats) QueryIndexes() []string {
	return append(participantsIndexes(),
		`CREATE INDEX {stats_exhibits}_by_case ON {stats_exhibits}(case_id) WHERE recorded AND parent_id IS NULL`,
		`CREATE INDEX {stats_exhibits}_by_seizure ON {stats_exhibits}(seizure_id)`,
	)
}

// Interest: statistics read the access events, seizures, registrations,
// sub-samples, weighings and analyses, and nothing else.
func (Stats) Interest(eventType string) Interest {
	switch eventType {
	case domain.TypeCaseOpened, domain.TypeCaseShared, domain.TypeCaseSharingRevoked, domain.TypeSeizureRecorded,
		domain.TypeExhibitRegistered, domain.TypeSubSampleTaken, domain.TypeExhibitWeighed, domain.TypeAnalysisReported,
		domain.TypeReportAmended:
		return Payload
	}
	return Skip
}

func (Stats) Apply(tx *Tx, ev *Event) error {
	if ok, err := applyAccess(tx, ev); ok || err != nil {
		return err
	}
	c := statsRows(tx)
	switch e := ev.Data.(type) {
	case domain.SeizureRecorded:
		place := e.Place.Name
		if e.Place.Code != "" {
			place = e.Place.Code
		}
		if _, err := tx.Exec(`INSERT OR IGNORE INTO {stats_seizures}(seizure_id, case_id, month, country, place, agency) VALUES (?, ?, ?, ?, ?, ?)`,
			e.SeizureID.String(), e.CaseID.String(), e.SeizedAt.UTC().Format("2006-01"), e.Place.Country, place, ev.Actor.Agency); err != nil {
			return err
		}
		for _, id := range e.ExhibitIDs {
			if err := markRecorded(tx, c, id.String()); err != nil {
				return err
			}
		}
	case domain.ExhibitRegistered:
		id := e.ExhibitID.String()
		x, err := c.get(tx, id)
		if err != nil || x != nil { // registered twice: the first registration stands
			return err
		}
		x = &statsRow{ExhibitID: id, CaseID: e.CaseID.String(), SeizureID: e.SeizureID.String(), Presumed: e.PresumedSubstance}
		if e.ParentID != nil {
			x.ParentID = str(e.ParentID.String())
		}
		c.add(x)
	case domain.SubSampleTaken:
		return markRecorded(tx, c, e.SubSampleID.String())
	case domain.ExhibitWeighed:
		x, err := c.get(tx, e.ExhibitID.String())
		if err != nil || x == nil {
			return err
		}
		if !x.NetMg.Valid { // the first weighing's
			x.NetMg = num(e.NetMg)
		}
	case domain.AnalysisReported:
		return identify(tx, c, e.ExhibitID.String(), e.Substances)
	case domain.ReportAmended:
		return identify(tx, c, e.ExhibitID.String(), e.Substances)
	}
	return nil
}

func markRecorded(tx *Tx, c *statsCache, id string) error {
	x, err := c.get(tx, id)
	if err != nil || x == nil {
		return err
	}
	x.Recorded = true
	return nil
}

// identify records the substance an analysis found on the exhibit and, for
// a sub-sample, on its parent.
func identify(tx *Tx, c *statsCache, exhibitID string, subs []domain.Substance) error {
	name, _ := mainSubstance(subs)
	if name == "" {
		return nil
	}
	x, err := c.get(tx, exhibitID)
	if err != nil || x == nil {
		return err
	}
	x.Identified = name
	if !x.ParentID.Valid {
		return nil
	}
	p, err := c.get(tx, x.ParentID.String)
	if err != nil || p == nil {
		return err
	}
	p.Identified = name
	return nil
}

// Statistics dimensions.
const (
	DimSubstance = "substance"
	DimMonth     = "month"
	DimCountry   = "country"
	DimPlace     = "place"
	DimAgency    = "agency"
)

var dimSQL = map[string]string{
	DimSubstance: `coalesce(nullif(x.identified, ''), nullif(x.presumed, ''), 'unknown')`,
	DimMonth:     `s.month`,
	DimCountry:   `s.country`,
	DimPlace:     `s.place`,
	DimAgency:    `s.agency`,
}

// StatsFilter chooses the dimensions to group by (any of substance, month,
// country, place, agency; none gives one total) and narrows the seizures:
// months From..To inclusive ("2026-03"), one substance, country or agency.
type StatsFilter struct {
	GroupBy   []string `json:"group_by,omitempty"`
	FromMonth string   `json:"from_month,omitempty"`
	ToMonth   string   `json:"to_month,omitempty"`
	Substance string   `json:"substance,omitempty"`
	Country   string   `json:"country,omitempty"`
	Agency    string   `json:"agency,omitempty"`
}

// StatsRow is one group: its dimension values (by name) and its totals.
type StatsRow struct {
	Group    map[string]string `json:"group"`
	Seizures int64             `json:"seizures"`
	Exhibits int64             `json:"exhibits"`
	NetMg    int64             `json:"net_mg"`
}

// StatsPage is one page of groups, in the order of their dimension values.
type StatsPage struct {
	Items      []StatsRow `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// Statistics counts recorded seizures and exhibits (sub-samples excluded)
// and sums their net weight, over the cases the agency may see.
func (m *ReadModels) Statistics(ctx context.Context, agency string, f StatsFilter, page Page) (StatsPage, error) {
	var out StatsPage
	limit, err := page.limit()
	if err != nil {
		return out, err
	}
	var cols []string
	for i, d := range f.GroupBy {
		expr, ok := dimSQL[d]
		if !ok {
			return out, &FilterError{Field: fmt.Sprintf("group_by[%d]", i), Reason: fmt.Sprintf("%q is not one of substance, month, country, place, agency", d)}
		}
		cols = append(cols, expr)
	}
	for _, mth := range []struct{ field, v string }{{"from_month", f.FromMonth}, {"to_month", f.ToMonth}} {
		if _, err := time.Parse("2006-01", mth.v); mth.v != "" && err != nil {
			return out, &FilterError{Field: mth.field, Reason: fmt.Sprintf("%q is not a month like 2026-03", mth.v)}
		}
	}
	key, err := decodeCursor("statistics", page.Cursor, 1)
	if err != nil {
		return out, err
	}
	offset := 0
	if key != nil {
		if offset, err = strconv.Atoi(key[0]); err != nil || offset < 0 {
			return out, &CursorError{Reason: "bad offset"}
		}
	}
	where, args := []string{`x.recorded`, `x.parent_id IS NULL`, visible("x")}, []any{agency}
	if f.FromMonth != "" {
		where, args = append(where, `s.month >= ?`), append(args, f.FromMonth)
	}
	if f.ToMonth != "" {
		where, args = append(where, `s.month <= ?`), append(args, f.ToMonth)
	}
	if f.Substance != "" {
		where, args = append(where, dimSQL[DimSubstance]+` = ?`), append(args, f.Substance)
	}
	if f.Country != "" {
		where, args = append(where, `s.country = ?`), append(args, f.Country)
	}
	if f.Agency != "" {
		where, args = append(where, `s.agency = ?`), append(args, f.Agency)
	}
	w, a := renumber(where, args)
	sel, group := "", ""
	if len(cols) > 0 {
		sel = strings.Join(cols, ", ") + ", "
		ords := make([]string, len(cols))
		for i := range cols {
			ords[i] = strconv.Itoa(i + 1)
		}
		group = " GROUP BY " + strings.Join(ords, ", ") + " ORDER BY " + strings.Join(ords, ", ")
	}
	err = m.read(ctx, "statistics", agency, "stats", &page, func(q *reader) error {
		rows, err := q.query(`SELECT `+sel+`count(DISTINCT x.seizure_id), count(*), coalesce(sum(x.net_mg), 0)
			FROM {stats_exhibits} x JOIN {stats_seizures} s ON s.seizure_id = x.seizure_id
			WHERE `+w+group+fmt.Sprintf(` LIMIT %d OFFSET %d`, limit+1, offset), a...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			vals := make([]string, len(cols))
			var r StatsRow
			dst := make([]any, 0, len(cols)+3)
			for i := range vals {
				dst = append(dst, &vals[i])
			}
			dst = append(dst, &r.Seizures, &r.Exhibits, &r.NetMg)
			if err := rows.Scan(dst...); err != nil {
				return err
			}
			r.Group = map[string]string{}
			for i, d := range f.GroupBy {
				r.Group[d] = vals[i]
			}
			if len(cols) == 0 && r.Exhibits == 0 {
				continue
			}
			out.Items = append(out.Items, r)
		}
		return rows.Err()
	})
	if err != nil {
		return StatsPage{}, err
	}
	if len(out.Items) > limit {
		out.Items = out.Items[:limit]
		out.NextCursor = encodeCursor("statistics", strconv.Itoa(offset+limit))
	}
	if out.Items == nil {
		out.Items = []StatsRow{}
	}
	return out, nil
}
