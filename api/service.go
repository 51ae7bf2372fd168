package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/domain"
	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

// CommandResult is what every command returns.
type CommandResult struct {
	Command string `json:"command" doc:"The command's name."`
	// Position is the global position of the last event written.
	Position uint64 `json:"position" doc:"Global position of the last event written: pass it as min_position to a query to read your own write."`
	// Stream and Revision are the primary stream's (the ETag).
	Stream   string         `json:"stream" doc:"The command's primary stream (its first target) if it wrote there, else the last stream it wrote (the decision's record)."`
	Revision uint64         `json:"revision" doc:"The primary stream's revision after the command: its ETag."`
	Appends  []AppendRecord `json:"appends" doc:"Every atomic append, in order."`
	Created  []CreatedRef   `json:"created,omitempty" doc:"Cases, seizures and exhibits the command created."`
	Events   []EventRef     `json:"events" doc:"Every event written, in order."`
}

// AppendRecord is one atomic append of a command.
type AppendRecord struct {
	Stream   string `json:"stream"`
	Revision uint64 `json:"revision" doc:"Revision of the append's last event."`
	Position uint64 `json:"position" doc:"Global position of the append's last event."`
}

// CreatedRef names an entity a command created.
type CreatedRef struct {
	Kind string    `json:"kind" enum:"case,seizure,exhibit"`
	ID   uuid.UUID `json:"id"`
}

// EventRef names an event a command wrote.
type EventRef struct {
	ID      uuid.UUID       `json:"id"`
	Type    string          `json:"type"`
	Stream  string          `json:"stream"`
	Payload json.RawMessage `json:"payload" doc:"The event's payload: it carries the IDs the command created (transfer_id, report_id, discrepancy_id...)."`
}

// writeTimeout bounds a command's appends once decided; they run detached
// from the client's connection so that a disconnect or a shutdown never
// cuts a decision in the middle.
const writeTimeout = 30 * time.Second

// toDomain is the domain principal of an API principal.
func (p Principal) toDomain() domain.Principal {
	rs := make([]domain.Role, len(p.Roles))
	for i, r := range p.Roles {
		rs[i] = domain.Role(r)
	}
	return domain.Principal{User: p.User, Agency: p.Agency, Roles: rs}
}

// stored is one stream read from the store and folded.
type loaded struct {
	view    domain.View
	streams map[string]uint64 // stream -> last revision, for If-Match
}

// load reads and folds the streams a command targets, then every
// exhibit's related streams, and checks that every target exists and that
// the principal's agency participates in every case involved, or holds a
// targeted exhibit of it (a custodian whose share was revoked may still
// hand back what it holds: the domain decides what a holder may do). If
// not, the command gets a 404, the same for an absent target as for one
// the agency may not see, before any role check could tell them apart.
func (s *Server) load(ctx context.Context, p Principal, t domain.Targets) (*loaded, error) {
	l := &loaded{view: domain.NewView(), streams: map[string]uint64{}}
	caseIDs := map[uuid.UUID]bool{}
	for _, id := range t.Cases {
		c, err := s.loadCase(ctx, id)
		if err != nil {
			return nil, err
		}
		if c == nil {
			return nil, errNotVisible
		}
		l.add(c)
		caseIDs[c.ID] = true
	}
	for _, id := range t.Seizures {
		z, err := s.loadSeizure(ctx, id)
		if err != nil {
			return nil, err
		}
		if z == nil {
			return nil, errNotVisible
		}
		l.add(z)
		caseIDs[z.CaseID] = true
	}
	var exhibits []*domain.Exhibit
	for _, id := range t.Exhibits {
		e, err := s.loadExhibit(ctx, id)
		if err != nil {
			return nil, err
		}
		if e == nil {
			return nil, errNotVisible
		}
		l.add(e)
		exhibits = append(exhibits, e)
	}
	held := map[uuid.UUID]bool{} // cases of a targeted exhibit the agency holds
	for _, e := range exhibits {
		if e.Custodian.Agency == p.Agency || e.Holder() == p.Agency {
			held[e.CaseID] = true
		}
	}
	for _, e := range exhibits {
		rel := e.Related()
		for _, id := range rel.Exhibits {
			if _, ok := l.view.Exhibits[id]; ok {
				continue
			}
			x, err := s.loadExhibit(ctx, id)
			if err != nil {
				return nil, err
			}
			if x != nil {
				l.add(x)
			}
		}
		for _, id := range rel.Seizures {
			if _, ok := l.view.Seizures[id]; ok {
				continue
			}
			z, err := s.loadSeizure(ctx, id)
			if err != nil {
				return nil, err
			}
			if z != nil {
				l.add(z)
			}
		}
		for _, id := range rel.Cases {
			caseIDs[id] = true
		}
	}
	for id := range caseIDs {
		c, ok := l.view.Cases[id]
		if !ok {
			var err error
			if c, err = s.loadCase(ctx, id); err != nil {
				return nil, err
			}
			if c == nil {
				return nil, errNotVisible
			}
			l.add(c)
		}
		if !c.Participant(p.Agency) && !held[id] {
			return nil, errNotVisible
		}
	}
	return l, nil
}

