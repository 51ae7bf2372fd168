package projections

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scelle-ledger/scelle/eventstore/sqlite"
)

// TestCrashChild is the child of TestCrash_ExactlyOnce: it projects the
// store in SCELLE_PROJ_CRASH_DIR in small batches and prints "applied N"
// as it goes, until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("SCELLE_PROJ_CRASH_DIR")
	if dir == "" {
		t.Skip("child of TestCrash_ExactlyOnce")
	}
	ctx := context.Background()
	batch, _ := strconv.Atoi(os.Getenv("SCELLE_PROJ_CRASH_BATCH"))
	store, r := openChild(dir, Options{Decode: DomainDecoder, BatchSize: batch})
	head, err := Head(ctx, store)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	go func() {
		if err := r.Run(ctx); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
	}()
	for p := uint64(0); int64(p) <= head; p += 20 {
		if err := r.WaitFor(ctx, p, time.Minute); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Printf("applied %d\n", p)
	}
	fmt.Println("done")
	select {} // wait to be killed
}

// TestCrash_ExactlyOnce kills a child process projecting the store with
// SIGKILL, SCELLE_CRASH_ROUNDS times (default 10), appending more events
// between rounds; then the read models, brought to the end of the log by
// a restart, must equal a rebuild from zero row for row.
func TestCrash_ExactlyOnce(t *testing.T) {
	rounds := 10
	if s := os.Getenv("SCELLE_CRASH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("SCELLE_CRASH_ROUNDS=%q: want a positive integer", s)
		}
		rounds = n
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	dir := t.TempDir()
	ctx := context.Background()

	// grow appends n random commands to the store (closed again after).
	keys := 0
	var last uint64
	var c *chaos
	grow := func(n int) {
		store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		w := newWorld(t, store)
		w.keys, w.now = keys, time.Date(2026, 4, 12, 6, 0, 0, 0, time.UTC).Add(time.Duration(keys)*time.Hour)
		if c == nil {
			tangier(w)
			c = &chaos{pick: func(_ string, n int) int { return rng.Intn(n) }}
		}
		c.w = w
		for i := 0; i < n; i++ {
			c.step()
		}
		keys, last = w.keys, w.last
	}
	grow(600)

	crashes := 0
	for round := 0; round < rounds; round++ {
		want := 1 + rng.Intn(12)
		env := []string{"SCELLE_PROJ_CRASH_DIR=" + dir, fmt.Sprintf("SCELLE_PROJ_CRASH_BATCH=%d", 1+rng.Intn(8))}
		if seen, _ := killChild(t, "TestCrashChild", env, "applied", want); seen == want {
			crashes++
		}
		grow(20 + rng.Intn(60))
	}
	t.Logf("%d rounds, %d killed while projecting, %d events", rounds, crashes, last+1)
	if crashes == 0 {
		t.Fatalf("no round killed the child while it was projecting")
	}

	// Restart: catch up to the end, then compare with a rebuild from zero.
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{dir: dir, store: store}
	if f.db, err = OpenDB(ctx, filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	r, _ := startAll(t, f)
	if err := r.WaitFor(ctx, last, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	sameDump(t, "after crashes vs rebuild from zero", dump(t, f.db), rebuildFresh(t, store, dir, last))
}

// childFail reports err to the parent of a crash test's child, and exits.
func childFail(err error) {
	fmt.Println("error", err)
	os.Exit(3)
}

// openChild opens, for a crash test's child, the store and read models in
// dir and a runner of every projection, initialised.
func openChild(dir string, opts Options) (*sqlite.Store, *Runner) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{})
	if err != nil {
		childFail(err)
	}
	db, err := OpenDB(ctx, filepath.Join(dir, FileName))
	if err != nil {
		childFail(err)
	}
	r, err := NewRunner(db, store, All(), opts)
	if err == nil {
		err = r.Init(ctx)
	}
	if err != nil {
		childFail(err)
	}
	return store, r
}

// killChild runs the test named test in a child process with env added,
// counts the lines it prints that start with prefix, and kills it with
// SIGKILL once it has printed want of them or "done". It returns how many
// it saw and whether it printed "done"; a line starting with "error" fails t.
func killChild(t *testing.T, test string, env []string, prefix string, want int) (seen int, done bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	for seen < want && lines.Scan() {
		l := lines.Text()
		if strings.HasPrefix(l, "error") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child %s: %s", test, l)
		}
		if l == "done" {
			done = true
			break
		}
		if strings.HasPrefix(l, prefix) {
			seen++
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	return seen, done
}
