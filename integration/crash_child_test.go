package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
)

// The parent tells its child what to do through these variables.
const (
	envChildStore = "SCELLE_CRASH_CHILD_STORE" // store path; unset: not a child
	envChildSeed  = "SCELLE_CRASH_CHILD_SEED"
	envChildRound = "SCELLE_CRASH_CHILD_ROUND"
)

const (
	childWriters  = 6
	sharedStreams = 4
	// ackPrefix opens every acknowledgement line the child prints:
	// "ack <stream> <last revision> <last position> <id>,<id>,...".
	ackPrefix = "ack "
)

// TestCrashChild is the process TestCrash kills: it appends under
// concurrent load until it is killed, and prints one line per acknowledged
// append. It does nothing unless TestCrash started it.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(envChildStore)
	if path == "" {
		t.Skip("runs only as TestCrash's child process")
	}
	seed, err := strconv.ParseUint(os.Getenv(envChildSeed), 10, 64)
	if err != nil {
		t.Fatalf("%s: got %v, want a number", envChildSeed, err)
	}
	round, err := strconv.Atoi(os.Getenv(envChildRound))
	if err != nil {
		t.Fatalf("%s: got %v, want a number", envChildRound, err)
	}
	// The parent holds our stdin open; when it goes away, stop.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()

	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("open %s: got %v, want no error", path, err)
	}
	defer st.Close()

	c := &child{st: st, round: round, heads: map[string]head{}}
	// Resume: learn the shared streams' heads from the store.
	for i := range sharedStreams {
		stream := sharedStream(i)
		evs, err := st.ReadStream(ctx, stream, eventstore.ReadOptions{Direction: eventstore.Backwards, From: eventstore.End, Count: 1})
		switch {
		case errors.Is(err, eventstore.ErrStreamNotFound):
		case err != nil:
			t.Fatalf("read the head of %s: got %v, want no error", stream, err)
		default:
			c.heads[stream] = head{rev: evs[0].Revision, exists: true}
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, childWriters)
	for g := range childWriters {
		wg.Go(func() {
			if err := c.write(ctx, g, rand.New(rand.NewPCG(seed, uint64(g)))); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("writer %d: %w", g, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func sharedStream(i int) string { return fmt.Sprintf("crash-shared-%d", i) }

type head struct {
	rev    uint64
	exists bool
}

type child struct {
	st    eventstore.Store
	round int

	mu    sync.Mutex
	heads map[string]head

	outMu sync.Mutex
}

func (c *child) head(stream string) head {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.heads[stream]
}

// learn records a head seen in a result or a conflict; heads only move on.
func (c *child) learn(stream string, h head) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.heads[stream]; !cur.exists || h.rev > cur.rev {
		c.heads[stream] = h
	}
}

// ack prints one acknowledged append in a single write, which a pipe
// delivers whole (it is far below PIPE_BUF).
func (c *child) ack(stream string, res eventstore.AppendResult, evs []eventstore.EventData) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s %d %d ", ackPrefix, stream, res.Revision, res.Position)
	for i, e := range evs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e.ID.String())
	}
	b.WriteByte('\n')
	c.outMu.Lock()
	defer c.outMu.Unlock()
	_, err := os.Stdout.WriteString(b.String())
	return err
}

// write appends until ctx ends: to its own stream of the round with Exact
// revisions, and to the shared streams with Exact (racing the other writers)
// or Any; one to five events at a time, now and then twenty; and now and
// then it retries its last append, which must give the original result.
func (c *child) write(ctx context.Context, g int, rng *rand.Rand) error {
	own := fmt.Sprintf("crash-r%d-g%d", c.round, g)
	var (
		ownHead  head
		lastEvs  []eventstore.EventData
		lastRes  eventstore.AppendResult
		lastName string
	)
	for i := 0; ctx.Err() == nil; i++ {
		if lastEvs != nil && rng.IntN(10) == 0 {
			res, err := c.st.Append(ctx, lastName, eventstore.Any, lastEvs...)
			if err != nil {
				return fmt.Errorf("retry of the append to %s: %w", lastName, err)
			}
			if res != lastRes {
				return fmt.Errorf("retry of the append to %s: got %+v, want the original %+v", lastName, res, lastRes)
			}
			continue
		}
		n := 1
		switch r := rng.IntN(20); {
		case r == 0:
			n = 20
		case r < 8:
			n = 2 + rng.IntN(4)
		}
		evs := make([]eventstore.EventData, n)
		for j := range evs {
			evs[j] = eventstore.EventData{
				ID:            uuid.New(),
				Type:          "CustodyChecked",
				SchemaVersion: 1,
				Payload:       fmt.Appendf(nil, `{"round":%d,"writer":%d,"append":%d,"event":%d}`, c.round, g, i, j),
				OccurredAt:    time.Now(),
				Actor:         ledger.Actor{User: fmt.Sprintf("writer-%d", g), Agency: "crash-test", Role: "custodian"},
				CorrelationID: uuid.New(),
			}
		}
		stream := own
		var exp eventstore.ExpectedRevision
		if rng.IntN(3) == 0 {
			exp = eventstore.NoStream
			if ownHead.exists {
				exp = eventstore.Exact(ownHead.rev)
			}
		} else {
			stream = sharedStream(rng.IntN(sharedStreams))
			exp = eventstore.Any
			if h := c.head(stream); rng.IntN(2) == 0 && h.exists {
				exp = eventstore.Exact(h.rev)
			}
		}
		res, err := c.st.Append(ctx, stream, exp, evs...)
		var wre *eventstore.WrongRevisionError
		switch {
		case err == nil:
		case stream != own && errors.As(err, &wre):
			c.learn(stream, head{rev: wre.Actual, exists: wre.Exists})
			continue
		default:
			return fmt.Errorf("append %d events to %s expecting %v: %w", n, stream, exp, err)
		}
		if stream == own {
			ownHead = head{rev: res.Revision, exists: true}
		} else {
			c.learn(stream, head{rev: res.Revision, exists: true})
		}
		if err := c.ack(stream, res, evs); err != nil {
			return fmt.Errorf("print ack: %w", err)
		}
		lastEvs, lastRes, lastName = evs, res, stream
	}
	return nil
}
