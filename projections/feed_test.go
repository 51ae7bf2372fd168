package projections

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scelle-ledger/scelle/eventstore"
)

// portOnly is a store with the eventstore.Store port's methods only: no
// ReadPositions, no ReadRange.
type portOnly struct{ eventstore.Store }

// startStoppable runs every projection over store and f's database; stop
// ends Run.
func startStoppable(t *testing.T, f *fixture, store eventstore.Store) (*Runner, func()) {
	t.Helper()
	return runProjections(t, f.db, store, All(), Options{Decode: DomainDecoder})
}

// feedPages walks the whole feed as agency sees it (with filter f), pages
// of limit items, and returns every page.
func feedPages(t *testing.T, m *ReadModels, agency string, f FeedFilter, limit int) []FeedPage {
	t.Helper()
	var pages []FeedPage
	cursor := ""
	for {
		p, err := m.FeedEvents(context.Background(), agency, f, Page{Cursor: cursor, Limit: limit})
		if err != nil {
			t.Fatalf("feed as %s, after %q: %v", agency, cursor, err)
		}
		pages = append(pages, p)
		if !p.HasMore {
			return pages
		}
		cursor = p.NextCursor
	}
}

// TestFeedEvents_FallbackWithoutReadPositions: over a store without
// ReadPositions, FeedEvents reads each position with ReadAll and returns
// the same pages, for every agency, with and without a case filter.
func TestFeedEvents_FallbackWithoutReadPositions(t *testing.T) {
	f := newFixture(t)
	w := newWorld(t, f.store)
	s := tangier(w)
	r, _ := startStoppable(t, f, f.store)
	if err := r.WaitFor(context.Background(), w.last, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, ok := any(portOnly{f.store}).(positionReader); ok {
		t.Fatal("portOnly has ReadPositions: the fallback would not be exercised")
	}
	fast := NewReadModels(f.db, r)
	slowRunner, err := NewRunner(f.db, portOnly{f.store}, All(), Options{Decode: DomainDecoder})
	if err != nil {
		t.Fatal(err)
	}
	slow := NewReadModels(f.db, slowRunner)
	items := 0
	for _, a := range agencies {
		for _, filter := range []FeedFilter{{}, {CaseID: &s.caseID}, {CaseID: &s.frCaseID}} {
			want := feedPages(t, fast, a, filter, 7)
			got := feedPages(t, slow, a, filter, 7)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("feed as %s, filter %v: fallback pages differ:\ngot  %+v\nwant %+v", a, filter, got, want)
			}
			for _, p := range want {
				items += len(p.Items)
				for _, it := range p.Items {
					if it.EventID == "" || it.Stream == "" || it.Type == "" || it.ActorUser == "" || it.RecordedAt.IsZero() {
						t.Fatalf("feed as %s: item %d not completed from the store: %+v", a, it.Seq, it)
					}
				}
			}
		}
	}
	if items == 0 {
		t.Fatal("no feed item compared")
	}
}

// TestFeedEvents_NeedsTheStore: without a runner (so without a store),
// FeedEvents says why it cannot answer; a position the store lacks is an
// error naming it, with or without ReadPositions.
func TestFeedEvents_NeedsTheStore(t *testing.T) {
	f := newFixture(t)
	f.appendN(t, 3)
	_, err := NewReadModels(f.db, nil).FeedEvents(context.Background(), "MA-DOUANE-TGM", FeedFilter{}, Page{})
	if err == nil || !strings.Contains(err.Error(), "no event store") {
		t.Fatalf("no runner: got %v, want an error saying there is no event store", err)
	}
	for _, store := range []eventstore.Store{f.store, portOnly{f.store}} {
		got, err := readPositions(context.Background(), store, []uint64{2, 0})
		if err != nil || len(got) != 2 || got[0].Position != 2 || got[1].Position != 0 {
			t.Fatalf("%T: positions 2, 0: got %d events, %v", store, len(got), err)
		}
		_, err = readPositions(context.Background(), store, []uint64{1, 3})
		if err == nil || !strings.Contains(err.Error(), "position 3") {
			t.Fatalf("%T: position 3 of 3 events: got %v, want an error naming position 3", store, err)
		}
	}
}

