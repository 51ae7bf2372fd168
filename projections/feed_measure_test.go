package projections

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore/sqlite"
)

// TestMeasureFeed prints the latency of FeedEvents pages of 50 on the data
// directory SCELLE_FEED_DATA (its events.db and up-to-date readmodels.db;
// Init runs, so give it a copy): pages after a random point of the feed
// for the agency that takes part in most cases, pages of one case, and the
// feed's last page (a live reader). Skipped when unset. It asserts nothing
// about speed.
//
//	SCELLE_FEED_DATA=/tmp/rbf go test -run TestMeasureFeed -v ./projections
func TestMeasureFeed(t *testing.T) {
	dir := os.Getenv("SCELLE_FEED_DATA")
	if dir == "" {
		t.Skip("set SCELLE_FEED_DATA to a copy of a data directory to measure")
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	db, err := OpenDB(ctx, filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r, err := NewRunner(db, store, All(), Options{Decode: DomainDecoder})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Init(ctx); err != nil {
		t.Fatal(err)
	}
	m := NewReadModels(db, r)
	var version, gen int
	if err := db.r.QueryRow(`SELECT version, generation FROM projection_registry WHERE name = 'feed'`).Scan(&version, &gen); err != nil {
		t.Fatal(err)
	}
	tb := tablesFor(version, gen)
	var agency string
	var cases, rows int64
	if err := db.r.QueryRow(tb.Expand(`SELECT agency, count(*) FROM {participants} GROUP BY agency ORDER BY 2 DESC LIMIT 1`)).Scan(&agency, &cases); err != nil {
		t.Fatal(err)
	}
	if err := db.r.QueryRow(tb.Expand(`SELECT max(seq) FROM {feed}`)).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	t.Logf("feed version %d: %d rows; agency %s takes part in %d cases", version, rows, agency, cases)
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		t.Logf("load average: %s", b[:len(b)-1])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 2000
	measure := func(name string, page func(i int) (FeedFilter, Page)) {
		ds := make([]time.Duration, 0, n)
		items := 0
		cpu := cpuTime()
		for i := range n + n/10 {
			f, p := page(i)
			start := time.Now()
			out, err := m.FeedEvents(ctx, agency, f, p)
			d := time.Since(start)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if i >= n/10 { // the first tenth warms up
				ds = append(ds, d)
				items += len(out.Items)
			}
		}
		p50, p99 := percentiles(ds)
		t.Logf("%s: %d pages, %.1f items a page: p50 %s, p99 %s; CPU %.0f µs a page",
			name, len(ds), float64(items)/float64(len(ds)), p50, p99, float64((cpuTime()-cpu).Microseconds())/float64(n+n/10))
	}
	measure("agency, after a random seq", func(int) (FeedFilter, Page) {
		return FeedFilter{}, Page{Limit: 50, Cursor: encodeCursor("feed", strconv.FormatInt(rng.Int64N(rows-200), 10))}
	})
	measure("agency, the last page", func(int) (FeedFilter, Page) {
		return FeedFilter{}, Page{Limit: 50, Cursor: encodeCursor("feed", strconv.FormatInt(rows-50, 10))}
	})
	var caseIDs []uuid.UUID
	rs, err := db.r.Query(tb.Expand(`SELECT case_id FROM {participants} WHERE agency = ? ORDER BY random() LIMIT 64`), agency)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var id uuid.UUID
		if err := rs.Scan(&id); err != nil {
			t.Fatal(err)
		}
		caseIDs = append(caseIDs, id)
	}
	if err := rs.Close(); err != nil {
		t.Fatal(err)
	}
	measure("one case, from its start", func(i int) (FeedFilter, Page) {
		return FeedFilter{CaseID: &caseIDs[i%len(caseIDs)]}, Page{Limit: 50}
	})
}
