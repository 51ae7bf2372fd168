package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
	"github.com/scelle-ledger/scelle/ledger/checkpointdb"
)

// TestAudit_Scale builds a store of SCELLE_AUDIT_EVENTS events (for example
// 1000000) and audits it, logging the throughput; with SCELLE_AUDIT_DIR the
// store is built once there and reused. Every 1000th event belongs to one
// exhibit, whose bundle (SCELLE_AUDIT_EVENTS/1000 events) is written to
// DIR/exhibit-bundle.json for timing `scelle verify`. It asserts
// correctness only, never speed.
func TestAudit_Scale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SCELLE_AUDIT_EVENTS"))
	if n == 0 {
		t.Skip("set SCELLE_AUDIT_EVENTS=1000000 (and optionally SCELLE_AUDIT_DIR) to run")
	}
	ctx := context.Background()
	dir := os.Getenv("SCELLE_AUDIT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if _, err := os.Stat(filepath.Join(dir, eventsFile)); err != nil {
		t0 := time.Now()
		buildScaleStore(t, dir, n)
		t.Logf("built %d events in %v (%.0f events/s)", n, time.Since(t0), float64(n)/time.Since(t0).Seconds())
	}
	key, err := auditKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	t0, cpu0 := time.Now(), cpuTime()
	rep, err := audit(ctx, filepath.Join(dir, eventsFile), filepath.Join(dir, checkpointsFile), key, 8192, true, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	el, cpu := time.Since(t0), cpuTime()-cpu0
	if !rep.OK || rep.Events != uint64(n) {
		t.Fatalf("audit: ok %v, %d events, findings %v", rep.OK, rep.Events, rep.Findings)
	}
	t.Logf("audited %d events and %d checkpoints in %v: %.0f events/s wall clock; %v of CPU: %.0f events per CPU-second",
		rep.Events, rep.CheckpointsVerified, el, float64(rep.Events)/el.Seconds(), cpu, float64(rep.Events)/cpu.Seconds())

	// The exhibit's bundle.
	src, err := openAuditSource(ctx, filepath.Join(dir, eventsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var evs []ledger.StoredEvent
	for p := uint64(0); p < uint64(n); p += 1000 {
		e, err := src.EventsInRange(ctx, p, p+1, nil)
		if err != nil || len(e) != 1 || e[0].Stream != "exhibit-BIG" {
			t.Fatalf("position %d: %v %+v", p, err, e)
		}
		evs = append(evs, e[0])
	}
	cpdb, err := checkpointdb.Open(ctx, filepath.Join(dir, checkpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer cpdb.Close()
	last, _, err := cpdb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ledger.BuildBundle(ctx, evs, src, last.Note, ledger.BuildOptions{Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "exhibit-bundle.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Encode(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fi, _ := os.Stat(path)
	proofHashes := 0
	for _, e := range b.Events {
		proofHashes += len(e.Inclusion)
	}
	t.Logf("bundle of %d events: %d bytes, %.1f proof hashes per event (%d bytes of proof per event)",
		len(b.Events), fi.Size(), float64(proofHashes)/float64(len(b.Events)), proofHashes*32/len(b.Events))
}

func buildScaleStore(t *testing.T, dir string, n int) {
	ctx := context.Background()
	var sink nopWriter
	if code := run(ctx, []string{"keys", "generate", "--name", testLog, "--out", filepath.Join(dir, keysDir)}, sink, sink); code != 0 {
		t.Fatal("keys generate")
	}
	sk, vk := ledger.KeyFileNames(testLog)
	signer, err := ledger.LoadSigner(filepath.Join(dir, keysDir, sk), nil)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := ledger.LoadVerifier(filepath.Join(dir, keysDir, vk))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(ctx, filepath.Join(dir, eventsFile), sqlite.Options{MaxBatchEvents: 8192})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cpdb, err := checkpointdb.Open(ctx, filepath.Join(dir, checkpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer cpdb.Close()
	cpr, err := ledger.NewCheckpointer(ctx, store, cpdb, ledger.CheckpointerConfig{Signer: signer, Verifier: verifier, Every: 100000})
	if err != nil {
		t.Fatal(err)
	}
	// Batches of 999 events over 64 streams, then one exhibit event: the
	// exhibit holds every 1000th position.
	mk := func(i int) eventstore.EventData {
		return eventstore.EventData{
			ID: uuid.NewSHA1(testNS, []byte(strconv.Itoa(i))), Type: "CustodyNoted", SchemaVersion: 1,
			Payload:    []byte(fmt.Sprintf(`{"n":%d,"seal":"S-%08d","mass_mg":1250000}`, i, i)),
			OccurredAt: time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond),
			Actor:      ledger.Actor{User: "agent-17", Agency: "MA-DOUANE", Role: "officer"},
		}
	}
	for base := 0; base < n; base += 1000 {
		if _, err := store.Append(ctx, "exhibit-BIG", eventstore.Any, mk(base)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for s := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var batch []eventstore.EventData
				for i := base + 1 + s; i < min(base+1000, n); i += 8 {
					batch = append(batch, mk(i))
				}
				if len(batch) == 0 {
					return
				}
				// One stream per goroutine per block keeps positions
				// deterministic within the block only; the exhibit event
				// opens each block, so it is at base exactly.
				if _, err := store.Append(ctx, fmt.Sprintf("noise-%d", s), eventstore.Any, batch...); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if _, _, err := cpr.Appended(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cpr.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// cpuTime is the process's user+system CPU time: on a shared machine it
// says what the audit costs when wall-clock time says how busy the box was.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