func (l *loaded) add(st domain.State) {
	l.view.Add(st)
	if r := st.Revision(); r >= 0 {
		l.streams[st.Stream()] = uint64(r)
	}
}

// readStream reads and decodes a whole stream; a stream without events
// returns nil, nil.
func (s *Server) readStream(ctx context.Context, stream string) ([]domain.Event, error) {
	if evs, ok := s.cache.get(stream); ok {
		return evs, nil
	}
	t := s.cache.ticket(stream)
	recs, err := s.store.ReadStream(ctx, stream, eventstore.ReadOptions{From: eventstore.Start})
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("api: read %s: %w", stream, err)
	}
	evs := make([]domain.Event, 0, len(recs))
	for i := range recs {
		e, err := domain.Decode(recs[i].Type, recs[i].SchemaVersion, recs[i].Payload)
		if err != nil {
			return nil, fmt.Errorf("api: decode %s@%d: %w", stream, recs[i].Revision, err)
		}
		evs = append(evs, e)
	}
	s.cache.put(stream, t, evs)
	return evs, nil
}

func (s *Server) loadCase(ctx context.Context, id uuid.UUID) (*domain.Case, error) {
	return loadState(ctx, s, domain.CaseStream(id), func(evs []domain.Event) *domain.Case { return domain.NewCase(evs...) })
}

func (s *Server) loadSeizure(ctx context.Context, id uuid.UUID) (*domain.Seizure, error) {
	return loadState(ctx, s, domain.SeizureStream(id), func(evs []domain.Event) *domain.Seizure { return domain.NewSeizure(evs...) })
}

func (s *Server) loadExhibit(ctx context.Context, id uuid.UUID) (*domain.Exhibit, error) {
	return loadState(ctx, s, domain.ExhibitStream(id), func(evs []domain.Event) *domain.Exhibit { return domain.NewExhibit(evs...) })
}

// loadState returns a stream's folded state, nil if the stream is empty:
// from the cache when folded already (an exhibit's history grows with every
// custody step, and folding it again for every command cost more than
// deciding), else folded from its events and remembered. The state is
// shared: callers only read it.
func loadState[T interface {
	*domain.Exhibit | *domain.Case | *domain.Seizure
	domain.State
}](ctx context.Context, s *Server, stream string, fold func([]domain.Event) T) (T, error) {
	if st, ok := s.cache.state(stream); ok {
		if x, ok := st.(T); ok {
			return x, nil
		}
	}
	evs, err := s.readStream(ctx, stream)
	if err != nil || evs == nil {
		return nil, err
	}
	x := fold(evs)
	s.cache.setState(stream, len(evs), x)
	return x, nil
}

// primaryStream is the stream If-Match and ETag refer to: the command's
// first target.
func primaryStream(t domain.Targets) string {
	switch {
	case len(t.Exhibits) > 0:
		return domain.ExhibitStream(t.Exhibits[0])
	case len(t.Seizures) > 0:
		return domain.SeizureStream(t.Seizures[0])
	case len(t.Cases) > 0:
		return domain.CaseStream(t.Cases[0])
	}
	return ""
}

