package projections

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/domain"
)

// Feed is the read model of the API's live feed: every domain event, with
// its case, in the order it became visible. Events of an exhibit that is
// not yet recorded (its SeizureRecorded or SubSampleTaken not yet written)
// wait in {feed_pending} and enter the feed, in their order, right after
// the record that makes the exhibit visible: a reader following the feed by
// sequence number never misses them and never sees an unrecorded exhibit.
// Who may see an item is decided at query time from {participants}, so a
// revoked sharing hides the case's events from then on.
//
// A feed row holds only what ordering, scoping and filtering need: its
// sequence number, the event's global position and its case, as a small
// integer key that {feed_cases} maps to the case's id. The rest of
// an item (event id, stream, type, times, actor...) is in the event store
// already: FeedEvents reads it there by position. Rows of a dozen columns
// cost a rebuild of a million events seconds of CPU to insert and index
// for data the store keeps anyway.
type Feed struct{}

// FeedVersion is bumped whenever the feed tables or their meaning change.
// Version 2: rows keep the position and case only. Version 3: the case as
// an integer key into {feed_cases}. Version 4: no unique index on
// position (see QueryIndexes).
const FeedVersion = 4

func (Feed) Name() string { return "feed" }

// RowsPerEvent: the feed keeps a row per domain event.
func (Feed) RowsPerEvent() float64 { return 1 }
func (Feed) Version() int          { return FeedVersion }
func (Feed) Tables() []string {
	return []string{"participants", "feed_cases", "feed", "feed_pending", "feed_recorded"}
}

func (Feed) Schema() []string {
	return append(participantsSchema(),
		// A case's key is assigned when the feed first sees one of its
		// events, in the log's order (live and rebuilt feeds agree). A row
		// keeps the key, not the 36-character id: its records and index
		// entries are a third the size to write and sort. visible() joins
		// {participants} through case_id.
		`CREATE TABLE {feed_cases} (
			case_key INTEGER PRIMARY KEY,
			case_id  TEXT NOT NULL UNIQUE
		) STRICT`,
		`CREATE TABLE {feed} (
			seq      INTEGER PRIMARY KEY,
			position INTEGER NOT NULL,
			case_key INTEGER NOT NULL
		) STRICT`,
		`CREATE TABLE {feed_pending} (
			position   INTEGER PRIMARY KEY,
			case_key   INTEGER NOT NULL,
			exhibit_id TEXT NOT NULL
		) STRICT`,
		`CREATE INDEX {feed_pending}_by_exhibit ON {feed_pending}(exhibit_id, position)`,
		`CREATE TABLE {feed_recorded} (exhibit_id TEXT PRIMARY KEY) WITHOUT ROWID, STRICT`,
	)
}

// caseOf returns the case of a domain event (every one carries it).
func caseOf(d any) (uuid.UUID, bool) {
	switch e := d.(type) {
	case domain.CaseOpened:
		return e.CaseID, true
	case domain.CaseShared:
		return e.CaseID, true
	case domain.CaseSharingRevoked:
		return e.CaseID, true
	case domain.HoldPlaced:
		return e.CaseID, true
	case domain.HoldReleased:
		return e.CaseID, true
	case domain.CaseClosed:
		return e.CaseID, true
	case domain.SeizureRecorded:
		return e.CaseID, true
	}
	if r, ok := exhibitRef(d); ok {
		return r.CaseID, true
	}
	return uuid.Nil, false
}

// feedRow is a feed row but its seq: SQLite numbers the rows (seq is the
// table's INTEGER PRIMARY KEY), in the order Flush inserts them, from one
// more than the largest seq in the table (what reading max(seq) once a
// batch and counting from it gave, without the query).
type feedRow struct {
	position int64
	caseKey  int64
}

