package projections

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/domain"
	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
)

// synth appends realistic custody histories in big appends, fast: per
// case 3 case events, one seizure of 10 exhibits with 14 events each, and
// the SeizureRecorded commit record (144 events a case).
type synth struct {
	store eventstore.Store
	t0    time.Time
	seq   atomic.Int64
}

const synthAgencies = 40

func synthAgency(i int) string { return fmt.Sprintf("AG-%02d", i%synthAgencies) }

func (s *synth) data(e domain.Event, at time.Time, agency string) eventstore.EventData {
	typ, ver, payload, err := domain.Encode(e)
	if err != nil {
		panic(err)
	}
	n := s.seq.Add(1)
	return eventstore.EventData{ID: uuid.NewSHA1(testNS, strconv.AppendInt(nil, n, 10)), Type: typ, SchemaVersion: ver, Payload: payload,
		OccurredAt: at, Actor: ledger.Actor{User: "u-" + agency, Agency: agency, Role: "custodian"}}
}

// caseHistory appends case number i and returns its exhibits.
func (s *synth) caseHistory(ctx context.Context, i int) ([]uuid.UUID, error) {
	owner, partner, lab := synthAgency(i), synthAgency(i+7), fmt.Sprintf("LAB-%02d", i%5)
	at := s.t0.Add(time.Duration(i) * time.Minute)
	caseID := uuid.NewSHA1(testNS, []byte("case"+strconv.Itoa(i)))
	if _, err := s.store.Append(ctx, domain.CaseStream(caseID), eventstore.NoStream,
		s.data(domain.CaseOpened{CaseID: caseID, Reference: "C-" + strconv.Itoa(i), OwnerAgency: owner, Country: "MA",
			LegalFramework: domain.FrameworkCustoms, SupervisingAgency: "PARQUET"}, at, owner),
		s.data(domain.CaseShared{CaseID: caseID, Agency: partner, Country: "FR", LegalBasis: "MLA", GrantedBy: "PARQUET"}, at, "PARQUET"),
		s.data(domain.CaseShared{CaseID: caseID, Agency: lab, Country: "MA", LegalBasis: "analysis", GrantedBy: "PARQUET"}, at, "PARQUET"),
	); err != nil {
		return nil, err
	}
	seizureID := uuid.NewSHA1(testNS, []byte("seizure"+strconv.Itoa(i)))
	ids := make([]uuid.UUID, 10)
	subs := []string{"cannabis resin", "cocaine", "heroin", "MDMA"}
	for k := range ids {
		id := uuid.NewSHA1(testNS, []byte(fmt.Sprintf("exhibit%d/%d", i, k)))
		ids[k] = id
		ref := domain.ExhibitRef{ExhibitID: id, CaseID: caseID}
		seal := fmt.Sprintf("S-%d-%d", i, k)
		keeper := domain.Party{Agency: owner, Person: "keeper", Location: fmt.Sprintf("VAULT-%d", k%3)}
		officer := domain.Party{Agency: owner, Person: "officer"}
		tid := uuid.NewSHA1(testNS, []byte("t"+seal))
		evs := []eventstore.EventData{
			s.data(domain.ExhibitRegistered{ExhibitRef: ref, SeizureID: seizureID, RegisteredAt: at, Label: fmt.Sprintf("%d of 10", k+1),
				Category: "drugs", PresumedSubstance: subs[(i+k)%len(subs)], UnitCount: 1, Custodian: officer}, at, owner),
			s.data(domain.ExhibitSealed{ExhibitRef: ref, SealNumber: seal}, at, owner),
			s.data(domain.ExhibitWeighed{ExhibitRef: ref, GrossMg: 31_000_000, NetMg: 30_600_000, TareMg: 400_000, UncertaintyMg: 5000,
				ScaleID: "SC", CalibrationRef: "CAL", Purpose: "initial"}, at, owner),
			s.data(domain.TransferOffered{ExhibitRef: ref, TransferID: tid, From: officer, To: keeper, Purpose: "storage", SealNumber: seal}, at, owner),
			s.data(domain.TransferAccepted{ExhibitRef: ref, TransferID: tid, From: officer, To: keeper,
				Seal: domain.SealSeen{Number: seal, Condition: domain.SealIntact}}, at, owner),
			s.data(domain.ExhibitStored{ExhibitRef: ref, Agency: owner, Location: keeper.Location}, at, owner),
		}
		for c := 0; c < 3; c++ {
			cid := uuid.NewSHA1(testNS, []byte(fmt.Sprintf("co%s/%d", seal, c)))
			out := at.Add(time.Duration(c+1) * 24 * time.Hour)
			evs = append(evs,
				s.data(domain.CheckedOut{ExhibitRef: ref, CheckoutID: cid, Custodian: keeper, To: domain.Party{Agency: "COURT"},
					Purpose: "hearing", DueAt: out.Add(48 * time.Hour)}, out, owner))
			if c < 2 || k%4 != 0 { // a quarter of the exhibits stay out
				evs = append(evs, s.data(domain.CheckedIn{ExhibitRef: ref, CheckoutID: cid,
					Seal: domain.SealSeen{Number: seal, Condition: domain.SealIntact}}, out.Add(5*time.Hour), owner))
			}
		}
		evs = append(evs,
			s.data(domain.SealInspected{ExhibitRef: ref, Seal: domain.SealSeen{Number: seal, Condition: domain.SealIntact}}, at, owner),
			s.data(domain.AnnotationAdded{ExhibitRef: ref, AnnotationID: uuid.NewSHA1(testNS, []byte("a"+seal)), Kind: "note", Text: "ok"}, at, owner))
		for len(evs) < 14 {
			evs = append(evs, s.data(domain.AnnotationAdded{ExhibitRef: ref, AnnotationID: uuid.NewSHA1(testNS, []byte(fmt.Sprintf("a%s/%d", seal, len(evs)))),
				Kind: "note", Text: "checked"}, at, owner))
		}
		if _, err := s.store.Append(ctx, domain.ExhibitStream(id), eventstore.NoStream, evs...); err != nil {
			return nil, err
		}
	}
	_, err := s.store.Append(ctx, domain.SeizureStream(seizureID), eventstore.NoStream,
		s.data(domain.SeizureRecorded{SeizureID: seizureID, CaseID: caseID, RecordNumber: "PV-" + strconv.Itoa(i), LegalFramework: domain.FrameworkCustoms,
			SeizedAt: at, ClosedAt: at, Place: domain.Place{Name: "Port", Country: "MA", Code: fmt.Sprintf("MAP%02d", i%12)}, Cause: "scan",
			DetectionMethod: "x-ray", Officers: []string{"o"}, Custodian: domain.Party{Agency: owner}, ExhibitIDs: ids}, at, owner))
	return ids, err
}

