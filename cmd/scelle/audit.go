package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/mod/sumdb/note"

	"github.com/scelle-ledger/scelle/ledger"
	"github.com/scelle-ledger/scelle/ledger/checkpointdb"
)

func init() {
	register("audit", "recompute every hash, chain link and Merkle root of a store against its signed checkpoints", runAudit)
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	data := fs.String("data", "", "data directory (events.db, checkpoints.db, keys/*.vkey)")
	storePath := fs.String("store", "", "event store file (default DATA/events.db)")
	cpPath := fs.String("checkpoints", "", "checkpoint file (default DATA/checkpoints.db)")
	keyPath := fs.String("key", "", "log verifier key file (default the one DATA/keys/*.vkey); prefer a copy kept apart from the data")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "no progress bar")
	pageSize := fs.Int("page", 8192, "events read per query")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() != 0 || (*data == "" && (*storePath == "" || *cpPath == "" || *keyPath == "")) {
		fmt.Fprintln(stderr, "usage: scelle audit --data DIR [--key VKEY] | --store EVENTS.db --checkpoints CHECKPOINTS.db --key VKEY")
		return 2
	}
	if *storePath == "" {
		*storePath = filepath.Join(*data, eventsFile)
	}
	if *cpPath == "" {
		*cpPath = filepath.Join(*data, checkpointsFile)
	}
	key, err := auditKey(*data, *keyPath)
	if err != nil {
		fmt.Fprintf(stderr, "scelle audit: %v\n", err)
		return 2
	}
	rep, err := audit(ctx, *storePath, *cpPath, key, *pageSize, *quiet, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "scelle audit: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		writeAudit(stdout, rep)
	}
	if !rep.OK {
		return 1
	}
	return 0
}

func auditKey(data, path string) (note.Verifier, error) {
	if path == "" {
		m, err := filepath.Glob(filepath.Join(data, keysDir, "*.vkey"))
		if err != nil {
			return nil, err
		}
		if len(m) != 1 {
			return nil, fmt.Errorf("found %d verifier keys in %s; name one with --key", len(m), filepath.Join(data, keysDir))
		}
		path = m[0]
	}
	return ledger.LoadVerifier(path)
}

func audit(ctx context.Context, storePath, cpPath string, key note.Verifier, pageSize int, quiet bool, stderr io.Writer) (*ledger.AuditReport, error) {
	src, err := openAuditSource(ctx, storePath)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if _, err := os.Stat(cpPath); err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	cpdb, err := checkpointdb.Open(ctx, cpPath)
	if err != nil {
		return nil, err
	}
	defer cpdb.Close()
	cps, err := cpdb.All(ctx)
	if err != nil {
		return nil, err
	}
	var bar *progressbar.ProgressBar
	opts := ledger.AuditOptions{LogKey: key, PageSize: pageSize}
	if !quiet {
		opts.Progress = func(done, total uint64) {
			if bar == nil {
				bar = progressbar.NewOptions64(int64(total), progressbar.OptionSetWriter(stderr),
					progressbar.OptionSetDescription("auditing"), progressbar.OptionShowCount(),
					progressbar.OptionShowIts(), progressbar.OptionSetItsString("events"),
					progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
			}
			bar.Set64(int64(done))
		}
	}
	return ledger.Audit(ctx, src, src, cps, opts)
}

func writeAudit(w io.Writer, r *ledger.AuditReport) {
	verdict := "INTACT"
	if !r.OK {
		verdict = "TAMPERED"
	}
	fmt.Fprintf(w, "Audit: %s\n%d events, Merkle tree of %d leaves, root %s\n%d of %d checkpoints verify with the log key\n",
		verdict, r.Events, r.TreeSize, r.Root, r.CheckpointsVerified, r.Checkpoints)
	for _, f := range r.Findings {
		fmt.Fprintf(w, "  %s\n", f)
	}
	if r.Suppressed > 0 {
		fmt.Fprintf(w, "  ... and %d more findings\n", r.Suppressed)
	}
}

// auditSource reads an SQLite event store read-only, straight from its
// tables: an audit never writes to the evidence it examines, and must read
// a store that the adapter would refuse to open because it was tampered
// with. It implements ledger.AuditSource, ledger.NodeReader and
// ledger.LeafReader.
type auditSource struct {
	db *sql.DB
}

func openAuditSource(ctx context.Context, path string) (*auditSource, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("event store: %w", err)
	}
	q := url.Values{}
	q.Add("mode", "ro")
	q.Add("_pragma", "query_only(1)")
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("event store %s: %w", path, err)
	}
	db.SetMaxOpenConns(runtime.GOMAXPROCS(0) + 2)
	db.SetMaxIdleConns(runtime.GOMAXPROCS(0) + 2)
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name IN ('events', 'merkle_nodes')`).Scan(&n); err != nil || n != 2 {
		db.Close()
		if err == nil {
			err = errors.New("no events and merkle_nodes tables")
		}
		return nil, fmt.Errorf("event store %s is not a scelle store: %w", path, err)
	}
	// The reader knows schema version 1, whose merkle_nodes are id-keyed.
	if _, err := db.ExecContext(ctx, `SELECT id, hash FROM merkle_nodes LIMIT 0`); err != nil {
		db.Close()
		return nil, fmt.Errorf("event store %s: merkle_nodes has a layout this audit does not know: %w", path, err)
	}
	return &auditSource{db: db}, nil
}

func (s *auditSource) Close() error { return s.db.Close() }

const auditEventSQL = `SELECT position, event_id, stream, revision, type, schema_version, occurred_at, recorded_at,
	actor_user, actor_agency, actor_role, correlation_id, causation_id, payload_digest, prev_hash, hash, payload
	FROM events WHERE position >= ? AND position < ? ORDER BY position`

// EventsInRange reads the events of positions [from, to). Strings repeat
// (streams, types, actors) and are interned per call; payloads share one
// buffer per call: a page costs a handful of allocations, not several per
// event.
func (s *auditSource) EventsInRange(ctx context.Context, from, to uint64, dst []ledger.StoredEvent) ([]ledger.StoredEvent, error) {
	rows, err := s.db.QueryContext(ctx, auditEventSQL, clampInt(from), clampInt(to))
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	var (
		pos, rev, sv, occ, rec                 int64
		id, corr, caus, pd, prev, hsh, payload sql.RawBytes
		stream, typ, user, agency, role        sql.RawBytes
		strs                                   = map[string]string{}
		arena                                  []byte
		payloadAt                              []int
	)
	intern := func(b []byte) string {
		if v, ok := strs[string(b)]; ok {
			return v
		}
		v := string(b)
		strs[v] = v
		return v
	}
	for rows.Next() {
		if err := rows.Scan(&pos, &id, &stream, &rev, &typ, &sv, &occ, &rec,
			&user, &agency, &role, &corr, &caus, &pd, &prev, &hsh, &payload); err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		dst = append(dst, ledger.StoredEvent{})
		e := &dst[len(dst)-1]
		e.Stream, e.Type = intern(stream), intern(typ)
		e.Actor = ledger.Actor{User: intern(user), Agency: intern(agency), Role: intern(role)}
		e.Position, e.Revision, e.SchemaVersion = uint64(pos), uint64(rev), uint32(sv)
		e.OccurredAt, e.RecordedAt = time.Unix(0, occ).UTC(), time.Unix(0, rec).UTC()
		// A column of the wrong length is copied as far as it goes: the
		// hash checks then name the event.
		copy(e.EventID[:], id)
		copy(e.CorrelationID[:], corr)
		copy(e.CausationID[:], caus)
		copy(e.PayloadDigest[:], pd)
		copy(e.PrevHash[:], prev)
		copy(e.Hash[:], hsh)
		payloadAt = append(payloadAt, len(arena))
		arena = append(arena, payload...)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	// Slice the payloads once the arena has stopped growing.
	first := len(dst) - len(payloadAt)
	for i, at := range payloadAt {
		end := len(arena)
		if i+1 < len(payloadAt) {
			end = payloadAt[i+1]
		}
		dst[first+i].Payload = arena[at:end:end]
	}
	return dst, nil
}

// EndPosition returns one past the highest stored position.
func (s *auditSource) EndPosition(ctx context.Context) (uint64, error) {
	var end int64
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(max(position) + 1, 0) FROM events`).Scan(&end); err != nil {
		return 0, fmt.Errorf("read end position: %w", err)
	}
	return uint64(end), nil
}

