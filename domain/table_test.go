package domain

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"
)

// fx names what a given step built.
type fx struct {
	c    uuid.UUID   // the case
	ids  []uuid.UUID // the bales
	x    uuid.UUID   // the exhibit under test (ids[0] unless set)
	sub  uuid.UUID   // a sub-sample
	tid  uuid.UUID   // a pending transfer
	aux  uuid.UUID   // anything else (report, discrepancy, hold)
	seal string      // the last seal of x
}

// tc is one given / when / then case. Exactly one of want, rule, is is set.
type tc struct {
	name  string
	given func(w *world, f *fx)
	by    Principal
	when  func(f *fx) Command
	want  []string // event types, in order
	rule  string   // RuleError code
	is    error    // ErrForbidden, ErrNotFound, ErrValidation
	field string   // with is == ErrValidation: a field that must be named
	check func(t *testing.T, w *world, f *fx, d Decision)
}

// base builds the world every case of a table starts from.
type base func(t *testing.T) (*world, *fx)

// stock: a customs case with three stored bales held by Karim.
func stock(framework LegalFramework) base {
	return func(t *testing.T) (*world, *fx) { return stockWorld(t, framework) }
}

func stockWorld(tb testing.TB, framework LegalFramework) (*world, *fx) {
	w, c, ids := given(tb, framework, 3)
	w.must(idriss, ShareCase{CaseID: c, Agency: "MA-LAB-CASA", Country: "MA", LegalBasis: "expertise requisition"})
	return w, &fx{c: c, ids: ids, x: ids[0], seal: w.exhibit(ids[0]).Seal}
}

func run(t *testing.T, b base, cases []tc) {
	t.Helper()
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			w, f := b(t)
			if k.given != nil {
				k.given(w, f)
			}
			cmd := k.when(f)
			before := w.clone()
			d, err := w.do(k.by, cmd)
			switch {
			case k.rule != "":
				wantRule(t, err, k.rule)
			case k.is != nil:
				if !errors.Is(err, k.is) {
					t.Fatalf("got %v, want %v", err, k.is)
				}
				if k.field != "" {
					var ve *ValidationError
					if !errors.As(err, &ve) {
						t.Fatalf("got %T, want *ValidationError", err)
					}
					if !slices.ContainsFunc(ve.Fields, func(fe FieldError) bool { return fe.Field == k.field }) {
						t.Fatalf("got fields %+v, want %s named", ve.Fields, k.field)
					}
				}
			default:
				if err != nil {
					t.Fatalf("got %v, want %v", err, k.want)
				}
				if got := types(d); !slices.Equal(got, k.want) {
					t.Fatalf("got events %v, want %v", got, k.want)
				}
				checkDecision(t, before, d)
			}
			if err != nil && len(d.Appends) != 0 {
				t.Fatalf("a refused command decided %d appends", len(d.Appends))
			}
			if k.check != nil {
				k.check(t, w, f, d)
			}
		})
	}
}

// checkDecision: the invariants every decision keeps, whatever the command:
// distinct non-nil IDs, occurred_at in UTC, exhibit events naming their
// stream's exhibit, and expected revisions matching the state before.
func checkDecision(t *testing.T, before *world, d Decision) {
	t.Helper()
	seen := map[uuid.UUID]bool{}
	for _, a := range d.Appends {
		if a.ExpectedRevision != int64(len(before.streams[a.Stream]))-1 && a.ExpectedRevision != NoStream {
			t.Fatalf("%s: expected revision %d, stream is at %d", a.Stream, a.ExpectedRevision, len(before.streams[a.Stream])-1)
		}
		kind, sid, ok := ParseStream(a.Stream)
		if !ok {
			t.Fatalf("bad stream name %q", a.Stream)
		}
		for _, ne := range a.Events {
			if ne.ID == uuid.Nil || seen[ne.ID] {
				t.Fatalf("event id %s nil or repeated", ne.ID)
			}
			seen[ne.ID] = true
			if ne.OccurredAt.Location() != nil && ne.OccurredAt.Location().String() != "UTC" {
				t.Fatalf("occurred_at %v not in UTC", ne.OccurredAt)
			}
			if kind == "exhibit" {
				if r, ok := exhibitRefOf(ne.Event); !ok || r.ExhibitID != sid {
					t.Fatalf("%s in %s names exhibit %v", ne.Event.EventType(), a.Stream, r.ExhibitID)
				}
			}
		}
	}
}

// exhibitRefOf extracts the ExhibitRef of an exhibit event.
func exhibitRefOf(e Event) (ExhibitRef, bool) {
	switch e := e.(type) {
	case HoldPlaced:
		if e.ExhibitID != nil {
			return ExhibitRef{ExhibitID: *e.ExhibitID, CaseID: e.CaseID}, true
		}
	case HoldReleased:
		if e.ExhibitID != nil {
			return ExhibitRef{ExhibitID: *e.ExhibitID, CaseID: e.CaseID}, true
		}
	}
	v := deref(e)
	rv := reflectValue(v)
	if f := rv.FieldByName("ExhibitRef"); f.IsValid() {
		return f.Interface().(ExhibitRef), true
	}
	return ExhibitRef{}, false
}
