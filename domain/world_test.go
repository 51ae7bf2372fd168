package domain

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
)

// world is a tiny in-memory event store plus the caller's side of Decide:
// it loads views as the package doc says, appends decisions with
// expected-revision checks and ID idempotency, and passes every event
// through the codec (encode on append, decode on load).
type world struct {
	tb      testing.TB
	streams map[string][]stored
	byID    map[uuid.UUID]string
	now     time.Time
	keys    int
}

type stored struct {
	id         uuid.UUID
	typ        string
	version    uint32
	payload    []byte
	occurredAt time.Time
}

var t0 = time.Date(2026, 4, 12, 6, 0, 0, 0, time.UTC)

func newWorld(tb testing.TB) *world {
	return &world{tb: tb, streams: map[string][]stored{}, byID: map[uuid.UUID]string{}, now: t0}
}

// clone copies the world (streams are append-only, so slices can be
// shared up to their length).
func (w *world) clone() *world {
	c := &world{tb: w.tb, streams: map[string][]stored{}, byID: map[uuid.UUID]string{}, now: w.now, keys: w.keys}
	for k, v := range w.streams {
		c.streams[k] = append([]stored(nil), v...)
	}
	for k, v := range w.byID {
		c.byID[k] = v
	}
	return c
}

func (w *world) advance(d time.Duration) { w.now = w.now.Add(d) }

func (w *world) events(stream string) []Event {
	var out []Event
	for _, s := range w.streams[stream] {
		e, err := Decode(s.typ, s.version, s.payload)
		if err != nil {
			w.tb.Fatalf("decode %s in %s: %v", s.typ, stream, err)
		}
		out = append(out, e)
	}
	return out
}

func (w *world) caseState(id uuid.UUID) *Case { return NewCase(w.events(CaseStream(id))...) }
func (w *world) seizure(id uuid.UUID) *Seizure {
	return NewSeizure(w.events(SeizureStream(id))...)
}
func (w *world) exhibit(id uuid.UUID) *Exhibit { return NewExhibit(w.events(ExhibitStream(id))...) }

// view loads cmd.Targets(), then Related() of every exhibit loaded.
func (w *world) view(cmd Command) View {
	v := NewView()
	t := cmd.Targets()
	w.loadInto(&v, t)
	for _, x := range v.Exhibits {
		w.loadInto(&v, x.Related())
	}
	return v
}

func (w *world) loadInto(v *View, t Targets) {
	for _, id := range t.Cases {
		if _, ok := v.Cases[id]; !ok && len(w.streams[CaseStream(id)]) > 0 {
			v.Add(w.caseState(id))
		}
	}
	for _, id := range t.Seizures {
		if _, ok := v.Seizures[id]; !ok && len(w.streams[SeizureStream(id)]) > 0 {
			v.Add(w.seizure(id))
		}
	}
	for _, id := range t.Exhibits {
		if _, ok := v.Exhibits[id]; !ok && len(w.streams[ExhibitStream(id)]) > 0 {
			v.Add(w.exhibit(id))
		}
	}
}

// decide runs cmd with a fresh key, without appending.
func (w *world) decide(p Principal, cmd Command) (Decision, error) {
	w.keys++
	return Decide(p, cmd, w.view(cmd), w.now, "key-"+strconv.Itoa(w.keys))
}

// do decides and appends; it returns the decision or the error.
func (w *world) do(p Principal, cmd Command) (Decision, error) {
	w.keys++
	return w.doKey(p, cmd, "key-"+strconv.Itoa(w.keys))
}

func (w *world) doKey(p Principal, cmd Command, key string) (Decision, error) {
	d, err := Decide(p, cmd, w.view(cmd), w.now, key)
	if err != nil {
		return d, err
	}
	return d, w.append(d, -1)
}

// must decides and appends, failing the test on error.
func (w *world) must(p Principal, cmd Command) Decision {
	w.tb.Helper()
	d, err := w.do(p, cmd)
	if err != nil {
		w.tb.Fatalf("%s by %s: %v", cmd.Name(), p.User, err)
	}
	return d
}

var errConflict = errors.New("wrong expected revision")

// append writes the appends of d in order; stopAfter >= 0 simulates a
// crash after that many appends.
func (w *world) append(d Decision, stopAfter int) error {
	for i, a := range d.Appends {
		if stopAfter >= 0 && i >= stopAfter {
			return nil
		}
		if err := w.appendOne(a); err != nil {
			return err
		}
	}
	return nil
}

