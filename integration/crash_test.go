// Package integration holds the end-to-end tests of scelle over real
// processes and real files: among them the crash test, which kills a process
// appending to the SQLite store with SIGKILL and checks after every restart
// that no acknowledged event was lost and that the hash chains and the
// Merkle log still verify.
package integration

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// ackedAppend is one append the child reported as acknowledged.
type ackedAppend struct {
	stream   string
	revision uint64 // of the last event
	position uint64 // of the last event
	ids      []uuid.UUID
	round    int
}

// TestCrash runs the crash test: SCELLE_CRASH_ROUNDS rounds (default 10, 3
// under -short) on one store file; each round starts a child process that
// appends under concurrent load, kills it with SIGKILL at a random moment,
// reopens the store and verifies it. SCELLE_CRASH_SEED replays a run's kill
// moments and choices (the scheduling of the child's goroutines is not
// replayable). More rounds:
//
//	make test CRASH_ROUNDS=100
//	SCELLE_CRASH_ROUNDS=100 go test -count=1 -run 'TestCrash$' ./integration/
func TestCrash(t *testing.T) {
	rounds := 10
	if testing.Short() {
		rounds = 3
	}
	if v := os.Getenv("SCELLE_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("SCELLE_CRASH_ROUNDS=%q: want a positive number", v)
		}
		rounds = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("SCELLE_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SCELLE_CRASH_SEED=%q: want a number", v)
		}
		seed = n
	}
	t.Logf("crash test: %d rounds, seed %d (replay with SCELLE_CRASH_SEED=%d)", rounds, seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5ce11e))
	path := filepath.Join(t.TempDir(), "crash.db")

	v := &verifier{path: path, rng: rng}
	var acked []ackedAppend
	for round := range rounds {
		got := runChild(t, path, round, rng)
		acked = append(acked, got...)
		n := v.verify(t, acked)
		ackedEvents := 0
		for _, a := range acked {
			ackedEvents += len(a.ids)
		}
		t.Logf("round %d: %d appends acknowledged, %d in all; %d events in the store, %d of them committed but never acknowledged (in flight at a kill)",
			round, len(got), len(acked), n, n-ackedEvents)
	}
	if len(acked) == 0 {
		t.Fatalf("acknowledged appends over %d rounds: got 0, want some", rounds)
	}
}

// runChild starts one child, kills it with SIGKILL at a moment drawn from
// rng, and returns every append it acknowledged before dying.
func runChild(t *testing.T, path string, round int, rng *rand.Rand) []ackedAppend {
	t.Helper()
	// Kill after a number of acknowledgements, after a delay once the load
	// runs, or after a short delay from the start (possibly while the store
	// is still opening and recovering).
	var (
		afterAcks  = 0
		afterDelay time.Duration
		fromStart  bool
		plan       string
	)
	switch rng.IntN(3) {
	case 0:
		afterAcks = 1 + rng.IntN(400)
		plan = fmt.Sprintf("after %d acknowledged appends", afterAcks)
	case 1:
		afterDelay = time.Duration(rng.IntN(400)) * time.Millisecond
		plan = fmt.Sprintf("%v after the first acknowledged append", afterDelay)
	default:
		afterDelay, fromStart = time.Duration(rng.IntN(150))*time.Millisecond, true
		plan = fmt.Sprintf("%v after the start", afterDelay)
	}
	t.Logf("round %d: kill %s", round, plan)

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(),
		envChildStore+"="+path,
		envChildSeed+"="+strconv.FormatUint(rng.Uint64(), 10),
		envChildRound+"="+strconv.Itoa(round),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe() // the child stops if we go away
	if err != nil {
		t.Fatalf("child stdin: %v", err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("child stdout: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	started := time.Now()
	lines := make(chan string, 256)
	go func() {
		defer close(lines)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				// A line cut by the kill is not an acknowledgement we can
				// read; the pipe delivers whole lines, so there is none.
				return
			}
			lines <- strings.TrimSuffix(line, "\n")
		}
	}()

	var (
		acks  []ackedAppend
		other []string
		timer <-chan time.Time
	)
	if fromStart {
		timer = time.After(afterDelay)
	}
	take := func(line string) {
		if !strings.HasPrefix(line, ackPrefix) {
			other = append(other, line)
			return
		}
		a, err := parseAck(line)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		a.round = round
		acks = append(acks, a)
	}
	// A child that neither acknowledges nor dies is stuck.
	guard := time.NewTimer(2 * time.Minute)
	defer guard.Stop()
	for killed := false; !killed; {
		select {
		case line, ok := <-lines:
			if !ok {
				err := cmd.Wait()
				t.Fatalf("round %d: child ended before it was killed (%v) after %d acks:\n%s\n%s", round, err, len(acks), strings.Join(other, "\n"), stderr.String())
			}
			take(line)
			if afterAcks > 0 && len(acks) >= afterAcks {
				killed = true
			}
			if timer == nil && afterAcks == 0 && len(acks) > 0 {
				timer = time.After(afterDelay)
			}
		case <-timer:
			killed = true
		case <-guard.C:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			t.Fatalf("round %d: child made no progress in 2 minutes (%d acks)", round, len(acks))
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("round %d: kill child: %v", round, err)
	}
	// Every line written before the kill is still in the pipe: each is an
	// acknowledged append.
	for line := range lines {
		take(line)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("round %d: wait for the killed child: got %v, want it killed by SIGKILL", round, err)
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: child ended with %v, want killed by SIGKILL:\n%s\n%s", round, err, strings.Join(other, "\n"), stderr.String())
	}
	t.Logf("round %d: killed after %v", round, time.Since(started).Round(time.Millisecond))
	return acks
}

// parseAck parses "ack <stream> <revision> <position> <id>,<id>,...".
func parseAck(line string) (ackedAppend, error) {
	f := strings.Fields(strings.TrimPrefix(line, ackPrefix))
	if len(f) != 4 {
		return ackedAppend{}, fmt.Errorf("ack line %q: got %d fields, want 4", line, len(f))
	}
	rev, err1 := strconv.ParseUint(f[1], 10, 64)
	pos, err2 := strconv.ParseUint(f[2], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return ackedAppend{}, fmt.Errorf("ack line %q: %w", line, err)
	}
	a := ackedAppend{stream: f[0], revision: rev, position: pos}
	for s := range strings.SplitSeq(f[3], ",") {
		id, err := uuid.Parse(s)
		if err != nil {
			return ackedAppend{}, fmt.Errorf("ack line %q: %w", line, err)
		}
		a.ids = append(a.ids, id)
	}
	if uint64(len(a.ids)) > rev+1 || uint64(len(a.ids)) > pos+1 {
		return ackedAppend{}, fmt.Errorf("ack line %q: %d events cannot end at revision %d, position %d", line, len(a.ids), rev, pos)
	}
	return a, nil
}