// TestFeed_Version1Rebuilt: read models whose feed is at version 1 (rows
// of twelve columns) are rebuilt by Init into version 2, the old tables
// dropped, and the feed reads the same as one built at version 2.
func TestFeed_Version1Rebuilt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	w := newWorld(t, f.store)
	tangier(w)
	r, stop := startStoppable(t, f, f.store)
	if err := r.WaitFor(ctx, w.last, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	m := NewReadModels(f.db, r)
	want := map[string][]FeedPage{}
	for _, a := range agencies {
		want[a] = feedPages(t, m, a, FeedFilter{}, MaxLimit)
	}
	stop()

	// Replace the feed by what version 1 left: its tables, in the
	// registry at the store's head.
	v1 := tablesFor(1, 999)
	ddl := append(participantsSchema(),
		`CREATE TABLE {feed} (seq INTEGER PRIMARY KEY, position INTEGER NOT NULL, event_id TEXT NOT NULL,
			stream TEXT NOT NULL, revision INTEGER NOT NULL, type TEXT NOT NULL, case_id TEXT NOT NULL, exhibit_id TEXT,
			occurred_at INTEGER NOT NULL, recorded_at INTEGER NOT NULL, actor_user TEXT NOT NULL,
			actor_agency TEXT NOT NULL, actor_role TEXT NOT NULL) STRICT`,
		`CREATE TABLE {feed_pending} (position INTEGER PRIMARY KEY, event_id TEXT NOT NULL, stream TEXT NOT NULL,
			revision INTEGER NOT NULL, type TEXT NOT NULL, case_id TEXT NOT NULL, exhibit_id TEXT,
			occurred_at INTEGER NOT NULL, recorded_at INTEGER NOT NULL, actor_user TEXT NOT NULL,
			actor_agency TEXT NOT NULL, actor_role TEXT NOT NULL) STRICT`,
		`CREATE TABLE {feed_recorded} (exhibit_id TEXT PRIMARY KEY) WITHOUT ROWID, STRICT`,
		`INSERT INTO {feed} VALUES (1, 0, 'e', 's', 0, 't', 'c', NULL, 0, 0, 'u', 'a', 'r')`,
		fmt.Sprintf(`UPDATE projection_registry SET version = 1, generation = 999, position = %d WHERE name = 'feed'`, w.last))
	for _, q := range ddl {
		if _, err := f.db.w.ExecContext(ctx, v1.Expand(q)); err != nil {
			t.Fatalf("%s: %v", v1.Expand(q), err)
		}
	}

	const oldTables = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE '%\_v1\_g999' ESCAPE '\'`
	var old int
	if err := f.db.r.QueryRow(oldTables).Scan(&old); err != nil || old < 3 {
		t.Fatalf("version 1 tables: %d made (err %v), want at least 3", old, err)
	}

	r, _ = startStoppable(t, f, f.store)
	if err := r.WaitFor(ctx, w.last, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var version int
	if err := f.db.r.QueryRow(`SELECT version FROM projection_registry WHERE name = 'feed'`).Scan(&version); err != nil || version != FeedVersion {
		t.Fatalf("registry: feed at version %d (err %v), want %d", version, err, FeedVersion)
	}
	if err := f.db.r.QueryRow(oldTables).Scan(&old); err != nil || old != 0 {
		t.Fatalf("version 1 tables: %d left (err %v), want them dropped", old, err)
	}
	m = NewReadModels(f.db, r)
	n := 0
	for _, a := range agencies {
		got := feedPages(t, m, a, FeedFilter{}, MaxLimit)
		if !reflect.DeepEqual(got, want[a]) {
			t.Fatalf("feed as %s after the rebuild:\ngot  %+v\nwant %+v", a, got, want[a])
		}
		n += len(got[0].Items)
	}
	if n == 0 {
		t.Fatal("no feed item compared")
	}
}
