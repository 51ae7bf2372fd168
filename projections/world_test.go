package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/domain"
	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

// tb is what the helpers need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

// world runs domain commands the way the API does: load the states the
// command targets from the store, Decide, append every append in order.
type world struct {
	t     tb
	store eventstore.Store
	now   time.Time
	keys  int
	last  uint64
}

func newWorld(t tb, store eventstore.Store) *world {
	return &world{t: t, store: store, now: time.Date(2026, 4, 12, 6, 0, 0, 0, time.UTC)}
}

func (w *world) tick(d time.Duration) { w.now = w.now.Add(d) }

func (w *world) events(ctx context.Context, stream string) ([]domain.Event, error) {
	recs, err := w.store.ReadStream(ctx, stream, eventstore.ReadOptions{})
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]domain.Event, 0, len(recs))
	for _, r := range recs {
		e, err := domain.Decode(r.Type, r.SchemaVersion, r.Payload)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (w *world) view(ctx context.Context, tg domain.Targets) (domain.View, error) {
	v := domain.NewView()
	var exhibits []*domain.Exhibit
	load := func(tg domain.Targets) error {
		for _, id := range tg.Cases {
			if _, ok := v.Cases[id]; ok {
				continue
			}
			evs, err := w.events(ctx, domain.CaseStream(id))
			if err != nil {
				return err
			}
			if len(evs) > 0 {
				v.Add(domain.NewCase(evs...))
			}
		}
		for _, id := range tg.Seizures {
			if _, ok := v.Seizures[id]; ok {
				continue
			}
			evs, err := w.events(ctx, domain.SeizureStream(id))
			if err != nil {
				return err
			}
			if len(evs) > 0 {
				v.Add(domain.NewSeizure(evs...))
			}
		}
		for _, id := range tg.Exhibits {
			if _, ok := v.Exhibits[id]; ok {
				continue
			}
			evs, err := w.events(ctx, domain.ExhibitStream(id))
			if err != nil {
				return err
			}
			if len(evs) > 0 {
				x := domain.NewExhibit(evs...)
				v.Add(x)
				exhibits = append(exhibits, x)
			}
		}
		return nil
	}
	if err := load(tg); err != nil {
		return v, err
	}
	for _, x := range exhibits {
		if err := load(x.Related()); err != nil {
			return v, err
		}
	}
	return v, nil
}

// do runs cmd as p; it returns the decision, or the domain's or the
// store's error.
func (w *world) do(p domain.Principal, cmd domain.Command) (domain.Decision, error) {
	ctx := context.Background()
	w.keys++
	key := fmt.Sprintf("k-%d", w.keys)
	v, err := w.view(ctx, cmd.Targets())
	if err != nil {
		return domain.Decision{}, err
	}
	d, err := domain.Decide(p, cmd, v, w.now, key)
	if err != nil {
		return d, err
	}
	corr := domain.EntityID(p, key, "correlation")
	for _, a := range d.Appends {
		expected := eventstore.NoStream
		if a.ExpectedRevision >= 0 {
			expected = eventstore.Exact(uint64(a.ExpectedRevision))
		}
		datas := make([]eventstore.EventData, len(a.Events))
		for i, ne := range a.Events {
			typ, ver, payload, err := domain.Encode(ne.Event)
			if err != nil {
				return d, err
			}
			datas[i] = eventstore.EventData{ID: ne.ID, Type: typ, SchemaVersion: ver, Payload: payload, OccurredAt: ne.OccurredAt,
				Actor: ledger.Actor{User: p.User, Agency: p.Agency, Role: string(d.Role)}, CorrelationID: corr}
		}
		res, err := w.store.Append(ctx, a.Stream, expected, datas...)
		if err != nil {
			return d, err
		}
		w.last = res.Position
	}
	return d, nil
}

func (w *world) must(p domain.Principal, cmd domain.Command) domain.Decision {
	w.t.Helper()
	d, err := w.do(p, cmd)
	if err != nil {
		w.t.Fatalf("%s by %s: %v", cmd.Name(), p.User, err)
	}
	return d
}

// find returns the first event of type T in d.
func find[T domain.Event](t tb, d domain.Decision) T {
	t.Helper()
	for _, ne := range d.Events() {
		if e, ok := ne.Event.(T); ok {
			return e
		}
	}
	var zero T
	t.Fatalf("decision has no %T", zero)
	return zero
}

// The agencies and users of SCENARIOS.md.
var (
	nadia   = domain.Principal{User: "nadia", Agency: "MA-DOUANE-TGM", Roles: []domain.Role{domain.RoleOfficer}}
	youssef = domain.Principal{User: "youssef", Agency: "MA-DOUANE-TGM", Roles: []domain.Role{domain.RoleOfficer}}
	karim   = domain.Principal{User: "karim", Agency: "MA-DOUANE-TGM", Roles: []domain.Role{domain.RoleCustodian}}
	salma   = domain.Principal{User: "salma", Agency: "MA-LAB-CASA", Roles: []domain.Role{domain.RoleAnalyst}}
	idriss  = domain.Principal{User: "idriss", Agency: "MA-PARQUET-TNG", Roles: []domain.Role{domain.RoleMagistrate}}
	claire  = domain.Principal{User: "claire", Agency: "FR-DOUANE-MRS", Roles: []domain.Role{domain.RoleOfficer}}
	julien  = domain.Principal{User: "julien", Agency: "FR-LAB-MRS", Roles: []domain.Role{domain.RoleAnalyst}}
	helene  = domain.Principal{User: "helene", Agency: "FR-JI-MRS", Roles: []domain.Role{domain.RoleMagistrate}}
	paul    = domain.Principal{User: "paul", Agency: "FR-GREFFE-MRS", Roles: []domain.Role{domain.RoleCustodian}}
)

var agencies = []string{"MA-DOUANE-TGM", "MA-LAB-CASA", "MA-PARQUET-TNG", "FR-DOUANE-MRS", "FR-LAB-MRS", "FR-JI-MRS", "FR-GREFFE-MRS"}

var _ = uuid.Nil
