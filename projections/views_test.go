package projections

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// startAll opens the read side over f with every projection and runs it
// until the test ends.
func startAll(t testing.TB, f *fixture) (*Runner, *ReadModels) {
	t.Helper()
	r, _ := runProjections(t, f.db, f.store, All(), Options{Decode: DomainDecoder})
	return r, NewReadModels(f.db, r)
}

// views reads every view as every agency sees it, keyed by view name,
// then agency.
func views(t testing.TB, m *ReadModels, s story, last uint64) map[string]map[string]any {
	t.Helper()
	ctx := context.Background()
	out := map[string]map[string]any{}
	put := func(view, agency string, v any, err error) {
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s as %s: %v", view, agency, err)
			}
			v = "not found"
		}
		if out[view] == nil {
			out[view] = map[string]any{}
		}
		out[view][agency] = v
	}
	exhibits := append(append(append([]uuid.UUID{}, s.bales...), s.frExhibits...), s.sample)
	wait := &last
	for _, a := range agencies {
		for i, x := range exhibits {
			c, err := m.Custody(ctx, a, x, s.queryNow, wait)
			put("custody", a+"/"+label(i), c, err)
		}
		h, err := m.Holdings(ctx, a, HoldingsFilter{Now: s.queryNow}, Page{})
		put("holdings", a, h, err)
		h, err = m.Holdings(ctx, a, HoldingsFilter{Agency: "MA-DOUANE-TGM", Person: "karim", Now: s.queryNow}, Page{})
		put("holdings", a+"/karim", h, err)
		h, err = m.Holdings(ctx, a, HoldingsFilter{Agency: "MA-DOUANE-TGM", Location: "TGM/MAGASIN-2/R3", Now: s.queryNow}, Page{})
		put("holdings", a+"/TGM/MAGASIN-2/R3", h, err)
		cs, err := m.Cases(ctx, a, CaseFilter{}, Page{})
		put("cases", a, cs, err)
		for i, id := range []uuid.UUID{s.seizureID, s.frSeizureID} {
			sz, err := m.Seizure(ctx, a, id, s.queryNow, nil)
			put("seizures", a+"/"+[]string{"PV-2026-0412", "PV-MRS-0077"}[i], sz, err)
		}
		lq, err := m.LabQueue(ctx, a, LabQueueFilter{Lab: "MA-LAB-CASA", Now: s.queryNow}, Page{})
		put("lab", a+"/queue", lq, err)
		ta, err := m.Turnaround(ctx, a, "MA-LAB-CASA")
		put("lab", a+"/turnaround", ta, err)
		d, err := m.Discrepancies(ctx, a, DiscrepancyFilter{IncludeResolved: true}, Page{})
		put("discrepancies", a, d, err)
		pt, err := m.PendingTransfers(ctx, a, TransferFilter{}, s.queryNow, Page{})
		put("transfers", a, pt, err)
		od, err := m.OverdueCheckouts(ctx, a, s.queryNow, Page{})
		put("overdue", a, od, err)
		st, err := m.Statistics(ctx, a, StatsFilter{GroupBy: []string{DimSubstance, DimMonth, DimPlace, DimAgency}}, Page{})
		put("statistics", a, st, err)
		fd, err := m.FeedEvents(ctx, a, FeedFilter{}, Page{Limit: MaxLimit})
		put("feed", a, fd, err)
	}
	return out
}

func label(i int) string { return "exhibit-" + string(rune('a'+i)) }

func checkGolden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "views", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./projections -run TestViews -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (rerun with -update after checking the change):\n%s", name, path, firstDiff(got, want))
	}
}

func firstDiff(got, want []byte) string {
	gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w []byte
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if !bytes.Equal(g, w) {
			return "line " + itoa(i+1) + ":\n got: " + string(g) + "\nwant: " + string(w)
		}
	}
	return ""
}

func itoa(i int) string { return fmtInt(int64(i)) }

func fmtInt(i int64) string { b, _ := json.Marshal(i); return string(b) }

// TestViews drives every view to the end of the reference scenario on real
// SQLite files and compares what every agency sees with the golden files.
func TestViews(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f.store)
	s := tangier(w)
	_, m := startAll(t, f)
	all := views(t, m, s, w.last)
	for name, v := range all {
		t.Run(name, func(t *testing.T) { checkGolden(t, name, v) })
	}
}

var _ = time.Second