func (w *world) appendOne(a Append) error {
	s := w.streams[a.Stream]
	encoded := make([]stored, len(a.Events))
	for i, ne := range a.Events {
		typ, ver, payload, err := Encode(ne.Event)
		if err != nil {
			w.tb.Fatalf("encode %T: %v", ne.Event, err)
		}
		if ne.ID == uuid.Nil {
			w.tb.Fatalf("nil event id for %s", typ)
		}
		encoded[i] = stored{id: ne.ID, typ: typ, version: ver, payload: payload, occurredAt: ne.OccurredAt}
	}
	// Idempotency: the same events already written to this stream.
	if st, ok := w.byID[encoded[0].id]; ok {
		if st != a.Stream {
			return fmt.Errorf("event id reused in another stream")
		}
		for i, e := range encoded {
			found := false
			for _, old := range s {
				if old.id == e.id {
					found = reflect.DeepEqual(old, e)
				}
			}
			if !found {
				return fmt.Errorf("event %d id reused with other content", i)
			}
		}
		return nil
	}
	if int64(len(s))-1 != a.ExpectedRevision {
		return fmt.Errorf("%s: expected %d, at %d: %w", a.Stream, a.ExpectedRevision, len(s)-1, errConflict)
	}
	for _, e := range encoded {
		if _, dup := w.byID[e.id]; dup {
			return fmt.Errorf("event id %s reused", e.id)
		}
		w.byID[e.id] = a.Stream
	}
	w.streams[a.Stream] = append(s, encoded...)
	return nil
}

// Principals of SCENARIOS.md.
var (
	nadia   = Principal{User: "nadia", Agency: "MA-DOUANE-TGM", Roles: []Role{RoleOfficer}}
	youssef = Principal{User: "youssef", Agency: "MA-DOUANE-TGM", Roles: []Role{RoleOfficer}}
	karim   = Principal{User: "karim", Agency: "MA-DOUANE-TGM", Roles: []Role{RoleCustodian}}
	salma   = Principal{User: "salma", Agency: "MA-LAB-CASA", Roles: []Role{RoleAnalyst}}
	idriss  = Principal{User: "idriss", Agency: "MA-PARQUET-TNG", Roles: []Role{RoleMagistrate}}
	claire  = Principal{User: "claire", Agency: "FR-DOUANE-MRS", Roles: []Role{RoleOfficer}}
	julien  = Principal{User: "julien", Agency: "FR-LAB-MRS", Roles: []Role{RoleAnalyst}}
	helene  = Principal{User: "helene", Agency: "FR-JI-MRS", Roles: []Role{RoleMagistrate}}
	paul    = Principal{User: "paul", Agency: "FR-GREFFE-MRS", Roles: []Role{RoleCustodian}}
	auditor = Principal{User: "ana", Agency: "MA-DOUANE-TGM", Roles: []Role{RoleAuditor}}
	admin   = Principal{User: "root", Agency: "MA-DOUANE-TGM", Roles: []Role{RoleAdmin}}
	// A warehouse keeper of a foreign, non-participant agency.
	stranger = Principal{User: "sam", Agency: "ES-ADUANA-ALG", Roles: []Role{RoleCustodian, RoleOfficer, RoleAnalyst, RoleMagistrate, RoleAuditor}}
)

// find returns the first event of type T in d.
func find[T Event](tb testing.TB, d Decision) T {
	tb.Helper()
	for _, ne := range d.Events() {
		if e, ok := ne.Event.(T); ok {
			return e
		}
	}
	var zero T
	tb.Fatalf("decision has no %T: %v", zero, types(d))
	return zero
}

// types lists the event types of d, in order.
func types(d Decision) []string {
	var out []string
	for _, ne := range d.Events() {
		out = append(out, ne.Event.EventType())
	}
	return out
}

// --- fixtures: a case with a seizure of sealed and weighed bales ---

const bale = 31_000_000_000 // 31 kg in mg (gross)

func openCase(w *world, framework LegalFramework) uuid.UUID {
	d := w.must(nadia, OpenCase{Reference: "MA-TGM-2026-0412", Country: "MA", LegalFramework: framework, SupervisingAgency: "MA-PARQUET-TNG"})
	return find[CaseOpened](w.tb, d).CaseID
}

func baleSpec(i int, sealed bool) ExhibitSpec {
	s := ExhibitSpec{
		Label: strconv.Itoa(i) + " of 40", Category: "drug", PresumedSubstance: "cannabis resin",
		UnitCount: 1, Packaging: "jute bale",
	}
	if sealed {
		s.SealNumber = fmt.Sprintf("MA-S-%07d", 91200+i)
		s.Weighing = &Weighing{GrossMg: bale, NetMg: bale - 400_000_000, TareMg: 400_000_000, UncertaintyMg: 5_000, ScaleID: "TGM-SC-04", CalibrationRef: "CAL-2026-117"}
	}
	return s
}

