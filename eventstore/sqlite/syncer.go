package sqlite

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// The writer commits with synchronous=NORMAL, under which SQLite writes a
// transaction's WAL frames but does not fsync them; the syncer goroutine
// fsyncs the WAL file and only then publishes the new size and answers the
// group's callers. The writer meanwhile stages and writes the next group,
// so the disk's flush and the writer's work overlap instead of adding up.
//
// What a caller, a reader or a subscriber can observe is never ahead of
// what is on disk:
//   - every reply of a group (acceptances, refusals and idempotent retries
//     alike, since each was decided on the group's state) waits for an
//     fsync issued after the group's COMMIT;
//   - reads and subscriptions stop below the published size, which the
//     syncer advances only after that fsync; the Merkle size seen by
//     TreeSize, checkpoints and proofs is the same published size.
//
// WAL frames carry cumulative checksums and recovery keeps the longest
// valid prefix of commits, so a crash before the fsync loses at most the
// unanswered groups, whole, never an acknowledged one.

// syncJob is one committed group waiting for its fsync.
type syncJob struct {
	size  uint64 // tree size after the group
	wrote bool   // the group inserted rows (else its COMMIT wrote nothing)
	reqs  []*request
	outs  []outcome
}

// syncer owns a descriptor of the WAL file, used only to fsync it.
type syncer struct {
	s    *Store
	path string // the WAL file: the store's path + "-wal"
	jobs chan syncJob
	done chan struct{}

	// f is used by the run goroutine only, and closed after it returns.
	f *os.File
	// err is the first failed fsync: the store refuses appends after it.
	// Append reads it on every call, so it is never behind a lock that an
	// fsync in progress holds.
	err atomic.Pointer[error]

	mu   sync.Mutex // guards sync, which tests replace
	sync func(*os.File) error
}

// syncQueue bounds the groups that may wait for their fsync before the
// writer blocks.
const syncQueue = 256

func newSyncer(s *Store) (*syncer, error) {
	y := &syncer{s: s, path: s.path + "-wal", jobs: make(chan syncJob, syncQueue), done: make(chan struct{}), sync: fdatasync}
	f, err := os.OpenFile(y.path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: open the WAL to fsync it: %w", s.path, err)
	}
	y.f = f
	return y, nil
}

// run fsyncs and answers the jobs until jobs is closed and drained.
func (y *syncer) run() {
	defer close(y.done)
	var pending []syncJob
	for job := range y.jobs {
		pending = append(pending[:0], job)
	drain:
		for {
			select {
			case j, ok := <-y.jobs:
				if !ok {
					break drain
				}
				pending = append(pending, j)
			default:
				break drain
			}
		}
		y.flush(pending)
		clear(pending)
		// Let the callers just answered run before the next fsync: they
		// were queued on this goroutine's processor, which the runtime does
		// not hand over at once when the fsync blocks, and most of them are
		// about to append again.
		runtime.Gosched()
	}
}

// flush makes the jobs' groups durable, then publishes and answers them.
func (y *syncer) flush(jobs []syncJob) {
	wrote := false
	for _, j := range jobs {
		wrote = wrote || j.wrote
	}
	err := y.failed()
	if wrote && err == nil {
		err = y.fsync()
	}
	if err != nil {
		// The groups are committed in the file but may not be on disk:
		// answer that, and refuse appends from now on (a failed fsync can
		// drop pages silently; reopening the store recovers from the disk).
		for _, j := range jobs {
			for _, r := range j.reqs {
				r.reply(outcome{err: err})
			}
		}
		return
	}
	y.s.committed(jobs[len(jobs)-1].size)
	for _, j := range jobs {
		for i, r := range j.reqs {
			r.reply(j.outs[i])
		}
	}
}

// ErrSyncFailed: an fsync of the store's WAL failed. The store refuses
// appends after it; close it and open it again.
var ErrSyncFailed = errors.New("sqlite: fsync of the WAL failed")

// fsync syncs the WAL file. The descriptor is checked against the path
// first: should the WAL have been recreated (it is not while the writer's
// connection is open), the new file is opened and synced.
func (y *syncer) fsync() error {
	if err := y.failed(); err != nil {
		return err
	}
	y.mu.Lock()
	sync := y.sync
	y.mu.Unlock()
	err := y.reopenIfReplaced()
	if err == nil {
		err = sync(y.f)
	}
	if err != nil {
		err = fmt.Errorf("%w: %s: %w", ErrSyncFailed, y.path, err)
		y.err.CompareAndSwap(nil, &err)
		slog.Error("sqlite: fsync failed; the store refuses appends until it is reopened", slog.String("path", y.path), slog.Any("err", err))
		return y.failed()
	}
	return nil
}

func (y *syncer) reopenIfReplaced() error {
	held, err := y.f.Stat()
	if err != nil {
		return err
	}
	now, err := os.Stat(y.path)
	if err != nil {
		return err
	}
	if os.SameFile(held, now) {
		return nil
	}
	f, err := os.OpenFile(y.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	_ = y.f.Close()
	y.f = f
	return nil
}

// failed returns the error that stopped appends, if any.
func (y *syncer) failed() error {
	if p := y.err.Load(); p != nil {
		return *p
	}
	return nil
}

// close releases the WAL descriptor, once run has returned.
func (y *syncer) close() error {
	if y.f == nil {
		return nil
	}
	err := y.f.Close()
	y.f = nil
	return err
}