// parseETag reads an If-Match value: "7" or 7 (a stream revision).
func parseETag(s string) (uint64, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "W/"))
	s = strings.Trim(s, `"`)
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, &FieldError{Location: "header.If-Match", Message: fmt.Sprintf("%q is not an ETag this API issued (a quoted revision such as \"7\")", s)}
	}
	return n, nil
}

func etag(rev uint64) string { return `"` + strconv.FormatUint(rev, 10) + `"` }

// streamTurns serialises the commands of this server by primary stream:
// a stripe of mutexes, by a hash of the stream name (unrelated streams
// share a stripe now and then, which only makes one wait for the other).
type streamTurns struct {
	stripes [1024]sync.Mutex
}

func (t *streamTurns) lock(stream string) (unlock func()) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(stream))
	m := &t.stripes[h.Sum32()%uint32(len(t.stripes))]
	m.Lock()
	return m.Unlock
}

// conflictRetries is how many times a command is decided again after a
// stream it read moved before its append (another command on the same
// exhibit won the race, or another server wrote to a shared KurrentDB).
const conflictRetries = 3

// execute runs one command: load, decide, append in order. ifMatch, if
// set, must equal the primary stream's current revision.
//
// Without If-Match the client asked for the command on the current state,
// whatever it is: when an append finds its stream moved since the load, the
// command is loaded and decided again (the domain's rules then refuse it
// if the new state forbids it), up to conflictRetries times. With If-Match
// the client asked for the state it read: a moved stream is a 412.
func (s *Server) execute(ctx context.Context, p Principal, cmd domain.Command, key, ifMatch string) (CommandResult, error) {
	// Commands on one primary stream take turns in this server, so that
	// they do not all decide on the same head and all but one fail.
	if primary := primaryStream(cmd.Targets()); primary != "" {
		unlock := s.turns.lock(primary)
		defer unlock()
	}
	for attempt := 0; ; attempt++ {
		res, err := s.attempt(ctx, p, cmd, key, ifMatch)
		var wrong *eventstore.WrongRevisionError
		if ifMatch == "" && attempt < conflictRetries && errors.As(err, &wrong) && ctx.Err() == nil {
			continue
		}
		return res, err
	}
}