// feedBatch is the feed's state within one batch: rows to insert into the
// feed, in order, rows still waiting for their exhibit's record, and which
// exhibits are recorded.
type feedBatch struct {
	rows        []feedRow
	pending     map[string][]feedRow // this batch's waiting rows, by exhibit
	pendingKeys []string             // exhibits of pending, in first-seen order
	recorded    map[string]bool
	newRecorded []string
	// waiting says whether {feed_pending} holds rows of an exhibit, for
	// the exhibits Preload looked up (others: look in the table).
	waiting map[string]bool
	// cases are the case keys looked up or assigned in this batch;
	// newCases the cases assigned one, in key order, for {feed_cases}.
	cases    map[uuid.UUID]int64
	newCases []uuid.UUID
	nextKey  int64 // the next key to assign; 0: not read yet
}

func (Feed) batch(tx *Tx) (*feedBatch, error) {
	return tx.State("feed", func() any {
		return &feedBatch{pending: map[string][]feedRow{}, recorded: map[string]bool{},
			waiting: map[string]bool{}, cases: map[uuid.UUID]int64{}}
	}).(*feedBatch), nil
}

// exhibitOfStream returns the exhibit of an exhibit stream's name, as
// domain.ParseStream would (the canonical form of a UUID), without parsing.
func exhibitOfStream(stream string) (string, bool) {
	id, ok := strings.CutPrefix(stream, "exhibit-")
	if !ok || len(id) != 36 {
		return "", false
	}
	for i := 0; i < 36; i++ {
		c := id[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return "", false
			}
		case (c < '0' || c > '9') && (c < 'a' || c > 'f'):
			return "", false
		}
	}
	return id, true
}

// caseKey returns the key of a case, assigning the next one to a case the
// feed has not seen yet.
func (b *feedBatch) caseKey(tx *Tx, id uuid.UUID) (int64, error) {
	if k, ok := b.cases[id]; ok {
		return k, nil
	}
	var k int64
	err := tx.QueryRow(`SELECT case_key FROM {feed_cases} WHERE case_id = ?`, id.String()).Scan(&k)
	if err == nil {
		b.cases[id] = k
		return k, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("feed: case key of %s: %w", id, err)
	}
	if b.nextKey == 0 {
		if err := tx.QueryRow(`SELECT coalesce(max(case_key), 0) + 1 FROM {feed_cases}`).Scan(&b.nextKey); err != nil {
			return 0, fmt.Errorf("feed: next case key: %w", err)
		}
	}
	k = b.nextKey
	b.nextKey++
	b.cases[id] = k
	b.newCases = append(b.newCases, id)
	return k, nil
}

func (b *feedBatch) isRecorded(tx *Tx, exhibit string) (bool, error) {
	return memoExists(tx, b.recorded, `{feed_recorded}`, exhibit)
}

// QueryIndexes are the feed indexes Apply does not use. There is none on
// position, which no query reads: each event is applied once (the
// checkpoint moves in the same transaction), and Apply sends it either to
// the feed or to {feed_pending}, which release empties as it moves rows
// in. A unique index that checked this on every insert cost a rebuild of
// 1M events a second on the writer connection and 12 MB; the property
// test checks it instead (checkFeedOnce).
func (Feed) QueryIndexes() []string {
	return append(participantsIndexes(),
		`CREATE INDEX {feed}_by_case ON {feed}(case_key, seq)`)
}

// Interest: the feed shows every domain event. It reads the case of an
// exhibit event straight from the payload's top-level "case_id" (see
// caseOfEnvelope), without decoding the rest; the payloads of the other
// events it decodes: case events carry the access changes, commit records
// the exhibits they make visible.
func (Feed) Interest(eventType string) Interest {
	switch eventType {
	case domain.TypeSeizureRecorded, domain.TypeSubSampleTaken:
		return Payload
	}
	if domain.Events.SchemaVersion(eventType) == 0 {
		return Skip
	}
	if exhibitEventTypes[eventType] {
		return Envelope
	}
	return Payload
}

// exhibitEventTypes are the event types that embed an ExhibitRef.
var exhibitEventTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range domain.Events.Types() {
		if _, ok := exhibitRef(domain.Events.New(t)); ok {
			m[t] = true
		}
	}
	return m
}()

// caseOfEnvelope returns the case of an exhibit event the feed did not
// get decoded: the payload's top-level "case_id", read without decoding
// the rest, or, should the payload not be laid out as the domain encodes
// it, from a full decode.
func caseOfEnvelope(ev *Event) (uuid.UUID, bool, error) {
	if raw, ok := topLevelString(ev.Payload, "case_id"); ok {
		if id, err := uuid.ParseBytes(raw); err == nil {
			return id, true, nil
		}
	}
	d, err := DomainDecoder(ev.RecordedEvent)
	if err != nil {
		return uuid.Nil, false, fmt.Errorf("decode event at position %d (%s, %s rev %d): %w",
			ev.Position, ev.Type, ev.Stream, ev.Revision, err)
	}
	id, ok := caseOf(d)
	return id, ok, nil
}

// topLevelString returns the raw value of key in the JSON object p if it
// is a string without escapes. ok is false for anything else: no such key,
// another kind of value, or p not an object this scanner follows.
func topLevelString(p []byte, key string) (raw []byte, ok bool) {
	i := skipSpace(p, 0)
	if i >= len(p) || p[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipSpace(p, i)
		if i >= len(p) || p[i] != '"' {
			return nil, false
		}
		k, next, plain := scanString(p, i)
		if next < 0 {
			return nil, false
		}
		i = skipSpace(p, next)
		if i >= len(p) || p[i] != ':' {
			return nil, false
		}
		i = skipSpace(p, i+1)
		if plain && string(k) == key {
			if i >= len(p) || p[i] != '"' {
				return nil, false
			}
			if v, next, vplain := scanString(p, i); next >= 0 && vplain {
				return v, true
			}
			return nil, false
		}
		if i = skipValue(p, i); i < 0 {
			return nil, false
		}
		i = skipSpace(p, i)
		if i >= len(p) || p[i] != ',' {
			return nil, false // '}' or malformed: key not found
		}
		i++
	}
}

func skipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// scanString reads the string starting at p[i] == '"': its raw content,
// the index after its closing quote (-1 if unterminated), and whether it
// has no escape.
func scanString(p []byte, i int) (content []byte, next int, plain bool) {
	plain = true
	for j := i + 1; j < len(p); j++ {
		switch p[j] {
		case '\\':
			plain = false
			j++
		case '"':
			return p[i+1 : j], j + 1, plain
		}
	}
	return nil, -1, false
}

