package domain

import (
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
)

// NoStream is the ExpectedRevision of an append that creates its stream.
const NoStream int64 = -1

// Command is one of the command structs of this package (OpenCase,
// RecordSeizure, OfferTransfer, ...). Commands carry only what the user
// says; the acting Principal is a separate argument of Decide.
type Command interface {
	// Name is the command's name, as used in errors and docs.
	Name() string
	// Targets lists the existing cases, seizures and exhibits the caller
	// must load into the View before calling Decide.
	Targets() Targets
	decide(d *decision) error
	when() time.Time
}

// At is embedded in every command: the business time of the events it
// produces. Zero means "now". It may be back-dated (offline capture), never
// more than Policy.MaxClockSkew after now, never before the registration
// of the exhibit concerned.
type At struct {
	OccurredAt time.Time `json:"occurred_at,omitzero"`
}

func (a At) when() time.Time { return a.OccurredAt }

// OccurredAt returns the business time cmd names, or the zero time when it
// leaves it to the server clock (Decide then uses now).
func OccurredAt(cmd Command) time.Time { return cmd.when() }

// Targets are the IDs of the states a command reads.
type Targets struct {
	Cases    []uuid.UUID
	Seizures []uuid.UUID
	Exhibits []uuid.UUID
}

// State is a folded Case, Seizure or Exhibit.
type State interface {
	// Stream is the state's stream name.
	Stream() string
	// Revision is the revision of the last event folded (NoStream if none):
	// the ExpectedRevision of an append based on this state.
	Revision() int64
}

// View is the in-memory lookup of the folded states the caller preloaded
// for one decision. Load, in order: Targets(); then, for every exhibit
// loaded, Exhibit.Related() (its case, its seizure, its parent and its
// sub-samples). Decide never modifies a state in the View.
type View struct {
	Cases    map[uuid.UUID]*Case
	Seizures map[uuid.UUID]*Seizure
	Exhibits map[uuid.UUID]*Exhibit
}

// NewView returns a View holding states (nil entries are skipped).
func NewView(states ...State) View {
	v := View{Cases: map[uuid.UUID]*Case{}, Seizures: map[uuid.UUID]*Seizure{}, Exhibits: map[uuid.UUID]*Exhibit{}}
	for _, s := range states {
		v.Add(s)
	}
	return v
}

// Add puts a state into the view.
func (v *View) Add(s State) {
	switch s := s.(type) {
	case *Case:
		if s != nil {
			if v.Cases == nil {
				v.Cases = map[uuid.UUID]*Case{}
			}
			v.Cases[s.ID] = s
		}
	case *Seizure:
		if s != nil {
			if v.Seizures == nil {
				v.Seizures = map[uuid.UUID]*Seizure{}
			}
			v.Seizures[s.ID] = s
		}
	case *Exhibit:
		if s != nil {
			if v.Exhibits == nil {
				v.Exhibits = map[uuid.UUID]*Exhibit{}
			}
			v.Exhibits[s.ID] = s
		}
	}
}

// Decision is what a command decided: the role the principal acted in (the
// envelope's actor role) and an ordered list of appends. The caller MUST
// append them in order, each one atomically, and stop at the first failure.
// The last append is the decision's commit record: read models show what
// earlier appends created only once it exists. Retrying the same command
// with the same key and principal yields the same event IDs, so a crash
// half-way is completed by a retry (the store accepts re-appended events).
type Decision struct {
	Role    Role
	Appends []Append
}

// Append is one atomic append to one stream.
type Append struct {
	Stream string
	// ExpectedRevision is NoStream (-1, the stream must not exist) or the
	// revision of the state the decision was based on.
	ExpectedRevision int64
	Events           []NewEvent
}

// NewEvent is one event to append. ID is derived from the principal, the
// idempotency key and the event's index in the decision.
type NewEvent struct {
	ID         uuid.UUID
	OccurredAt time.Time
	Event      Event
}

// Events returns every event of d, in order.
func (d Decision) Events() []NewEvent {
	var out []NewEvent
	for _, a := range d.Appends {
		out = append(out, a.Events...)
	}
	return out
}

// DefaultMaxClockSkew is how far after the server clock a command's
// occurred_at may be.
const DefaultMaxClockSkew = 5 * time.Minute

// Policy holds the configurable parameters of the rules.
type Policy struct {
	// MaxClockSkew: occurred_at may be at most this much after now.
	MaxClockSkew time.Duration
	// WeightToleranceMg is added to the combined uncertainty of two
	// measurements before a difference raises a discrepancy.
	WeightToleranceMg int64
}

// DefaultPolicy is the policy Decide uses.
var DefaultPolicy = Policy{MaxClockSkew: DefaultMaxClockSkew}

// Decide runs cmd for principal p against the preloaded view v, with the
// server clock now and the command's idempotency key, under DefaultPolicy.
func Decide(p Principal, cmd Command, v View, now time.Time, key string) (Decision, error) {
	return DefaultPolicy.Decide(p, cmd, v, now, key)
}

// Decide is the single entry point of every command. Errors: *ValidationError
// (shape), ErrForbidden (role or agency), ErrNotFound (a named state is not
// there), *RuleError (refused in the current state).
func (pol Policy) Decide(p Principal, cmd Command, v View, now time.Time, key string) (Decision, error) {
	if cmd == nil {
		return Decision{}, fmt.Errorf("domain: decide: nil command")
	}
	name := cmd.Name()
	if err := p.check(); err != nil {
		return Decision{}, err
	}
	if key == "" || len(key) > 255 {
		return Decision{}, invalid(name, "idempotency_key", "is required (1 to 255 bytes)")
	}
	if err := validateShape(name, cmd); err != nil {
		return Decision{}, err
	}
	now = utc(now)
	at := cmd.when()
	if at.IsZero() {
		at = now
	}
	at = utc(at)
	if at.After(now.Add(pol.MaxClockSkew)) {
		return Decision{}, invalid(name, "occurred_at", "is more than %s after the server clock", pol.MaxClockSkew)
	}
	d := &decision{pol: pol, p: p, v: v, now: now, at: at, key: key, cmd: name}
	if err := cmd.decide(d); err != nil {
		return Decision{}, err
	}
	if d.role == "" || len(d.out.Appends) == 0 {
		return Decision{}, fmt.Errorf("domain: %s: decided nothing (bug)", name)
	}
	d.out.Role = d.role
	return d.out, nil
}

// decision is the working state of one Decide call.
type decision struct {
	pol  Policy
	p    Principal
	v    View
	now  time.Time
	at   time.Time
	key  string
	cmd  string
	role Role
	out  Decision
	n    int
}

// as sets the acting role: the first of allowed that the principal holds.
func (d *decision) as(allowed ...Role) error {
	r, err := d.p.actingRole(d.cmd, allowed...)
	if err != nil {
		return err
	}
	d.role = r
	return nil
}

// newID derives the ID of an entity the command creates.
func (d *decision) newID(slot string) uuid.UUID { return EntityID(d.p, d.key, slot) }

// emit appends e to stream (joining the previous append if it is the same
// stream) and returns the event's ID.
func (d *decision) emit(stream string, expected int64, e Event) uuid.UUID {
	id := EventID(d.p, d.key, d.n)
	d.n++
	ne := NewEvent{ID: id, OccurredAt: d.at, Event: e}
	if k := len(d.out.Appends); k > 0 && d.out.Appends[k-1].Stream == stream {
		d.out.Appends[k-1].Events = append(d.out.Appends[k-1].Events, ne)
		return id
	}
	d.out.Appends = append(d.out.Appends, Append{Stream: stream, ExpectedRevision: expected, Events: []NewEvent{ne}})
	return id
}

func (d *decision) caseOf(id uuid.UUID) (*Case, error) {
	c, ok := d.v.Cases[id]
	if !ok || c == nil || c.Revision() < 0 {
		return nil, notFound(d.cmd, "case %s", id)
	}
	return c, nil
}

// tolerance returns the largest difference between two measurements with
// expanded uncertainties u1 and u2 that still reconciles: the combined
// uncertainty sqrt(u1²+u2²), rounded up, plus the policy's tolerance.
func (pol Policy) tolerance(u1, u2 int64) int64 {
	c := math.Sqrt(float64(u1)*float64(u1) + float64(u2)*float64(u2))
	return int64(math.Ceil(c)) + pol.WeightToleranceMg
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}
