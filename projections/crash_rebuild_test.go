package projections

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scelle-ledger/scelle/eventstore/sqlite"
)

// TestRebuildCrashChild is the child of TestCrash_RebuildKilled: it
// rebuilds every projection of the store in SCELLE_REBUILD_CRASH_DIR in
// small pages and prints "progress N" as it goes, until it is killed.
func TestRebuildCrashChild(t *testing.T) {
	dir := os.Getenv("SCELLE_REBUILD_CRASH_DIR")
	if dir == "" {
		t.Skip("child of TestCrash_RebuildKilled")
	}
	ctx := context.Background()
	_, r := openChild(dir, Options{Decode: DomainDecoder, BatchSize: 16, RebuildBatchSize: 20})
	if _, err := r.RebuildAll(ctx, r.Projections(), func(done, total int64) { fmt.Printf("progress %d\n", done) }); err != nil {
		childFail(err)
	}
	fmt.Println("done")
	select {} // wait to be killed
}

// TestCrash_RebuildKilled kills a rebuild of every projection with SIGKILL
// in the middle of its bulk load, several times. After each kill, the next
// start (Init) finds the live read models as they were and removes the
// scratch files; a rebuild to the end then gives the same rows.
func TestCrash_RebuildKilled(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	dir := t.TempDir()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, store)
	tangier(w)
	c := &chaos{w: w, pick: func(_ string, n int) int { return rng.Intn(n) }}
	for i := 0; i < 400; i++ {
		c.step()
	}
	last := w.last
	f := &fixture{dir: dir, store: store}
	if f.db, err = OpenDB(ctx, filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(f.db, store, All(), Options{Decode: DomainDecoder})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Init(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	if err := r.WaitFor(ctx, last, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	<-done
	before := dump(t, f.db)
	f.db.Close()
	store.Close()

	killed := 0
	for round := 0; round < 3; round++ {
		want := 1 + rng.Intn(int(last)/20-2)
		seen, done := killChild(t, "TestRebuildCrashChild", []string{"SCELLE_REBUILD_CRASH_DIR=" + dir}, "progress", want)
		if done {
			t.Fatalf("round %d: the child finished its rebuild before it was killed", round)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, FileName+scratchPrefix+"*")); seen == want && len(left) > 0 {
			killed++ // in the middle of the bulk load, its scratch files left behind
		}

		store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		db, err := OpenDB(ctx, filepath.Join(dir, FileName))
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewRunner(db, store, All(), Options{Decode: DomainDecoder})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Init(ctx); err != nil {
			t.Fatal(err)
		}
		if left, _ := filepath.Glob(db.path + scratchPrefix + "*"); len(left) != 0 {
			t.Fatalf("round %d: scratch files after Init: %v", round, left)
		}
		sameDump(t, fmt.Sprintf("round %d: live read models after a killed rebuild", round), dump(t, db), before)
		db.Close()
		store.Close()
	}
	if killed == 0 {
		t.Fatal("no round killed the child in the middle of its bulk load")
	}

	store, err = sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	db, err := OpenDB(ctx, filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rebuildAllIn(t, db, store, 20)
	sameDump(t, "rebuilt to the end after the kills", dump(t, db), before)
}