func seizureCmd(caseID uuid.UUID, n int, sealed bool) RecordSeizure {
	c := RecordSeizure{
		CaseID: caseID, RecordNumber: "PV-2026-0412", SeizedAt: t0.Add(-2 * time.Hour), ClosedAt: t0.Add(-30 * time.Minute),
		Place: Place{Name: "Tanger Med, gate 4", Country: "MA", Code: "MAPTM", Coordinates: &Coordinates{LatE7: 358850000, LonE7: -54990000}},
		Cause: "scanner image anomaly", DetectionMethod: "x-ray scan", Conveyance: "truck AB-123-CD",
		Concealment: "false wall", Officers: []string{"nadia", "youssef"}, HolderPresent: true, HolderRef: "H-0001",
		Custodian: Party{Agency: "MA-DOUANE-TGM", Person: "nadia"},
	}
	for i := 1; i <= n; i++ {
		c.Exhibits = append(c.Exhibits, baleSpec(i, sealed))
	}
	return c
}

func recordSeizure(w *world, caseID uuid.UUID, n int) []uuid.UUID {
	d := w.must(nadia, seizureCmd(caseID, n, true))
	return find[SeizureRecorded](w.tb, d).ExhibitIDs
}

// stored: a bale accepted by Karim and stored in the warehouse.
func storedBale(w *world, id uuid.UUID) {
	x := w.exhibit(id)
	d := w.must(nadia, OfferTransfer{ExhibitID: id, To: Party{Agency: "MA-DOUANE-TGM", Person: "karim"}, Purpose: "storage"})
	tid := find[TransferOffered](w.tb, d).TransferID
	w.must(karim, AcceptTransfer{ExhibitID: id, TransferID: tid, Seal: SealSeen{Number: x.Seal, Condition: SealIntact}, Weight: &WeightSeen{GrossMg: bale, UncertaintyMg: 5_000}})
	w.must(karim, StoreExhibit{ExhibitID: id, Location: "TGM/MAGASIN-2/R3"})
}

// given: a world with an open case, n sealed and weighed bales, all stored
// with Karim.
func given(tb testing.TB, framework LegalFramework, n int) (*world, uuid.UUID, []uuid.UUID) {
	w := newWorld(tb)
	c := openCase(w, framework)
	ids := recordSeizure(w, c, n)
	for _, id := range ids {
		storedBale(w, id)
	}
	return w, c, ids
}

// subSample takes a 20 g sub-sample of parent (opening and resealing it),
// held by Karim.
func subSample(w *world, parent uuid.UUID, seal string) uuid.UUID {
	w.must(karim, OpenSeal{ExhibitID: parent, Purpose: "sampling", AuthorityRef: "REQ-2026-77"})
	d := w.must(karim, TakeSubSample{ExhibitID: parent, Label: "sample of " + parent.String()[:8], Purpose: "analysis", SealNumber: seal,
		Weighing: Weighing{GrossMg: 20_500, NetMg: 20_000, TareMg: 500, UncertaintyMg: 20, ScaleID: "TGM-SC-01", CalibrationRef: "CAL-2026-118"}})
	w.must(karim, ResealExhibit{ExhibitID: parent, SealNumber: seal + "-R"})
	return find[SubSampleTaken](w.tb, d).SubSampleID
}

func share(w *world, caseID uuid.UUID, agency, country string) {
	w.must(idriss, ShareCase{CaseID: caseID, Agency: agency, Country: country, LegalBasis: "mutual legal assistance", AuthorityRef: "EIM-2026-FR-MA-0088"})
}

// offerAccept moves custody of id from `from` to `to`, seal and weight
// as recorded.
func offerAccept(w *world, from, to Principal, id uuid.UUID, authority string) {
	x := w.exhibit(id)
	d := w.must(from, OfferTransfer{ExhibitID: id, To: Party{Agency: to.Agency, Person: to.User}, Purpose: "handover", AuthorityRef: authority})
	tid := find[TransferOffered](w.tb, d).TransferID
	w.must(to, AcceptTransfer{ExhibitID: id, TransferID: tid, Seal: SealSeen{Number: x.Seal, Condition: SealIntact}})
}

// wantRule fails unless err is a *RuleError with code.
func wantRule(tb testing.TB, err error, code string) {
	tb.Helper()
	var re *RuleError
	if !errors.As(err, &re) {
		tb.Fatalf("got %v, want rule %s", err, code)
	}
	if re.Code != code {
		tb.Fatalf("got rule %s (%v), want %s", re.Code, err, code)
	}
	if !errors.Is(err, ErrRule) {
		tb.Fatalf("errors.Is(%v, ErrRule) = false", err)
	}
}

func reflectValue(e Event) reflect.Value { return reflect.ValueOf(e) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }
