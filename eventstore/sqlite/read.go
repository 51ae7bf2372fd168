package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

const eventColumns = `position, event_id, stream, revision, type, schema_version, occurred_at, recorded_at, ` +
	`actor_user, actor_agency, actor_role, correlation_id, causation_id, payload_digest, prev_hash, hash, payload`

func toHash(b []byte) (ledger.Hash, error) {
	var h ledger.Hash
	if len(b) != len(h) {
		return h, fmt.Errorf("hash has %d bytes, want %d", len(b), len(h))
	}
	copy(h[:], b)
	return h, nil
}

func limit(count uint64) int64 {
	if count == 0 || count > math.MaxInt64 {
		return -1
	}
	return int64(count)
}

// bounds turns opts.From and opts.Direction into the first value to read
// and whether the read is empty (forwards from End).
func bounds(opts eventstore.ReadOptions) (from int64, empty bool) {
	v, at := opts.From.Value()
	switch {
	case at && v > math.MaxInt64:
		return math.MaxInt64, opts.Direction == eventstore.Forwards
	case at:
		return int64(v), false
	case opts.From.IsEnd():
		return math.MaxInt64, opts.Direction == eventstore.Forwards
	default: // Start
		return 0, false
	}
}

// visible is the end (exclusive) of the positions a read may return: the
// durable size. Events the writer has committed but the syncer has not yet
// fsynced stay hidden (see syncer.go).
func (s *Store) visible() int64 {
	// Sizes are counts of rows: they fit in an int64.
	return int64(s.size.Load())
}

func (s *Store) readErr(op string, err error) error {
	if s.isClosed() {
		return eventstore.ErrClosed
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// ReadStream reads one stream from opts.From (a revision, inclusive),
// forwards or backwards, at most opts.Count events (0: all).
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadOptions) ([]eventstore.RecordedEvent, error) {
	if err := eventstore.ValidateStreamName(stream); err != nil {
		return nil, err
	}
	if err := checkDirection(opts.Direction); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	op := "read stream " + stream
	from, empty := bounds(opts)
	visible := s.visible()
	var evs []eventstore.RecordedEvent
	if !empty {
		q := `SELECT ` + eventColumns + ` FROM events WHERE stream = ? AND revision >= ? AND position < ? ORDER BY revision LIMIT ?`
		if opts.Direction == eventstore.Backwards {
			q = `SELECT ` + eventColumns + ` FROM events WHERE stream = ? AND revision <= ? AND position < ? ORDER BY revision DESC LIMIT ?`
		}
		var err error
		evs, err = s.query(ctx, q, stream, from, visible, limit(opts.Count))
		if err != nil {
			return nil, s.readErr(op, err)
		}
	}
	if len(evs) == 0 {
		var one int
		err := s.rdb.QueryRowContext(ctx, `SELECT 1 FROM events WHERE stream = ? AND position < ? LIMIT 1`, stream, visible).Scan(&one)
		if err == sql.ErrNoRows {
			return nil, fmt.Errorf("sqlite: %s: %w", op, eventstore.ErrStreamNotFound)
		}
		if err != nil {
			return nil, s.readErr(op, err)
		}
	}
	return evs, nil
}

func checkDirection(d eventstore.Direction) error {
	if d != eventstore.Forwards && d != eventstore.Backwards {
		return &eventstore.InvalidError{Field: "direction", Reason: fmt.Sprintf("unknown value %d", d)}
	}
	return nil
}

// ReadAll reads the global order from opts.From (a position, inclusive),
// forwards or backwards, keeping the events that match opts.Filter, at most
// opts.Count of them (0: all).
func (s *Store) ReadAll(ctx context.Context, opts eventstore.ReadOptions) ([]eventstore.RecordedEvent, error) {
	if err := checkDirection(opts.Direction); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	from, empty := bounds(opts)
	if empty {
		return nil, nil
	}
	where, args := filterSQL(opts.Filter)
	q := `SELECT ` + eventColumns + ` FROM events WHERE position >= ? AND position < ?` + where + ` ORDER BY position LIMIT ?`
	if opts.Direction == eventstore.Backwards {
		q = `SELECT ` + eventColumns + ` FROM events WHERE position <= ? AND position < ?` + where + ` ORDER BY position DESC LIMIT ?`
	}
	args = append([]any{from, s.visible()}, append(args, limit(opts.Count))...)
	evs, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, s.readErr("read all", err)
	}
	return evs, nil
}