// The merkle_nodes table is keyed by id = ((((idx + 1) << level) - 1) << 6)
// | level (eventstore/sqlite, schema version 1): the node's key is the leaf
// whose append completed it, times 64, plus its level. A leaf i is id i<<6.
func nodeID(level uint, idx uint64) int64 {
	return clampInt((((idx+1)<<level)-1)<<6 | uint64(level))
}

// TreeSize returns the number of stored leaves: one past the leaf that
// completed the highest node.
func (s *auditSource) TreeSize(ctx context.Context) (uint64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce((max(id) >> 6) + 1, 0) FROM merkle_nodes`).Scan(&n); err != nil {
		return 0, fmt.Errorf("read tree size: %w", err)
	}
	return uint64(n), nil
}

// Nodes reads stored nodes one by one (used for O(log n) roots).
func (s *auditSource) Nodes(ctx context.Context, ids []ledger.NodeID) ([]ledger.Hash, error) {
	out := make([]ledger.Hash, len(ids))
	for i, id := range ids {
		var b []byte
		if err := s.db.QueryRowContext(ctx, `SELECT hash FROM merkle_nodes WHERE id = ?`, nodeID(id.Level, id.Index)).Scan(&b); err != nil {
			return nil, fmt.Errorf("read node (%d, %d): %w", id.Level, id.Index, err)
		}
		copy(out[i][:], b)
	}
	return out, nil
}

// LeafHashes reads the stored leaves of [from, to); a missing leaf is left
// zero, which never equals a real leaf hash.
func (s *auditSource) LeafHashes(ctx context.Context, from, to uint64) ([]ledger.Hash, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, hash FROM merkle_nodes WHERE id >= ? AND id < ? AND (id & 63) = 0 ORDER BY id`,
		nodeID(0, from), nodeID(0, to))
	if err != nil {
		return nil, fmt.Errorf("read leaves: %w", err)
	}
	defer rows.Close()
	out := make([]ledger.Hash, to-from)
	var (
		id int64
		h  sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&id, &h); err != nil {
			return nil, fmt.Errorf("read leaves: %w", err)
		}
		if idx := uint64(id) >> 6; idx >= from && idx < to {
			copy(out[idx-from][:], h)
		}
	}
	return out, rows.Err()
}

func clampInt(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

var (
	_ ledger.AuditSource = (*auditSource)(nil)
	_ ledger.NodeReader  = (*auditSource)(nil)
	_ ledger.LeafReader  = (*auditSource)(nil)
)
