package projections

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestQueries_PagingAndErrors(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f.store)
	s := tangier(w)
	_, m := startAll(t, f)
	ctx := context.Background()
	last := w.last

	all, err := m.Holdings(ctx, "MA-DOUANE-TGM", HoldingsFilter{Now: s.queryNow}, Page{Limit: MaxLimit, MinPosition: &last})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) < 4 || all.NextCursor != "" {
		t.Fatalf("got %d holdings, next %q; want at least 4 on one page", len(all.Items), all.NextCursor)
	}
	var paged []ExhibitCustody
	p := Page{Limit: 2}
	for {
		page, err := m.Holdings(ctx, "MA-DOUANE-TGM", HoldingsFilter{Now: s.queryNow}, p)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, page.Items...)
		if page.NextCursor == "" {
			break
		}
		p.Cursor = page.NextCursor
	}
	if !reflect.DeepEqual(paged, all.Items) {
		t.Fatalf("pages of 2 give %d items, one page %d: want the same list", len(paged), len(all.Items))
	}

	disc, err := m.Discrepancies(ctx, "MA-DOUANE-TGM", DiscrepancyFilter{IncludeResolved: true}, Page{Limit: 1})
	if err != nil || disc.NextCursor == "" {
		t.Fatalf("discrepancies: %v, next cursor %q: want a second page", err, disc.NextCursor)
	}
	for _, tc := range []struct {
		name string
		err  error
		call func() error
	}{
		{"garbage cursor", ErrBadCursor, func() error {
			_, err := m.Holdings(ctx, "MA-DOUANE-TGM", HoldingsFilter{}, Page{Cursor: "not a cursor!"})
			return err
		}},
		{"cursor of another list", ErrBadCursor, func() error {
			_, err := m.Holdings(ctx, "MA-DOUANE-TGM", HoldingsFilter{}, Page{Cursor: disc.NextCursor})
			return err
		}},
		{"limit too large", ErrBadFilter, func() error {
			_, err := m.Discrepancies(ctx, "MA-DOUANE-TGM", DiscrepancyFilter{}, Page{Limit: MaxLimit + 1})
			return err
		}},
		{"unknown dimension", ErrBadFilter, func() error {
			_, err := m.Statistics(ctx, "MA-DOUANE-TGM", StatsFilter{GroupBy: []string{"colour"}}, Page{})
			return err
		}},
		{"overdue without now", ErrBadFilter, func() error {
			_, err := m.OverdueCheckouts(ctx, "MA-DOUANE-TGM", time.Time{}, Page{})
			return err
		}},
		{"no agency", ErrNoAgency, func() error {
			_, err := m.Custody(ctx, "", s.bales[0], s.queryNow, nil)
			return err
		}},
		{"foreign exhibit", ErrNotFound, func() error {
			_, err := m.Custody(ctx, "MA-DOUANE-TGM", s.frExhibits[0], s.queryNow, nil)
			return err
		}},
		{"position never reached", ErrNotCaughtUp, func() error {
			m.WaitTimeout = 20 * time.Millisecond
			defer func() { m.WaitTimeout = DefaultWaitTimeout }()
			far := last + 1000
			_, err := m.Custody(ctx, "MA-DOUANE-TGM", s.bales[0], s.queryNow, &far)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want %v", err, tc.err)
			}
		})
	}

	// The overdue flag follows the query's now, not a clock.
	out, err := m.Custody(ctx, "MA-DOUANE-TGM", s.bales[3], s.queryNow, nil)
	if err != nil || out.Checkout == nil {
		t.Fatalf("bale 4: %v, checkout %v: want it checked out", err, out.Checkout)
	}
	before, err := m.OverdueCheckouts(ctx, "MA-DOUANE-TGM", out.Checkout.DueAt, Page{})
	if err != nil {
		t.Fatal(err)
	}
	after, err := m.OverdueCheckouts(ctx, "MA-DOUANE-TGM", out.Checkout.DueAt.Add(time.Second), Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Items) != 0 || len(after.Items) != 1 || !after.Items[0].Flags.Overdue {
		t.Fatalf("overdue: got %d before the due date and %d after, want 0 and 1 flagged", len(before.Items), len(after.Items))
	}
}