// ErrPositionNotFound: a position ReadPositions was asked for is not in
// the store (beyond its durable size).
var ErrPositionNotFound = errors.New("sqlite: position not found")

// ReadPositions returns the events at the given global positions, in the
// order asked (a position asked twice is returned twice), in one query. A
// position the store does not have (at or beyond its durable size) is an
// error naming it that matches ErrPositionNotFound. The read models use it
// to complete feed items, which keep only their events' positions.
//
// ReadPositions is not part of the eventstore.Store port: callers find it
// by a type assertion and fall back to ReadAll.
func (s *Store) ReadPositions(ctx context.Context, positions []uint64) ([]eventstore.RecordedEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	if len(positions) == 0 {
		return nil, nil
	}
	visible := s.visible()
	list := make([]byte, 0, 2+8*len(positions))
	list = append(list, '[')
	for i, p := range positions {
		if p >= uint64(visible) {
			return nil, fmt.Errorf("sqlite: read positions: position %d: %w (durable size %d)", p, ErrPositionNotFound, visible)
		}
		if i > 0 {
			list = append(list, ',')
		}
		list = strconv.AppendUint(list, p, 10)
	}
	list = append(list, ']')
	// One statement whatever the count: the list is one JSON argument.
	q := `SELECT ` + eventColumns + ` FROM events WHERE position IN (SELECT value FROM json_each(?)) AND position < ?`
	evs, err := s.query(ctx, q, string(list), visible)
	if err != nil {
		return nil, s.readErr("read positions", err)
	}
	at := make(map[uint64]int, len(evs))
	for i := range evs {
		at[evs[i].Position] = i
	}
	out := make([]eventstore.RecordedEvent, len(positions))
	for i, p := range positions {
		j, ok := at[p]
		if !ok {
			return nil, fmt.Errorf("sqlite: read positions: position %d: %w", p, ErrPositionNotFound)
		}
		out[i] = evs[j]
	}
	return out, nil
}

// filterSQL returns an SQL condition (starting with " AND", or empty) and
// its arguments for f. A stream prefix p is the range [p, successor(p)) in
// SQLite's binary collation.
func filterSQL(f eventstore.Filter) (string, []any) {
	var b strings.Builder
	var args []any
	if len(f.StreamPrefixes) > 0 {
		b.WriteString(" AND (")
		for i, p := range f.StreamPrefixes {
			if i > 0 {
				b.WriteString(" OR ")
			}
			if succ, ok := successor(p); ok {
				b.WriteString("(stream >= ? AND stream < ?)")
				args = append(args, p, succ)
			} else {
				b.WriteString("stream >= ?")
				args = append(args, p)
			}
		}
		b.WriteString(")")
	}
	if len(f.EventTypes) > 0 {
		b.WriteString(" AND type IN (")
		for i, t := range f.EventTypes {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("?")
			args = append(args, t)
		}
		b.WriteString(")")
	}
	return b.String(), args
}

