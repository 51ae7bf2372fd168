package projections

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/domain"
)

// Queries run on prepared statements once met; the first uses of a
// statement, from more goroutines than the pool has connections, finish
// (preparing on the pool from inside a transaction would wait forever),
// every use returns what the first did, and a rebuild's new table
// generation is read through statements of its own.
func TestQueries_PreparedStatements(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f.store)
	s := tangier(w)
	r, m := startAll(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	last := w.last
	if err := m.WaitFor(ctx, last, 0); err != nil {
		t.Fatal(err)
	}
	want, err := m.Holdings(ctx, "MA-DOUANE-TGM", HoldingsFilter{Now: s.queryNow}, Page{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Items) != 3 || want.NextCursor == "" {
		t.Fatalf("got %d holdings, next %q: want a first page of 3", len(want.Items), want.NextCursor)
	}
	// Without a runner in the process, pages are not cached: every call
	// below runs its statement.
	m = NewReadModels(f.db, nil)

	n := 4 * m.db.r.Stats().MaxOpenConnections
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 1 {
				x, err := m.Custody(ctx, "MA-DOUANE-TGM", uuid.MustParse(want.Items[0].ExhibitID), s.queryNow, nil)
				if err == nil && !reflect.DeepEqual(x, want.Items[0]) {
					t.Errorf("custody: got %+v, want %+v", x, want.Items[0])
				}
				errs <- err
				return
			}
			got, err := m.Holdings(ctx, "MA-DOUANE-TGM", HoldingsFilter{Now: s.queryNow}, Page{Limit: 3})
			if err == nil && !reflect.DeepEqual(got, want) {
				t.Errorf("holdings: got %+v, want %+v", got, want)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := m.stmts.size(); got == 0 {
		t.Fatal("no statement was kept prepared")
	}
	// Another page size is the same statement: the limit is a parameter.
	before := m.stmts.size()
	if _, err := m.Holdings(ctx, "MA-DOUANE-TGM", HoldingsFilter{Now: s.queryNow}, Page{Limit: 5}); err != nil {
		t.Fatal(err)
	}
	if got := m.stmts.size(); got != before {
		t.Fatalf("a page of 5 prepared %d more statements, want none", got-before)
	}

	m = NewReadModels(f.db, r)
	if _, err := r.Rebuild(ctx, "custody", nil); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err := m.Holdings(ctx, "MA-DOUANE-TGM", HoldingsFilter{Now: s.queryNow}, Page{Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("holdings after a rebuild: got %+v, want %+v", got, want)
		}
	}
}

func (c *stmtCache) size() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// close closes and forgets every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, st := range c.m {
		st.Close()
		delete(c.m, k)
	}
}

// A page read twice at the same applied position is served from the page
// cache, a copy each time; once a batch moves the position, the page is
// read again and shows the change.
func TestQueries_PageCache(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f.store)
	s := tangier(w)
	_, m := startAll(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	last := w.last
	first, err := m.Holdings(ctx, "MA-DOUANE-TGM", HoldingsFilter{Now: s.queryNow}, Page{Limit: MaxLimit, MinPosition: &last})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.pages.m) != 1 {
		t.Fatalf("%d pages cached, want 1", len(m.pages.m))
	}
	first.Items[0].Label = "changed by the caller"
	again, err := m.Holdings(ctx, "MA-DOUANE-TGM", HoldingsFilter{Now: s.queryNow}, Page{Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if again.Items[0].Label == first.Items[0].Label {
		t.Fatal("a cached page shares its items with an earlier caller")
	}
	target := uuid.MustParse(again.Items[0].ExhibitID)
	w.must(nadia, domain.AddAnnotation{ExhibitID: target, Kind: "note", Text: "checked"})
	last = w.last
	after, err := m.Holdings(ctx, "MA-DOUANE-TGM", HoldingsFilter{Now: s.queryNow}, Page{Limit: MaxLimit, MinPosition: &last})
	if err != nil {
		t.Fatal(err)
	}
	if after.Items[0].ExhibitID != target.String() || after.Items[0].Revision != again.Items[0].Revision+1 || after.Items[0].Position != last {
		t.Fatalf("after an annotation: revision %d position %d, want %d and %d", after.Items[0].Revision, after.Items[0].Position, again.Items[0].Revision+1, last)
	}
}
