package projections

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
)

// recorder is a store that only records appends: synth generates its case
// histories into it, and the benchmark replays them in small groups.
type recorder struct {
	eventstore.Store
	appends []recorded
}

type recorded struct {
	stream string
	events []eventstore.EventData
}

func (r *recorder) Append(_ context.Context, stream string, _ eventstore.ExpectedRevision, evs ...eventstore.EventData) (eventstore.AppendResult, error) {
	r.appends = append(r.appends, recorded{stream: stream, events: evs})
	return eventstore.AppendResult{}, nil
}

// liveGroups returns synth's case histories from case from on, cut into
// appends of at most k events, totalling at least n events.
func liveGroups(b *testing.B, s *synth, from, n, k int) ([]recorded, int) {
	b.Helper()
	rec := &recorder{}
	gen := &synth{store: rec, t0: s.t0}
	gen.seq.Store(s.seq.Load())
	cases := (n + eventsPerSynthCase - 1) / eventsPerSynthCase
	for i := from; i < from+cases; i++ {
		if _, err := gen.caseHistory(context.Background(), i); err != nil {
			b.Fatal(err)
		}
	}
	s.seq.Store(gen.seq.Load())
	var out []recorded
	for _, a := range rec.appends {
		for evs := a.events; len(evs) > 0; {
			m := min(k, len(evs))
			out = append(out, recorded{stream: a.stream, events: evs[:m]})
			evs = evs[m:]
		}
	}
	return out, cases
}

// BenchmarkLive measures the live path of the runner (subscription,
// decode, one transaction per batch) when batches are small, as under a
// server's load: synth's case histories are appended k events at a time
// to a real SQLite store, and after each append the benchmark waits until
// the three projections have applied it (so each live batch holds one
// append). A first phase appends the same way without a runner: the
// store's own CPU per event. Reported: cpu-µs/event, the process's CPU
// (user + system) per event with the runner; store-cpu-µs/event, the same
// without a runner; runner-cpu-µs/event, the difference, the runner's
// cost; events/s, the wall rate with the runner (the fsyncs included).
//
//	go test -run '^$' -bench BenchmarkLive -benchtime 3000x ./projections
func BenchmarkLive(b *testing.B) {
	for _, k := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("group=%d", k), func(b *testing.B) { benchLive(b, k) })
	}
}

func benchLive(b *testing.B, k int) {
	ctx := context.Background()
	dir := b.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	db, err := OpenDB(ctx, filepath.Join(dir, FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := &synth{store: store, t0: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}

	appendAll := func(groups []recorded, after func(pos uint64)) {
		for _, g := range groups {
			res, err := store.Append(ctx, g.stream, eventstore.Any, g.events...)
			if err != nil {
				b.Fatal(err)
			}
			if after != nil {
				after(res.Position)
			}
		}
	}
	count := func(groups []recorded) int {
		n := 0
		for _, g := range groups {
			n += len(g.events)
		}
		return n
	}

	// Phase 1: the store alone.
	groups, cases := liveGroups(b, s, 0, b.N, k)
	n1 := count(groups)
	cpu := cpuTime()
	appendAll(groups, nil)
	storeCPU := float64((cpuTime() - cpu).Microseconds()) / float64(n1)

	// The runner catches up with phase 1, then follows phase 2 live.
	r, err := NewRunner(db, store, All(), Options{Decode: DomainDecoder})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Init(ctx); err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("run: %v", err)
		}
	}()
	head, err := Head(ctx, store)
	if err != nil {
		b.Fatal(err)
	}
	if err := r.WaitFor(ctx, uint64(head), time.Minute); err != nil {
		b.Fatal(err)
	}
	groups, _ = liveGroups(b, s, cases, b.N, k)
	n2 := count(groups)
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	appendAll(groups, func(pos uint64) {
		if err := r.WaitFor(ctx, pos, time.Minute); err != nil {
			b.Fatal(err)
		}
	})
	el, total := time.Since(start), float64((cpuTime()-cpu).Microseconds())/float64(n2)
	b.StopTimer()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(total, "cpu-µs/event")
	b.ReportMetric(storeCPU, "store-cpu-µs/event")
	b.ReportMetric(total-storeCPU, "runner-cpu-µs/event")
	b.ReportMetric(float64(n2)/el.Seconds(), "events/s")
}