const eventsPerSynthCase = 3 + 10*14 + 1

// fill appends cases [from, to) with workers concurrent writers.
func (s *synth) fill(ctx context.Context, from, to, workers int) ([]uuid.UUID, error) {
	var mu sync.Mutex
	var all []uuid.UUID
	var next atomic.Int64
	next.Store(int64(from))
	errc := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= to {
					errc <- nil
					return
				}
				ids, err := s.caseHistory(ctx, i)
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				all = append(all, ids...)
				mu.Unlock()
			}
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-errc; err != nil {
			return nil, err
		}
	}
	return all, nil
}

func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)*99/100]
}

// TestMeasure measures, on SCELLE_BENCH_EVENTS events (skipped when
// unset; 1000000 for the figures): rebuild throughput of each
// projection and of a catch-up of all three from zero, query latency of
// custody-by-exhibit and holdings-by-agency, and projection lag under
// sustained appends. It asserts nothing about speed; it prints figures.
//
//	SCELLE_BENCH_EVENTS=1000000 go test -run TestMeasure -v -timeout 60m ./projections
//
// SCELLE_BENCH_DIR keeps the store and read models there between runs;
// SCELLE_BENCH_REBUILDS (custody, stats, feed, all; comma-separated)
// chooses the rebuilds; SCELLE_BENCH_REBUILD_ONLY skips the queries and
// the lag; SCELLE_BENCH_SKIP_REBUILD skips the rebuilds.
func TestMeasure(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SCELLE_BENCH_EVENTS"))
	if n <= 0 {
		t.Skip("set SCELLE_BENCH_EVENTS (for example 1000000) to measure")
	}
	ctx := context.Background()
	dir := os.Getenv("SCELLE_BENCH_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		t.Logf("load average at start: %s", b[:len(b)-1])
	}
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s := &synth{store: store, t0: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cases := (n + eventsPerSynthCase - 1) / eventsPerSynthCase
	head, err := Head(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	have := int(head+1) / eventsPerSynthCase
	s.seq.Store(head + 1) // event IDs come from this counter: never reuse one
	start := time.Now()
	if _, err := s.fill(ctx, have, cases, 16); err != nil {
		t.Fatal(err)
	}
	head, _ = Head(ctx, store)
	t.Logf("store: %d events (%d cases, %d exhibits); generated %d in %s", head+1, cases, cases*10, (cases-have)*eventsPerSynthCase, time.Since(start).Round(time.Millisecond))

	// Catch-up of all projections from zero in a fresh file (the runner).
	// The read models live in dir/readmodels.db: a second run resumes them
	// (the catch-up figure is then about the events appended since).
	db, err := OpenDB(ctx, filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{dir: dir, store: store, db: db}
	start, cpu := time.Now(), cpuTime()
	r, m := startAll(t, f)
	if err := r.WaitFor(ctx, uint64(head), time.Hour); err != nil {
		t.Fatal(err)
	}
	el, ecpu := time.Since(start), cpuTime()-cpu
	t.Logf("catch-up of all 3 projections from zero (runner, SubscribeAll): %d events in %s = %.0f events/s; CPU %s = %.1f µs/event",
		head+1, el.Round(time.Millisecond), float64(head+1)/el.Seconds(), ecpu.Round(time.Millisecond), float64(ecpu.Microseconds())/float64(head+1))

	// Rebuild of each projection beside the live one.
	only := os.Getenv("SCELLE_BENCH_REBUILDS") // e.g. "custody,all"; empty: every projection, then all together
	wanted := func(name string) bool { return only == "" || slices.Contains(strings.Split(only, ","), name) }
	for _, p := range All() {
		if os.Getenv("SCELLE_BENCH_SKIP_REBUILD") != "" {
			break
		}
		if !wanted(p.Name()) {
			continue
		}
		cpu := cpuTime()
		res, err := r.Rebuild(ctx, p.Name(), nil)
		if err != nil {
			t.Fatal(err)
		}
		ecpu := cpuTime() - cpu
		t.Logf("rebuild %s: %d events in %s = %.0f events/s; CPU %s = %.1f µs/event (store read + decode + apply)", p.Name(), res.Events,
			res.Elapsed.Round(time.Millisecond), float64(res.Events)/res.Elapsed.Seconds(), ecpu.Round(time.Millisecond), float64(ecpu.Microseconds())/float64(res.Events))
	}
	if os.Getenv("SCELLE_BENCH_SKIP_REBUILD") == "" && wanted("all") {
		cpu := cpuTime()
		res, err := r.RebuildAll(ctx, r.Projections(), nil)
		if err != nil {
			t.Fatal(err)
		}
		ecpu := cpuTime() - cpu
		t.Logf("rebuild all %d together (one pass): %d events in %s = %.0f events/s; CPU %s = %.1f µs/event", len(res), res[0].Events,
			res[0].Elapsed.Round(time.Millisecond), float64(res[0].Events)/res[0].Elapsed.Seconds(), ecpu.Round(time.Millisecond), float64(ecpu.Microseconds())/float64(res[0].Events))
	}

	if os.Getenv("SCELLE_BENCH_REBUILD_ONLY") != "" {
		return
	}

	// Query latency.
	rng := rand.New(rand.NewSource(1))
	now := s.t0.Add(90 * 24 * time.Hour)
	var lat []time.Duration
	for q := 0; q < 20000; q++ {
		i := rng.Intn(cases)
		id := uuid.NewSHA1(testNS, []byte(fmt.Sprintf("exhibit%d/%d", i, rng.Intn(10))))
		agency := synthAgency(i + 7*rng.Intn(2)) // the owner or the partner
		t0 := time.Now()
		if _, err := m.Custody(ctx, agency, id, now, nil); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	p50, p99 := percentiles(lat)
	t.Logf("custody by exhibit: %d queries, p50 %s, p99 %s", len(lat), p50, p99)
	lat = lat[:0]
	var items int
	for q := 0; q < 5000; q++ {
		agency := synthAgency(rng.Intn(synthAgencies))
		t0 := time.Now()
		page, err := m.Holdings(ctx, agency, HoldingsFilter{Now: now}, Page{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		items += len(page.Items)
	}
	p50, p99 = percentiles(lat)
	t.Logf("holdings by agency (first page of 50, %d exhibits per agency): %d queries, p50 %s, p99 %s", cases*10/synthAgencies, len(lat), p50, p99)
	lat = lat[:0]
	for q := 0; q < 2000; q++ {
		agency := synthAgency(rng.Intn(synthAgencies))
		t0 := time.Now()
		if _, err := m.Holdings(ctx, agency, HoldingsFilter{Location: "VAULT-1", Now: now}, Page{Limit: 50}); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	p50, p99 = percentiles(lat)
	t.Logf("holdings by agency and location (first page of 50): %d queries, p50 %s, p99 %s", len(lat), p50, p99)

	// Lag under sustained appends: 8 writers append whole cases for 10 s;
	// every 10 ms the lag (head - applied) is sampled, and a read-your-
	// writes wait (append -> WaitFor) is timed after every case.
	stop := time.Now().Add(10 * time.Second)
	var rywMu sync.Mutex
	var ryw []time.Duration
	var wg sync.WaitGroup
	var nextCase atomic.Int64
	nextCase.Store(int64(max(cases, int(head+1)/eventsPerSynthCase+100))) // past any case of an earlier run
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				i := int(nextCase.Add(1) - 1)
				if _, err := s.caseHistory(ctx, i); err != nil {
					t.Error(err)
					return
				}
				h, err := Head(ctx, store)
				if err != nil {
					t.Error(err)
					return
				}
				t0 := time.Now()
				if err := r.WaitFor(ctx, uint64(h), time.Minute); err != nil {
					t.Error(err)
					return
				}
				rywMu.Lock()
				ryw = append(ryw, time.Since(t0))
				rywMu.Unlock()
			}
		}()
	}
	var lags []int64
	tick := time.NewTicker(10 * time.Millisecond)
	before, _ := Head(ctx, store)
	for time.Now().Before(stop) {
		<-tick.C
		hs, err := r.Health(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var worst int64
		for _, h := range hs {
			worst = max(worst, h.Lag)
		}
		lags = append(lags, worst)
	}
	tick.Stop()
	wg.Wait()
	after, _ := Head(ctx, store)
	slices.Sort(lags)
	p50, p99 = percentiles(ryw)
	t.Logf("sustained appends: %d events in 10 s (%.0f events/s, 8 writers); lag (events) p50 %d, p99 %d, max %d over %d samples; append-to-visible wait p50 %s, p99 %s",
		after-before, float64(after-before)/10, lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1], len(lags), p50, p99)
}