// attempt is one load, decision and append of execute.
func (s *Server) attempt(ctx context.Context, p Principal, cmd domain.Command, key, ifMatch string) (CommandResult, error) {
	targets := cmd.Targets()
	primary := primaryStream(targets)
	var want uint64
	checkMatch := ifMatch != "" && primary != ""
	if checkMatch {
		// A malformed header is bad input whatever the targets are.
		var err error
		if want, err = parseETag(ifMatch); err != nil {
			return CommandResult{}, err
		}
	}
	l, err := s.load(ctx, p, targets)
	if err != nil {
		return CommandResult{}, err
	}
	if checkMatch {
		cur, ok := l.streams[primary]
		if !ok {
			return CommandResult{}, errNotVisible
		}
		if cur != want {
			return CommandResult{}, &staleError{Stream: primary, Current: cur, Exists: true}
		}
	}
	dp := p.toDomain()
	now := s.now()
	d, err := domain.Decide(dp, cmd, l.view, now, key)
	if err != nil {
		return CommandResult{}, err
	}
	if t, ok, err := s.interruptedAt(ctx, cmd, d); err != nil {
		return CommandResult{}, err
	} else if ok && !t.Equal(now) {
		// An earlier attempt with this key wrote its first appends and
		// stopped (a crash, a timeout): decide again at that attempt's time,
		// so that the events are the very ones already written and the
		// store completes the command instead of refusing reused IDs.
		if d, err = domain.Decide(dp, cmd, l.view, t, key); err != nil {
			return CommandResult{}, err
		}
	}
	res := CommandResult{Command: cmd.Name(), Stream: primary}
	touched := false
	corr := domain.EventID(dp, key, 0)
	actor := ledger.Actor{User: p.User, Agency: p.Agency, Role: string(d.Role)}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	for _, a := range d.Appends {
		evs := make([]eventstore.EventData, len(a.Events))
		domainEvs := make([]domain.Event, len(a.Events))
		for i, ne := range a.Events {
			domainEvs[i] = ne.Event
			typ, ver, payload, err := domain.Encode(ne.Event)
			if err != nil {
				return CommandResult{}, fmt.Errorf("api: encode %T: %w", ne.Event, err)
			}
			evs[i] = eventstore.EventData{ID: ne.ID, Type: typ, SchemaVersion: ver, Payload: payload,
				OccurredAt: ne.OccurredAt, Actor: actor, CorrelationID: corr, CausationID: corr}
			res.Events = append(res.Events, EventRef{ID: ne.ID, Type: typ, Stream: a.Stream, Payload: payload})
		}
		expected := eventstore.NoStream
		if a.ExpectedRevision >= 0 {
			expected = eventstore.Exact(uint64(a.ExpectedRevision))
		} else if kind, id, ok := domain.ParseStream(a.Stream); ok {
			res.Created = append(res.Created, CreatedRef{Kind: kind, ID: id})
		}
		ar, err := s.store.Append(wctx, a.Stream, expected, evs...)
		if err != nil {
			s.cache.drop(a.Stream)
			s.metrics.appends.WithLabelValues(appendOutcome(err)).Inc()
			var wrong *eventstore.WrongRevisionError
			if checkMatch && a.Stream == primary && errors.As(err, &wrong) {
				return CommandResult{}, &staleError{Stream: primary, Current: wrong.Actual, Exists: wrong.Exists}
			}
			return CommandResult{}, err
		}
		s.cache.appended(a.Stream, ar.Revision+1-uint64(len(evs)), domainEvs)
		s.metrics.appends.WithLabelValues("ok").Inc()
		s.metrics.events.Add(float64(len(evs)))
		res.Appends = append(res.Appends, AppendRecord{Stream: a.Stream, Revision: ar.Revision, Position: ar.Position})
		res.Position = ar.Position
		if a.Stream == primary {
			res.Revision, touched = ar.Revision, true
		}
	}
	if !touched {
		// The command wrote elsewhere (a seizure recorded in a case): the
		// ETag is that of the last stream written, the decision's record.
		last := res.Appends[len(res.Appends)-1]
		res.Stream, res.Revision = last.Stream, last.Revision
	}
	s.checkpointSoon()
	return res, nil
}

// interruptedAt finds an earlier, interrupted attempt of a multi-stream
// command whose occurred_at defaulted to the server clock: if the stream the
// decision creates first already starts with the decision's first event ID,
// it returns that event's occurred_at, the clock of the earlier attempt.
// Nothing else in a decision depends on the clock, so deciding again at
// that time reproduces the earlier attempt's events exactly.
func (s *Server) interruptedAt(ctx context.Context, cmd domain.Command, d domain.Decision) (time.Time, bool, error) {
	if len(d.Appends) < 2 || !domain.OccurredAt(cmd).IsZero() {
		return time.Time{}, false, nil
	}
	first := d.Appends[0]
	if first.ExpectedRevision >= 0 || len(first.Events) == 0 {
		return time.Time{}, false, nil
	}
	recs, err := s.store.ReadStream(ctx, first.Stream, eventstore.ReadOptions{Count: 1})
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("api: look for an interrupted attempt in %s: %w", first.Stream, err)
	}
	if len(recs) == 0 || recs[0].EventID != first.Events[0].ID {
		return time.Time{}, false, nil
	}
	return recs[0].OccurredAt, true, nil
}

func appendOutcome(err error) string {
	if errors.Is(err, eventstore.ErrWrongRevision) {
		return "conflict"
	}
	return "error"
}

// checkpointSoon lets the checkpointer issue a count-based checkpoint
// without making the request wait for it; at most one runs at a time.
func (s *Server) checkpointSoon() {
	cp, ok := s.cfg.Checkpoints.(interface {
		Appended(ctx context.Context) (ledger.SignedCheckpoint, bool, error)
	})
	if !ok || !s.checkpointing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.checkpointing.Store(false)
		ctx, cancel := context.WithTimeout(s.bg, time.Minute)
		defer cancel()
		if _, _, err := cp.Appended(ctx); err != nil {
			s.log.Error("checkpoint failed", "err", err)
		}
	}()
}
