package projections

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// schemaOf returns the DDL of generation t's tables and indexes of p, with
// the generation's suffix taken out, sorted.
func schemaOf(t *testing.T, db *DB, p Projection, tables Tables) []string {
	t.Helper()
	var out []string
	for _, base := range p.Tables() {
		rows, err := db.r.Query(`SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE tbl_name = ?`, tables.Name(base))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var typ, name, ddl string
			if err := rows.Scan(&typ, &name, &ddl); err != nil {
				t.Fatal(err)
			}
			out = append(out, typ+" "+strings.ReplaceAll(name+" "+ddl, tables.suffix, "{}"))
		}
		rows.Close()
	}
	slices.Sort(out)
	return out
}

// TestRebuildAll_SameSchemaAndIndexes: a projection rebuilt alone, and
// all rebuilt together in one pass, end with the tables and every index
// Init creates (a rebuild creates the query indexes after loading the
// rows), at a new generation, and the old generations are dropped.
func TestRebuildAll_SameSchemaAndIndexes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r, err := NewRunner(f.db, f.store, All(), Options{Decode: DomainDecoder})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Init(ctx); err != nil {
		t.Fatal(err)
	}
	gens := func() map[string]Tables {
		reg, err := readRegistry(ctx, f.db.r)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]Tables{}
		for name, row := range reg {
			m[name] = tablesFor(row.version, row.generation)
		}
		return m
	}
	first := gens()
	before := map[string][]string{}
	for _, p := range All() {
		before[p.Name()] = schemaOf(t, f.db, p, first[p.Name()])
		if !slices.ContainsFunc(before[p.Name()], func(s string) bool { return strings.HasPrefix(s, "index participants{}_by_agency") }) {
			t.Fatalf("%s: no participants index after Init: %v", p.Name(), before[p.Name()])
		}
	}
	// Rebuilding one projection leaves the others' tables alone, the
	// participants table each keeps for itself included.
	if _, err := r.Rebuild(ctx, "custody", nil); err != nil {
		t.Fatal(err)
	}
	second := gens()
	for _, p := range All() {
		got := schemaOf(t, f.db, p, second[p.Name()])
		if !slices.Equal(got, before[p.Name()]) {
			t.Errorf("%s: schema after rebuilding custody\n%v\nwant\n%v", p.Name(), got, before[p.Name()])
		}
	}
	if _, err := NewReadModels(f.db, r).Statistics(ctx, "MA-DOUANE", StatsFilter{}, Page{}); err != nil {
		t.Fatalf("statistics after rebuilding custody: %v", err)
	}
	res, err := r.RebuildAll(ctx, r.Projections(), nil)
	if err != nil {
		t.Fatal(err)
	}
	third := gens()
	for i, p := range All() {
		if res[i].Projection != p.Name() || third[p.Name()].generation != res[i].Generation {
			t.Fatalf("result %d: %+v, want %s at generation %d", i, res[i], p.Name(), third[p.Name()].generation)
		}
		after := schemaOf(t, f.db, p, third[p.Name()])
		if !slices.Equal(after, before[p.Name()]) {
			t.Errorf("%s: schema after rebuild\n%v\nwant\n%v", p.Name(), after, before[p.Name()])
		}
		for _, old := range []Tables{first[p.Name()], second[p.Name()]} {
			if old == third[p.Name()] {
				t.Errorf("%s: generation %d not replaced", p.Name(), old.generation)
			} else if left := schemaOf(t, f.db, p, old); len(left) != 0 {
				t.Errorf("%s: generation %d left behind: %v", p.Name(), old.generation, left)
			}
		}
	}
	if _, err := r.RebuildAll(ctx, []string{"custody", "custody"}, nil); err == nil {
		t.Fatal("a projection named twice: got no error")
	}
}

// TestRunner_StatementsKeptAcrossBatches: live batches reuse statements
// prepared on the writer connection; a swap drops those of the replaced
// tables.
func TestRunner_StatementsKeptAcrossBatches(t *testing.T) {
	f := newFixture(t)
	r, stop := startRunner(t, f, counter{1}, Options{BatchSize: 5})
	defer stop()
	ctx := context.Background()
	last := f.appendN(t, 3)
	if err := r.WaitFor(ctx, last, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	last = f.appendN(t, 3)
	if err := r.WaitFor(ctx, last, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	kept := func(table string) bool {
		r.stmts.mu.Lock()
		defer r.stmts.mu.Unlock()
		for text := range r.stmts.stmts {
			if strings.Contains(text, table) {
				return true
			}
		}
		return false
	}
	if !kept("counts_v1_g1") {
		t.Fatal("no statement on counts_v1_g1 kept after live batches")
	}
	res, err := r.Rebuild(ctx, "counter", nil)
	if err != nil {
		t.Fatal(err)
	}
	if kept("counts_v1_g1") {
		t.Fatal("a statement on the replaced counts_v1_g1 kept after the swap")
	}
	last = f.appendN(t, 3)
	if err := r.WaitFor(ctx, last, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sameCounts(t, readCounts(t, f.db.r, fmt.Sprintf("counts_v1_g%d", res.Generation)), wantCounts(9))
}
