package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/scelle-ledger/scelle/domain"
	"github.com/scelle-ledger/scelle/eventstore"
)

// dump reads every table of every projection's active generation, row for
// row, in a canonical order: "projection/table" -> rows.
func dump(t tb, db *DB) map[string][]string {
	t.Helper()
	ctx := context.Background()
	reg, err := readRegistry(ctx, db.r)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, p := range All() {
		row, ok := reg[p.Name()]
		if !ok {
			t.Fatalf("projection %s not in the registry", p.Name())
		}
		tb := tablesFor(row.version, row.generation)
		for _, base := range p.Tables() {
			name := tb.Name(base)
			cols, err := columns(ctx, db.r, name)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := db.r.QueryContext(ctx, `SELECT * FROM "`+name+`" ORDER BY `+strings.Join(cols, ", "))
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				lines = append(lines, fmt.Sprintf("%v", vals))
			}
			rows.Close()
			out[p.Name()+"/"+base] = lines
		}
	}
	return out
}

func columns(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, `"`+c+`"`)
	}
	return cols, rows.Err()
}

func sameDump(t tb, what string, got, want map[string][]string) {
	t.Helper()
	for k, w := range want {
		g := got[k]
		if !reflect.DeepEqual(g, w) {
			for i := 0; i < max(len(g), len(w)); i++ {
				var gi, wi string
				if i < len(g) {
					gi = g[i]
				}
				if i < len(w) {
					wi = w[i]
				}
				if gi != wi {
					t.Fatalf("%s: table %s: %d rows vs %d; first difference at row %d:\n got: %s\nwant: %s", what, k, len(g), len(w), i, gi, wi)
				}
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: got %d tables, want %d", what, len(got), len(want))
	}
}

// rebuildAllIn initializes every projection in db and rebuilds them all
// in one pass, in batches of 16 and pages of page events.
func rebuildAllIn(t tb, db *DB, store eventstore.Store, page int) *Runner {
	t.Helper()
	ctx := context.Background()
	r, err := NewRunner(db, store, All(), Options{Decode: DomainDecoder, BatchSize: 16, RebuildBatchSize: page})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RebuildAll(ctx, r.Projections(), nil); err != nil {
		t.Fatal(err)
	}
	return r
}

// rebuildFresh projects store from zero into a new read-model file in dir
// and returns its dump.
func rebuildFresh(t tb, store eventstore.Store, dir string, last uint64) map[string][]string {
	t.Helper()
	ctx := context.Background()
	db, err := OpenDB(ctx, filepath.Join(dir, "fresh-"+uuid.NewString()+".db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Small batches and pages, so that even a short log is bulk-loaded
	// (the feed directly, the others through scratch files copied in), in
	// several pages: the path a rebuild of a large store takes.
	r := rebuildAllIn(t, db, store, 50)
	if err := r.WaitFor(ctx, last, time.Second); err != nil {
		t.Fatal(err)
	}
	return dump(t, db)
}

// checkFeedOnce asserts that every domain event of the store is in the
// feed or waiting in feed_pending, exactly once: the feed keeps no unique
// index on position (a rebuild of 1M events spent a second building one),
// so this is where an event entering it twice would show.
func checkFeedOnce(t tb, db *DB, store eventstore.Store) {
	t.Helper()
	ctx := context.Background()
	reg, err := readRegistry(ctx, db.r)
	if err != nil {
		t.Fatal(err)
	}
	row := reg[Feed{}.Name()]
	tb := tablesFor(row.version, row.generation)
	rows, err := db.r.QueryContext(ctx, `SELECT position FROM "`+tb.Name("feed")+`" UNION ALL SELECT position FROM "`+tb.Name("feed_pending")+`"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[uint64]int{}
	for rows.Next() {
		var p uint64
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		seen[p]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	evs, err := store.ReadAll(ctx, eventstore.ReadOptions{From: eventstore.Start})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, ev := range evs {
		if int64(ev.Position) > row.position || domain.Events.SchemaVersion(ev.Type) == 0 {
			continue
		}
		want++
		if n := seen[ev.Position]; n != 1 {
			t.Fatalf("feed: event at position %d (%s) is in the feed or waiting %d times, want once", ev.Position, ev.Type, n)
		}
	}
	if len(seen) != want {
		t.Fatalf("feed: %d positions in the feed or waiting, want the %d domain events up to position %d", len(seen), want, row.position)
	}
}

// TestIncrementalEqualsRebuild: for random command sequences, the views
// built live (while the commands run, in whatever batches arrive) equal
// the views rebuilt from zero, row for row, both in a fresh file and by a
// rebuild beside the live tables; and scoping holds for every agency.
func TestIncrementalEqualsRebuild(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp("", "scelle-proj-*")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)
		f := &fixture{dir: dir}
		f.open(t)
		defer f.db.Close()
		defer f.store.Close()
		r, err := NewRunner(f.db, f.store, All(), Options{Decode: DomainDecoder,
			BatchSize: rapid.IntRange(1, 64).Draw(rt, "batch"), RebuildBatchSize: rapid.IntRange(1, 64).Draw(rt, "rebuild batch")})
		if err != nil {
			rt.Fatal(err)
		}
		if err := r.Init(context.Background()); err != nil {
			rt.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				rt.Fatal(err)
			}
		}()

		w := newWorld(rt, f.store)
		c := &chaos{w: w, pick: func(label string, n int) int { return rapid.IntRange(0, n-1).Draw(rt, label) }}
		most := 60
		if testing.Short() {
			most = 20
		}
		steps := rapid.IntRange(5, most).Draw(rt, "steps")
		for i := 0; i < steps; i++ {
			c.step()
		}
		if w.last == 0 {
			return
		}
		if err := r.WaitFor(context.Background(), w.last, 10*time.Second); err != nil {
			rt.Fatal(err)
		}
		live := dump(rt, f.db)
		checkFeedOnce(rt, f.db, f.store)
		sameDump(rt, "live vs fresh rebuild", live, rebuildFresh(rt, f.store, dir, w.last))
		for _, p := range All() {
			if _, err := r.Rebuild(context.Background(), p.Name(), nil); err != nil {
				rt.Fatal(err)
			}
		}
		sameDump(rt, "live vs rebuild beside live", dump(rt, f.db), live)
		checkFeedOnce(rt, f.db, f.store)
		checkScoping(rt, f.store, NewReadModels(f.db, r), c.exhibits, w.now)
	})
}

// checkScoping asserts that no query and not the feed shows any agency an
// exhibit (or event) of a case it does not take part in, the participants
// being folded by the domain from the case streams.
func checkScoping(t tb, store eventstore.Store, m *ReadModels, exhibits []uuid.UUID, now time.Time) {
	t.Helper()
	ctx := context.Background()
	w := &world{t: t, store: store}
	cases := map[string]*domain.Case{}
	caseOfExhibit := map[string]string{}
	for _, id := range exhibits {
		evs, err := w.events(ctx, domain.ExhibitStream(id))
		if err != nil {
			t.Fatal(err)
		}
		x := domain.NewExhibit(evs...)
		caseOfExhibit[id.String()] = x.CaseID.String()
		if _, ok := cases[x.CaseID.String()]; !ok {
			cevs, err := w.events(ctx, domain.CaseStream(x.CaseID))
			if err != nil {
				t.Fatal(err)
			}
			cases[x.CaseID.String()] = domain.NewCase(cevs...)
		}
	}
	allowed := func(agency, caseID string) bool {
		c, ok := cases[caseID]
		if !ok {
			cid := uuid.MustParse(caseID)
			cevs, err := w.events(ctx, domain.CaseStream(cid))
			if err != nil {
				t.Fatal(err)
			}
			c = domain.NewCase(cevs...)
			cases[caseID] = c
		}
		return c.Participant(agency)
	}
	check := func(agency, what, caseID string) {
		if !allowed(agency, caseID) {
			t.Fatalf("scoping: %s sees %s of case %s, in which it does not take part", agency, what, caseID)
		}
	}
	for _, a := range agencies {
		seen := 0
		for _, id := range exhibits {
			x, err := m.Custody(ctx, a, id, now, nil)
			if err == nil {
				check(a, "exhibit "+id.String()+" (custody)", x.CaseID)
				seen++
			} else if !errorsIsNotFound(err) {
				t.Fatal(err)
			} else if allowed(a, caseOfExhibit[id.String()]) {
				t.Fatalf("scoping: %s does not see exhibit %s of case %s in which it takes part", a, id, caseOfExhibit[id.String()])
			}
		}
		pages(t, func(p Page) ([]ExhibitCustody, string, error) {
			r, err := m.Exhibits(ctx, a, ExhibitFilter{Now: now}, p)
			return r.Items, r.NextCursor, err
		}, func(x ExhibitCustody) { check(a, "exhibit "+x.ExhibitID+" (list)", x.CaseID) })
		for _, holder := range agencies {
			pages(t, func(p Page) ([]ExhibitCustody, string, error) {
				r, err := m.Holdings(ctx, a, HoldingsFilter{Agency: holder, Now: now}, p)
				return r.Items, r.NextCursor, err
			}, func(x ExhibitCustody) { check(a, "exhibit "+x.ExhibitID+" (holdings of "+holder+")", x.CaseID) })
		}
		for _, lab := range []string{"MA-LAB-CASA", "FR-LAB-MRS"} {
			pages(t, func(p Page) ([]LabJob, string, error) {
				r, err := m.LabQueue(ctx, a, LabQueueFilter{Lab: lab, Now: now}, p)
				return r.Items, r.NextCursor, err
			}, func(j LabJob) { check(a, "exhibit "+j.ExhibitID+" (lab queue)", j.CaseID) })
		}
		pages(t, func(p Page) ([]ExhibitCustody, string, error) {
			r, err := m.PendingTransfers(ctx, a, TransferFilter{}, now, p)
			return r.Items, r.NextCursor, err
		}, func(x ExhibitCustody) { check(a, "exhibit "+x.ExhibitID+" (transfers)", x.CaseID) })
		pages(t, func(p Page) ([]ExhibitCustody, string, error) {
			r, err := m.OverdueCheckouts(ctx, a, now.Add(100*time.Hour), p)
			return r.Items, r.NextCursor, err
		}, func(x ExhibitCustody) { check(a, "exhibit "+x.ExhibitID+" (overdue)", x.CaseID) })
		pages(t, func(p Page) ([]Discrepancy, string, error) {
			r, err := m.Discrepancies(ctx, a, DiscrepancyFilter{IncludeResolved: true}, p)
			return r.Items, r.NextCursor, err
		}, func(d Discrepancy) { check(a, "discrepancy of exhibit "+d.ExhibitID, d.CaseID) })
		pages(t, func(p Page) ([]CaseSummary, string, error) {
			r, err := m.Cases(ctx, a, CaseFilter{}, p)
			return r.Items, r.NextCursor, err
		}, func(c CaseSummary) { check(a, "case", c.CaseID) })
		feed := 0
		pages(t, func(p Page) ([]FeedItem, string, error) {
			r, err := m.FeedEvents(ctx, a, FeedFilter{}, p)
			if !r.HasMore {
				r.NextCursor = ""
			}
			return r.Items, r.NextCursor, err
		}, func(it FeedItem) {
			feed++
			check(a, "feed event "+it.Type+" of "+it.Stream, it.CaseID)
		})
		st, err := m.Statistics(ctx, a, StatsFilter{}, Page{})
		if err != nil {
			t.Fatal(err)
		}
		var counted int64
		for _, r := range st.Items {
			counted += r.Exhibits
		}
		if counted > int64(seen) {
			t.Fatalf("scoping: statistics count %d exhibits for %s, which sees only %d", counted, a, seen)
		}
	}
}

func errorsIsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// pages walks every page of a list with a small limit, so cursors are used.
func pages[T any](t tb, get func(Page) ([]T, string, error), each func(T)) {
	t.Helper()
	p := Page{Limit: 7}
	for n := 0; ; n++ {
		items, next, err := get(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			each(it)
		}
		if next == "" || n > 10000 {
			return
		}
		p.Cursor = next
	}
}