// skipValue returns the index after the JSON value starting at p[i], -1 if
// it is not one this scanner follows.
func skipValue(p []byte, i int) int {
	if i >= len(p) {
		return -1
	}
	switch p[i] {
	case '"':
		_, next, _ := scanString(p, i)
		return next
	case '{', '[':
		depth := 0
		for j := i; j < len(p); j++ {
			switch p[j] {
			case '"':
				_, next, _ := scanString(p, j)
				if next < 0 {
					return -1
				}
				j = next - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i // a number or a literal
	for j < len(p) && p[j] != ',' && p[j] != '}' && p[j] != ']' && p[j] != ' ' && p[j] != '\n' && p[j] != '\t' && p[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func (Feed) Apply(tx *Tx, ev *Event) error {
	if _, err := applyAccess(tx, ev); err != nil {
		return err
	}
	var caseID uuid.UUID
	var ok bool
	if ev.Data == nil && (Feed{}).Interest(ev.Type) == Envelope {
		var err error
		if caseID, ok, err = caseOfEnvelope(ev); err != nil {
			return err
		}
	} else {
		caseID, ok = caseOf(ev.Data)
	}
	if !ok {
		return nil
	}
	b, err := Feed{}.batch(tx)
	if err != nil {
		return err
	}
	key, err := b.caseKey(tx, caseID)
	if err != nil {
		return err
	}
	row := feedRow{position: int64(ev.Position), caseKey: key}
	if id, ok := exhibitOfStream(ev.Stream); ok {
		rec, err := b.isRecorded(tx, id)
		if err != nil {
			return err
		}
		if !rec {
			if _, ok := b.pending[id]; !ok {
				b.pendingKeys = append(b.pendingKeys, id)
			}
			b.pending[id] = append(b.pending[id], row)
			return nil
		}
	}
	b.rows = append(b.rows, row)
	switch e := ev.Data.(type) {
	case domain.SeizureRecorded:
		for _, id := range e.ExhibitIDs {
			if err := b.release(tx, id.String()); err != nil {
				return err
			}
		}
	case domain.SubSampleTaken:
		return b.release(tx, e.SubSampleID.String())
	}
	return nil
}

// release marks an exhibit recorded and moves its waiting events (those of
// earlier batches, in the table, then this batch's) into the feed, in their
// order.
func (b *feedBatch) release(tx *Tx, exhibit string) error {
	if rec, err := b.isRecorded(tx, exhibit); err != nil || rec {
		return err
	}
	b.recorded[exhibit] = true
	b.newRecorded = append(b.newRecorded, exhibit)
	if w, ok := b.waiting[exhibit]; ok && !w {
		b.rows = append(b.rows, b.pending[exhibit]...)
		delete(b.pending, exhibit)
		return nil
	}
	rows, err := tx.Query(`SELECT position, case_key FROM {feed_pending} WHERE exhibit_id = ? ORDER BY position`, exhibit)
	if err != nil {
		return err
	}
	found := false
	for rows.Next() {
		var row feedRow
		if err := rows.Scan(&row.position, &row.caseKey); err != nil {
			rows.Close()
			return err
		}
		b.rows = append(b.rows, row)
		found = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if found {
		if _, err := tx.Exec(`DELETE FROM {feed_pending} WHERE exhibit_id = ?`, exhibit); err != nil {
			return err
		}
	}
	b.rows = append(b.rows, b.pending[exhibit]...)
	delete(b.pending, exhibit)
	return nil
}

// Preload looks up, in a few statements, which of the exhibits the batch's
// events concern are recorded and which have events waiting.
func (Feed) Preload(tx *Tx, batch []Event) error {
	var ids idSet
	ids.addBatchExhibits(batch, false)
	b, err := Feed{}.batch(tx)
	if err != nil {
		return err
	}
	return forChunks(ids.ids, func(in string, args []any) error {
		for _, a := range args {
			id := a.(string)
			if _, ok := b.recorded[id]; !ok {
				b.recorded[id] = false
			}
			b.waiting[id] = false
		}
		for _, q := range []struct {
			sql string
			set map[string]bool
		}{
			{`SELECT exhibit_id FROM {feed_recorded} WHERE exhibit_id IN (` + in + `)`, b.recorded},
			{`SELECT DISTINCT exhibit_id FROM {feed_pending} WHERE exhibit_id IN (` + in + `)`, b.waiting},
		} {
			rows, err := tx.Query(q.sql, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				q.set[id] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
}

// Flush writes the batch's new cases, feed rows, waiting rows and
// recorded exhibits, many rows per statement.
func (Feed) Flush(tx *Tx) error {
	v, ok := tx.state["feed"]
	if !ok {
		return nil
	}
	b := v.(*feedBatch)
	cases := make([][]any, len(b.newCases))
	for i, id := range b.newCases {
		cases[i] = []any{b.cases[id], id.String()}
	}
	if err := insertRows(tx, `{feed_cases}`, `case_key, case_id`, 2, cases); err != nil {
		return err
	}
	// The rows' values share one backing array per table.
	vals := make([]any, 0, 3*len(b.rows))
	rows := make([][]any, len(b.rows))
	for i, r := range b.rows {
		vals = append(vals, nil, r.position, r.caseKey) // seq NULL: numbered by SQLite
		rows[i] = vals[3*i : 3*i+3 : 3*i+3]
	}
	if err := insertRows(tx, `{feed}`, `seq, position, case_key`, 3, rows); err != nil {
		return err
	}
	var waiting [][]any
	for _, id := range b.pendingKeys {
		for _, r := range b.pending[id] {
			waiting = append(waiting, []any{r.position, r.caseKey, id})
		}
	}
	if err := insertRows(tx, `{feed_pending}`, `position, case_key, exhibit_id`, 3, waiting); err != nil {
		return err
	}
	rec := make([][]any, len(b.newRecorded))
	for i, id := range b.newRecorded {
		rec[i] = []any{id}
	}
	return insertRows(tx, `{feed_recorded}`, `exhibit_id`, 1, rec)
}

// insertChunks are the row counts of insertRows' statements: a few
// distinct statements per table (each prepared once and kept), the widest
// for rebuilds, the narrow ones for live batches and remainders.
var insertChunks = []int{256, 64, 16, 4, 2, 1}

// insertRows inserts rows of n columns, many rows per statement.
func insertRows(tx *Tx, table, cols string, n int, rows [][]any) error {
	return insertRowsThen(tx, table, cols, n, rows, "")
}

// insertRowsThen is insertRows with a clause after the values (an upsert).
func insertRowsThen(tx *Tx, table, cols string, n int, rows [][]any, then string) error {
	for len(rows) > 0 {
		k := 1
		for _, c := range insertChunks {
			if c <= len(rows) && c*n <= maxParams {
				k = c
				break
			}
		}
		var q strings.Builder
		q.WriteString(`INSERT INTO ` + table + `(` + cols + `) VALUES `)
		args := make([]any, 0, k*n)
		for i := 0; i < k; i++ {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?" + strings.Repeat(", ?", n-1) + ")")
			args = append(args, rows[i]...)
		}
		q.WriteString(then)
		if _, err := tx.Exec(q.String(), args...); err != nil {
			return err
		}
		rows = rows[k:]
	}
	return nil
}

// maxParams bounds the values bound to one statement (SQLite's limit is
// 32766).
const maxParams = 8192

// exhibitRef returns the ExhibitRef every exhibit event embeds.
func exhibitRef(d any) (domain.ExhibitRef, bool) {
	switch e := d.(type) {
	case domain.ExhibitRegistered:
		return e.ExhibitRef, true
	case domain.ExhibitSealed:
		return e.ExhibitRef, true
	case domain.ExhibitWeighed:
		return e.ExhibitRef, true
	case domain.SubSampleTaken:
		return e.ExhibitRef, true
	case domain.TransferOffered:
		return e.ExhibitRef, true
	case domain.TransferAccepted:
		return e.ExhibitRef, true
	case domain.TransferRejected:
		return e.ExhibitRef, true
	case domain.TransferCancelled:
		return e.ExhibitRef, true
	case domain.ExhibitStored:
		return e.ExhibitRef, true
	case domain.SealInspected:
		return e.ExhibitRef, true
	case domain.SealOpened:
		return e.ExhibitRef, true
	case domain.ExhibitResealed:
		return e.ExhibitRef, true
	case domain.CheckedOut:
		return e.ExhibitRef, true
	case domain.CheckedIn:
		return e.ExhibitRef, true
	case domain.LabReceiptRecorded:
		return e.ExhibitRef, true
	case domain.AnalysisReported:
		return e.ExhibitRef, true
	case domain.ReportAmended:
		return e.ExhibitRef, true
	case domain.DiscrepancyRaised:
		return e.ExhibitRef, true
	case domain.DiscrepancyResolved:
		return e.ExhibitRef, true
	case domain.InventoryAudited:
		return e.ExhibitRef, true
	case domain.DisposalAuthorised:
		return e.ExhibitRef, true
	case domain.ExhibitDestroyed:
		return e.ExhibitRef, true
	case domain.ExhibitReturned:
		return e.ExhibitRef, true
	case domain.ExhibitReleased:
		return e.ExhibitRef, true
	case domain.AnnotationAdded:
		return e.ExhibitRef, true
	}
	return domain.ExhibitRef{}, false
}
