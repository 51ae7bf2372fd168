package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
)

// BenchmarkStore measures, side by side on the same machine and the same
// kind of file (WAL, synchronous=FULL), durable appends through the store
// against plain SQLite inserts of the same rows, then prints a table of
// events/s with the ratios store/naive and store/raw-batched.
//
// The cases run in rounds (SCELLE_BENCH_ROUNDS, default 3), one after the
// other in each round, so that a change in the machine's load during the run
// weighs on all of them alike; the table sums the events and time of every
// round, and gives the headline ratio of each round.
//
//	go test -run '^$' -bench Store -benchtime 3s ./eventstore/sqlite/
func BenchmarkStore(b *testing.B) {
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("SCELLE_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	rates := &rateTable{}
	cases := []struct {
		name string
		run  func(b *testing.B)
	}{
		{caseNaive, benchNaive},
		{caseStore64, func(b *testing.B) { benchStoreSingles(b, 64, 64) }},
		{caseRaw, func(b *testing.B) { benchRawBatched(b, 1000) }},
		{"store/64-writers-4-shared-streams", func(b *testing.B) { benchStoreSingles(b, 64, 4) }},
		{"store/batched-100-1-writer", func(b *testing.B) { benchStoreBatched(b, 100, 1) }},
		{"store/batched-100-8-writers", func(b *testing.B) { benchStoreBatched(b, 100, 8) }},
		{"store/read-all-pages-1000", benchReadAll},
	}
	for round := range rounds {
		for _, c := range cases {
			var n int
			var d time.Duration
			b.Run(c.name, func(b *testing.B) {
				c.run(b)
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
				n, d = b.N, b.Elapsed() // the last call is the measured one
			})
			rates.add(round, c.name, n, d)
		}
	}
	rates.print(os.Stdout)
}

const (
	caseNaive   = "naive/1-tx-per-event"
	caseRaw     = "raw/batched-1000-per-tx"
	caseStore64 = "store/64-writers-distinct-streams"
)

type rateTable struct {
	names  []string
	events map[string]int
	time   map[string]time.Duration
	rounds []map[string]float64 // events/s per case, per round
}

func (t *rateTable) add(round int, name string, n int, d time.Duration) {
	if t.events == nil {
		t.events, t.time = map[string]int{}, map[string]time.Duration{}
	}
	if _, ok := t.events[name]; !ok {
		t.names = append(t.names, name)
	}
	t.events[name] += n
	t.time[name] += d
	for len(t.rounds) <= round {
		t.rounds = append(t.rounds, map[string]float64{})
	}
	if d > 0 {
		t.rounds[round][name] = float64(n) / d.Seconds()
	}
}

func (t *rateTable) rate(name string) float64 {
	if t.time[name] <= 0 {
		return 0
	}
	return float64(t.events[name]) / t.time[name].Seconds()
}

func (t *rateTable) print(f *os.File) {
	naive, raw := t.rate(caseNaive), t.rate(caseRaw)
	if naive == 0 || raw == 0 {
		return // filtered by -bench: nothing to compare with
	}
	fmt.Fprintf(f, "\nscelle event store vs plain SQLite (WAL, synchronous=FULL), same machine, same run, %d rounds:\n", len(t.rounds))
	w := tabwriter.NewWriter(f, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "benchmark\tevents/s\tx naive\tx raw batched\t")
	for _, n := range t.names {
		r := t.rate(n)
		fmt.Fprintf(w, "%s\t%.0f\t%.2f\t%.2f\t\n", n, r, r/naive, r/raw)
	}
	_ = w.Flush()
	for i, r := range t.rounds {
		if r[caseNaive] > 0 && r[caseRaw] > 0 {
			fmt.Fprintf(f, "round %d: %s %.0f events/s = %.2f x naive (%.0f), %.2f x raw batched (%.0f)\n",
				i+1, caseStore64, r[caseStore64], r[caseStore64]/r[caseNaive], r[caseNaive], r[caseStore64]/r[caseRaw], r[caseRaw])
		}
	}
	fmt.Fprintln(f)
}

// benchPayload is a typical custody event payload (about 300 bytes).
var benchPayload = []byte(`{"exhibit_id":"7f0c7a2e-3b7e-4c55-9d0f-1d2b7a9e1c44","label":"3 of 12","seal":"FR-DGDDI-2026-000123",` +
	`"gross_mg":1250400,"net_mg":1000200,"tare_mg":250200,"scale_id":"SC-13","calibration":"CAL-2026-03",` +
	`"uncertainty_mg":150,"location":"vault B, shelf 4","purpose":"storage"}`)

// benchIDs makes distinct, uniformly random event IDs, as the UUIDv5 IDs
// derived from idempotency keys are in production: every insert lands at a
// random place of the event_id index, for the store and the baselines alike.
type benchIDs struct {
	n atomic.Uint64
}

func newBenchIDs() *benchIDs { return &benchIDs{} }

func (g *benchIDs) next() uuid.UUID {
	var id uuid.UUID
	binary.BigEndian.PutUint64(id[:8], rand.Uint64())
	binary.BigEndian.PutUint64(id[8:], g.n.Add(1)) // distinct even if the random halves collide
	return id
}

var benchTime = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func benchEvent(id uuid.UUID) eventstore.EventData {
	return eventstore.EventData{
		ID:            id,
		Type:          "ExhibitStored",
		SchemaVersion: 1,
		Payload:       benchPayload,
		OccurredAt:    benchTime,
		Actor:         ledger.Actor{User: "u-0042", Agency: "FR-DGDDI-BSI-Marseille", Role: "custodian"},
		CorrelationID: id,
		CausationID:   id,
	}
}

func benchOpen(b *testing.B) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "events.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// benchWriters runs writers goroutines on a fresh store, timed, each
// calling loop with its index, the store, the shared ID source and a
// counter of events claimed, until loop returns.
func benchWriters(b *testing.B, writers int, loop func(w int, s *sqlite.Store, ids *benchIDs, claimed *atomic.Int64)) {
	s := benchOpen(b)
	ids := newBenchIDs()
	var claimed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range writers {
		wg.Go(func() { loop(w, s, ids, &claimed) })
	}
	wg.Wait()
	b.StopTimer()
}

// benchStoreSingles: b.N single-event appends from writers goroutines over
// streams streams (expected revision Any).
func benchStoreSingles(b *testing.B, writers, streams int) {
	benchWriters(b, writers, func(w int, s *sqlite.Store, ids *benchIDs, n *atomic.Int64) {
		stream := fmt.Sprintf("exhibit-%d", w%streams)
		for n.Add(1) <= int64(b.N) {
			if _, err := s.Append(context.Background(), stream, eventstore.Any, benchEvent(ids.next())); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchStoreBatched: b.N events in appends of size events from writers
// goroutines, each on its own stream.
func benchStoreBatched(b *testing.B, size, writers int) {
	benchWriters(b, writers, func(w int, s *sqlite.Store, ids *benchIDs, n *atomic.Int64) {
		stream := fmt.Sprintf("exhibit-%d", w)
		evs := make([]eventstore.EventData, size)
		for {
			end := n.Add(int64(size))
			k := size - int(max(0, end-int64(b.N)))
			if k <= 0 {
				return
			}
			for i := range k {
				evs[i] = benchEvent(ids.next())
			}
			if _, err := s.Append(context.Background(), stream, eventstore.Any, evs[:k]...); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchReadAll(b *testing.B) {
	s := benchOpen(b)
	ctx := context.Background()
	ids := newBenchIDs()
	const total = 20000
	evs := make([]eventstore.EventData, 500)
	for i := 0; i < total; i += len(evs) {
		for j := range evs {
			evs[j] = benchEvent(ids.next())
		}
		if _, err := s.Append(ctx, fmt.Sprintf("exhibit-%d", i%97), eventstore.Any, evs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var pos uint64
	for read := 0; read < b.N; {
		page, err := s.ReadAll(ctx, eventstore.ReadOptions{From: eventstore.At(pos), Count: uint64(min(1000, b.N-read))})
		if err != nil {
			b.Fatal(err)
		}
		read += len(page)
		pos = page[len(page)-1].Position + 1
		if pos == total {
			pos = 0
		}
	}
}

// plainDB opens a file of the same kind as the store's, holding only the
// events table, for the plain SQLite baselines.
func plainDB(b *testing.B) (*sql.DB, *sql.Conn) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "plain.db")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	if _, err := conn.ExecContext(ctx, sqlite.EventsTableSQL); err != nil {
		b.Fatal(err)
	}
	return db, conn
}

// plainRow returns the arguments of sqlite.InsertEventSQL for event i, with
// the same values the store would write (hashes included).
func plainRow(i int64, id uuid.UUID) []any {
	var h ledger.Hash
	binary.BigEndian.PutUint64(h[:], uint64(i))
	d := ledger.PayloadDigest(benchPayload)
	return []any{i, id[:], "exhibit-1", i, "ExhibitStored", 1, benchTime.UnixNano(), time.Now().UnixNano(),
		"u-0042", "FR-DGDDI-BSI-Marseille", "custodian", id[:], id[:], d[:], h[:], h[:], benchPayload}
}

// benchNaive: one transaction per single-event insert.
func benchNaive(b *testing.B) {
	_, conn := plainDB(b)
	ctx := context.Background()
	ins, err := conn.PrepareContext(ctx, sqlite.InsertEventSQL)
	if err != nil {
		b.Fatal(err)
	}
	defer ins.Close()
	ids := newBenchIDs()
	b.ResetTimer()
	for i := range int64(b.N) {
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			b.Fatal(err)
		}
		if _, err := ins.ExecContext(ctx, plainRow(i, ids.next())...); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchRawBatched: plain inserts, size rows per transaction.
func benchRawBatched(b *testing.B, size int) {
	_, conn := plainDB(b)
	ctx := context.Background()
	ins, err := conn.PrepareContext(ctx, sqlite.InsertEventSQL)
	if err != nil {
		b.Fatal(err)
	}
	defer ins.Close()
	ids := newBenchIDs()
	b.ResetTimer()
	for i := int64(0); i < int64(b.N); {
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			b.Fatal(err)
		}
		for j := 0; j < size && i < int64(b.N); j++ {
			if _, err := ins.ExecContext(ctx, plainRow(i, ids.next())...); err != nil {
				b.Fatal(err)
			}
			i++
		}
		if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
			b.Fatal(err)
		}
	}
}