// successor returns the smallest string greater than every string that has
// prefix p, and false if there is none (p empty or all 0xff bytes).
func successor(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// query runs q on a read connection and returns its rows of eventColumns.
// It calls the driver directly (sql.Conn.Raw): reading the global order is
// the hot path of projections and audits, and database/sql's conversions of
// seventeen columns per row cost as much as SQLite's own work.
func (s *Store) query(ctx context.Context, q string, args ...any) ([]eventstore.RecordedEvent, error) {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case int:
			a = int64(v)
		case uint64:
			if v > math.MaxInt64 {
				return nil, fmt.Errorf("query argument %d: %d is out of range", i+1, v)
			}
			a = int64(v)
		}
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	conn, err := s.rdb.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var evs []eventstore.RecordedEvent
	err = conn.Raw(func(dc any) error {
		st, kept, err := s.reads.get(ctx, dc, q)
		if err != nil {
			return err
		}
		if !kept {
			defer st.close()
		}
		rows, err := st.query.QueryContext(ctx, nv)
		if err != nil {
			return err
		}
		defer rows.Close()
		dest := make([]driver.Value, 17)
		for {
			err := rows.Next(dest)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			evs = append(evs, eventstore.RecordedEvent{})
			if err := eventFromValues(dest, &evs[len(evs)-1]); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return evs, nil
}

// Nodes returns the hashes of the given Merkle nodes, in order. Every node
// asked for must be a perfect subtree within the committed tree.
func (s *Store) Nodes(ctx context.Context, ids []ledger.NodeID) ([]ledger.Hash, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	conn, err := s.rdb.Conn(ctx)
	if err != nil {
		return nil, s.readErr("read merkle nodes", err)
	}
	defer conn.Close()
	hs, err := readNodes(ctx, conn, ids)
	if err != nil {
		return nil, s.readErr("read merkle nodes", err)
	}
	return hs, nil
}

func readNodes(ctx context.Context, conn *sql.Conn, ids []ledger.NodeID) ([]ledger.Hash, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	st, err := conn.PrepareContext(ctx, `SELECT hash FROM merkle_nodes WHERE id = ?`)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	out := make([]ledger.Hash, len(ids))
	for i, id := range ids {
		var b []byte
		key, err := nodeKey(id.Level, id.Index)
		if err != nil {
			return nil, err
		}
		if err := st.QueryRowContext(ctx, key).Scan(&b); err != nil {
			if err == sql.ErrNoRows {
				return nil, fmt.Errorf("node (%d, %d) is not in the committed tree", id.Level, id.Index)
			}
			return nil, fmt.Errorf("node (%d, %d): %w", id.Level, id.Index, err)
		}
		h, err := toHash(b)
		if err != nil {
			return nil, fmt.Errorf("node (%d, %d): %w", id.Level, id.Index, err)
		}
		out[i] = h
	}
	return out, nil
}

// eventFromValues reads one row of eventColumns, as the driver returns it,
// into e.
func eventFromValues(v []driver.Value, e *eventstore.RecordedEvent) error {
	if len(v) != 17 {
		return fmt.Errorf("event row has %d columns, want 17", len(v))
	}
	var bad []string
	i64 := func(i int) int64 {
		n, ok := v[i].(int64)
		if !ok {
			bad = append(bad, fmt.Sprint(i))
		}
		return n
	}
	str := func(i int) string {
		switch s := v[i].(type) {
		case string:
			return s
		case []byte:
			return string(s)
		}
		bad = append(bad, fmt.Sprint(i))
		return ""
	}
	fixed := func(i int, dst []byte) {
		b, ok := v[i].([]byte)
		if !ok || len(b) != len(dst) {
			bad = append(bad, fmt.Sprint(i))
			return
		}
		copy(dst, b)
	}
	e.Position = uint64(i64(0))
	fixed(1, e.EventID[:])
	e.Stream = str(2)
	e.Revision = uint64(i64(3))
	e.Type = str(4)
	e.SchemaVersion = uint32(i64(5))
	e.OccurredAt = time.Unix(0, i64(6)).UTC()
	e.RecordedAt = time.Unix(0, i64(7)).UTC()
	e.Actor.User, e.Actor.Agency, e.Actor.Role = str(8), str(9), str(10)
	fixed(11, e.CorrelationID[:])
	fixed(12, e.CausationID[:])
	fixed(13, e.PayloadDigest[:])
	fixed(14, e.PrevHash[:])
	fixed(15, e.Hash[:])
	if p, ok := v[16].([]byte); ok {
		e.Payload = p // the driver returns a fresh copy
		if p == nil {
			e.Payload = []byte{}
		}
	} else {
		bad = append(bad, "16")
	}
	if bad != nil {
		return fmt.Errorf("event row has malformed columns %v", bad)
	}
	return nil
}
