package domain

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"
)

// Property-test cast: one clerk per agency, holding every handling role, so
// that random sequences get deep into the lifecycle; magistrates apart.
var (
	pKarim  = Principal{User: "karim", Agency: "MA-DOUANE-TGM", Roles: []Role{RoleCustodian, RoleOfficer}}
	pSalma  = Principal{User: "salma", Agency: "MA-LAB-CASA", Roles: []Role{RoleAnalyst, RoleCustodian}}
	pClaire = Principal{User: "claire", Agency: "FR-DOUANE-MRS", Roles: []Role{RoleOfficer, RoleCustodian}}
	pJulien = Principal{User: "julien", Agency: "FR-LAB-MRS", Roles: []Role{RoleAnalyst, RoleCustodian}}
	pPaul   = Principal{User: "paul", Agency: "FR-GREFFE-MRS", Roles: []Role{RoleCustodian}} // never a participant
	cast    = []Principal{pKarim, pSalma, pClaire, pJulien, pPaul, idriss, helene, auditor, admin}
	clerks  = map[string]Principal{pKarim.Agency: pKarim, pSalma.Agency: pSalma, pClaire.Agency: pClaire, pJulien.Agency: pJulien, pPaul.Agency: pPaul}
)

// allowed lists the status transitions the lifecycle permits (besides
// staying put).
var allowed = map[Status][]Status{
	StatusRegistered:         {StatusSealed, StatusDisposalAuthorised},
	StatusSealed:             {StatusInTransfer, StatusInCustody, StatusCheckedOut, StatusDisposalAuthorised},
	StatusInCustody:          {StatusInTransfer, StatusCheckedOut, StatusDisposalAuthorised},
	StatusInTransfer:         {StatusInCustody, StatusSealed, StatusDisposalAuthorised},
	StatusCheckedOut:         {StatusInCustody, StatusDisposalAuthorised},
	StatusDisposalAuthorised: {StatusInTransfer, StatusCheckedOut, StatusDestroyed, StatusReturned, StatusReleased},
}

type prop struct {
	t        *rapid.T
	w        *world
	caseID   uuid.UUID
	exhibits []uuid.UUID
	ok, fail int
	seq      int
	reached  map[string]bool
	// adv is the percentage of steps that advance the lifecycle instead of
	// drawing any command: drawn per run, so that some runs wander and
	// others go deep.
	adv int
}

// fresh returns a new deterministic UUID (rapid must control all
// randomness for shrinking to work).
func (p *prop) fresh() uuid.UUID {
	p.seq++
	return uuid.NewSHA1(Namespace, []byte{byte(p.seq >> 8), byte(p.seq), 'p'})
}

func TestProperty_InvariantsHoldForAnySequence(t *testing.T) {
	steps := 80
	if testing.Short() {
		steps = 30
	}
	reached := map[string]bool{}
	rapid.Check(t, func(rt *rapid.T) {
		w := newWorld(t)
		framework := rapid.SampledFrom([]LegalFramework{FrameworkCustoms, FrameworkJudicialInformation}).Draw(rt, "framework")
		c := openCase(w, framework)
		for _, s := range []struct{ agency, country string }{{"MA-LAB-CASA", "MA"}, {"FR-DOUANE-MRS", "FR"}, {"FR-LAB-MRS", "FR"}, {"FR-JI-MRS", "FR"}} {
			w.must(idriss, ShareCase{CaseID: c, Agency: s.agency, Country: s.country, LegalBasis: "MLA", AuthorityRef: "EIM-1"})
		}
		ids := recordSeizure(w, c, 2)
		for _, id := range ids {
			storedBale(w, id)
		}
		p := &prop{t: rt, w: w, caseID: c, exhibits: ids, reached: reached, adv: rapid.IntRange(0, 90).Draw(rt, "advance-percent")}
		n := rapid.IntRange(1, steps).Draw(rt, "steps")
		for i := 0; i < n; i++ {
			p.step()
		}
	})
	// The generator must reach deep into the lifecycle, or the property
	// proves little (checked on full runs; -short runs are too few).
	if testing.Short() {
		return
	}
	for _, want := range []string{string(StatusInTransfer), string(StatusCheckedOut), string(StatusDestroyed), TypeSubSampleTaken,
		TypeAnalysisReported, TypeDiscrepancyRaised, TypeDiscrepancyResolved, "refused"} {
		if !reached[want] {
			t.Errorf("no run reached %s: the generator is too shallow", want)
		}
	}
}

func (p *prop) step() {
	t, w := p.t, p.w
	w.advance(time.Duration(rapid.IntRange(0, 30).Draw(t, "hours")) * time.Hour)
	id := rapid.SampledFrom(p.exhibits).Draw(t, "exhibit")
	x := w.exhibit(id)
	cmd := p.command(x)
	who := p.actor(x, cmd)
	before := map[uuid.UUID]*Exhibit{}
	for _, e := range p.exhibits {
		before[e] = w.exhibit(e)
	}
	d, err := w.do(who, cmd)
	if err != nil {
		p.fail++
		p.reached["refused"] = true
		if !errors.Is(err, ErrRule) && !errors.Is(err, ErrForbidden) && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrValidation) && !errors.Is(err, errConflict) {
			t.Fatalf("%s by %s: untyped error %v", cmd.Name(), who.User, err)
		}
		return
	}
	p.ok++
	for _, ne := range d.Events() {
		p.reached[ne.Event.EventType()] = true
		if st, ok := ne.Event.(SubSampleTaken); ok {
			p.exhibits = append(p.exhibits, st.SubSampleID)
			if parent := before[st.ExhibitID]; st.NetMg > parent.Mass.NetMg {
				t.Fatalf("sub-sample of %d mg from a parent holding %d mg", st.NetMg, parent.Mass.NetMg)
			}
		}
	}
	for _, e := range p.exhibits {
		now := w.exhibit(e)
		p.reached[string(now.Status())] = true
		p.check(before[e], now, d, who, cmd)
	}
}

// check asserts every invariant on one exhibit across one decision.
func (p *prop) check(old, now *Exhibit, d Decision, who Principal, cmd Command) {
	t := p.t
	var mine []Event
	for _, a := range d.Appends {
		if now.Revision() >= 0 && a.Stream == now.Stream() {
			for _, ne := range a.Events {
				mine = append(mine, ne.Event)
			}
		}
	}
	// Folding is deterministic and incremental folding equals a full fold.
	if again := p.w.exhibit(now.ID); !reflect.DeepEqual(again, now) {
		t.Fatalf("folding %s twice differs", now.ID)
	}
	if old == nil {
		return // created by this decision
	}
	inc := *old
	inc.Reports, inc.Discrepancies, inc.Holds = maps(old.Reports), maps(old.Discrepancies), maps(old.Holds)
	inc.SubSamples = slices.Clone(old.SubSamples)
	for _, e := range mine {
		inc.Apply(e)
	}
	if !reflect.DeepEqual(&inc, now) {
		t.Fatalf("incremental fold of %s differs from the full fold", now.ID)
	}
	// Nothing moves after a terminal event.
	if old.Status().Terminal() {
		for _, e := range mine {
			if e.EventType() != TypeAnnotationAdded {
				t.Fatalf("%s appended to terminal exhibit %s", e.EventType(), now.ID)
			}
		}
	}
	// Only allowed transitions.
	if a, b := old.Status(), now.Status(); a != b && !slices.Contains(allowed[a], b) {
		t.Fatalf("%s: transition %s -> %s by %s", now.ID, a, b, cmd.Name())
	}
	// One custodian at a time; custody moves only when the named receiver
	// accepts; one pending transfer at a time.
	if old.Custodian.Agency != now.Custodian.Agency || old.Custodian.Person != now.Custodian.Person {
		acc := slices.ContainsFunc(mine, func(e Event) bool { _, ok := e.(TransferAccepted); return ok })
		if !acc || old.Pending == nil || now.Custodian.Agency != old.Pending.To.Agency || who.Agency != old.Pending.To.Agency ||
			(old.Pending.To.Person != "" && who.User != old.Pending.To.Person) {
			t.Fatalf("%s: custody moved from %v to %v by %s (%s) without acceptance by the named receiver", now.ID, old.Custodian, now.Custodian, who.User, cmd.Name())
		}
	}
	for _, e := range mine {
		if _, ok := e.(TransferOffered); ok && (old.Pending != nil || who.Agency != old.Custodian.Agency) {
			t.Fatalf("%s: transfer offered by %s while pending %v / custodian %s", now.ID, who.Agency, old.Pending != nil, old.Custodian.Agency)
		}
	}
	// Sub-samples never take more than the parent holds.
	if now.Mass.Known && now.Mass.NetMg < 0 {
		t.Fatalf("%s: expected net mass %d mg < 0", now.ID, now.Mass.NetMg)
	}
	// Destruction conditions (invariant 3).
	if now.Status() == StatusDestroyed && !old.Status().Terminal() {
		cs := p.w.caseState(p.caseID)
		if old.Disposal == nil || old.Disposal.Method != DisposalDestruction || p.w.now.Before(old.Disposal.ChallengeDeadline) ||
			old.PreDestruction == nil || old.OnHold() || len(cs.Holds) > 0 {
			t.Fatalf("%s destroyed without a valid order, deadline, pre-weighing or with a hold", now.ID)
		}
	}
	// Analysis only by the lab holding the exhibit (invariant 7).
	for _, e := range mine {
		if a, ok := e.(AnalysisReported); ok && (a.Lab != old.Holder() || who.Agency != old.Holder()) {
			t.Fatalf("analysis by %s of an exhibit held by %s", who.Agency, old.Holder())
		}
	}
}

func maps[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// actor picks who issues cmd: mostly the plausible person, sometimes anyone.
func (p *prop) actor(x *Exhibit, cmd Command) Principal {
	if rapid.IntRange(0, 4).Draw(p.t, "random-actor") == 0 {
		return rapid.SampledFrom(cast).Draw(p.t, "actor")
	}
	switch cmd.(type) {
	case AcceptTransfer, RejectTransfer:
		if x.Pending != nil {
			if c, ok := clerks[x.Pending.To.Agency]; ok {
				return c
			}
		}
	case AuthoriseDisposal, PlaceHold, ReleaseHold:
		return idriss
	case ResolveDiscrepancy, WeighExhibit, CheckIn, CheckOut, StoreExhibit, CancelTransfer, OfferTransfer, DestroyExhibit, ReturnExhibit, ReleaseExhibit:
		if c, ok := clerks[x.Custodian.Agency]; ok {
			return c
		}
	}
	if c, ok := clerks[x.Holder()]; ok {
		return c
	}
	return pKarim
}

func (p *prop) seal(x *Exhibit) SealSeen {
	if rapid.IntRange(0, 5).Draw(p.t, "bad-seal") == 0 {
		return SealSeen{Number: "WRONG", Condition: rapid.SampledFrom([]SealCondition{SealIntact, SealDamaged}).Draw(p.t, "cond")}
	}
	return SealSeen{Number: x.Seal, Condition: SealIntact}
}

func (p *prop) weight(x *Exhibit) *WeightSeen {
	switch rapid.IntRange(0, 3).Draw(p.t, "weight-kind") {
	case 0:
		return nil
	case 1:
		return &WeightSeen{GrossMg: max(1, x.Mass.GrossMg+rapid.Int64Range(-50_000_000, 50_000_000).Draw(p.t, "far")), UncertaintyMg: 5_000}
	}
	return &WeightSeen{GrossMg: max(1, x.Mass.GrossMg+rapid.Int64Range(-3_000, 3_000).Draw(p.t, "near")), UncertaintyMg: 5_000}
}

func (p *prop) command(x *Exhibit) Command {
	t := p.t
	tid := p.fresh()
	if x.Pending != nil && rapid.IntRange(0, 5).Draw(t, "bad-transfer-id") != 0 {
		tid = x.Pending.TransferID
	}
	parties := []Party{
		{Agency: "MA-DOUANE-TGM", Person: "karim"}, {Agency: "MA-LAB-CASA", Person: "salma"}, {Agency: "MA-LAB-CASA"},
		{Agency: "FR-DOUANE-MRS", Person: "claire"}, {Agency: "FR-LAB-MRS"}, {Agency: "FR-GREFFE-MRS"}, {Agency: "MA-DOUANE-TGM", Location: "VAULT-2"},
	}
	witnesses := []Witness{{Ref: "W-1", Kind: "official", Agency: "MA-GENDARMERIE"}, {Ref: "W-2", Kind: "official", Agency: "MA-SANTE"}, {Ref: "karim", Kind: "official", Agency: "MA-DOUANE-TGM"}}
	net := max(1, x.Mass.NetMg)
	if rapid.IntRange(0, 99).Draw(t, "dice") < p.adv {
		return p.advance(x)
	}
	switch rapid.IntRange(0, 23).Draw(t, "command") {
	case 0, 1:
		auth := rapid.SampledFrom([]string{"", "EIM-2026-FR-MA-0088"}).Draw(t, "authority")
		return OfferTransfer{ExhibitID: x.ID, To: rapid.SampledFrom(parties).Draw(t, "to"), Purpose: "p", AuthorityRef: auth}
	case 2, 3:
		return AcceptTransfer{ExhibitID: x.ID, TransferID: tid, Seal: p.seal(x), Weight: p.weight(x)}
	case 4:
		return RejectTransfer{ExhibitID: x.ID, TransferID: tid, Reason: "r"}
	case 5:
		return CancelTransfer{ExhibitID: x.ID, TransferID: tid, Reason: "r"}
	case 6:
		return StoreExhibit{ExhibitID: x.ID, Location: rapid.SampledFrom([]string{"R1", "R2"}).Draw(t, "loc")}
	case 7:
		return CheckOut{ExhibitID: x.ID, To: Party{Agency: "MA-PARQUET-TNG"}, Purpose: "hearing", DueAt: p.w.now.Add(48 * time.Hour)}
	case 8:
		return CheckIn{ExhibitID: x.ID, Seal: p.seal(x), Weight: p.weight(x)}
	case 9:
		return OpenSeal{ExhibitID: x.ID, Purpose: "sampling", AuthorityRef: "REQ"}
	case 10:
		return ResealExhibit{ExhibitID: x.ID, SealNumber: "S-" + p.fresh().String()[:8]}
	case 11:
		return InspectSeal{ExhibitID: x.ID, Seal: p.seal(x)}
	case 12:
		sample := rapid.Int64Range(1, 2*net).Draw(t, "sample-mg")
		return TakeSubSample{ExhibitID: x.ID, Label: p.fresh().String()[:8], Purpose: "analysis", SealNumber: "SS-" + p.fresh().String()[:8],
			Weighing: Weighing{GrossMg: sample + 500, NetMg: sample, TareMg: 500, UncertaintyMg: 20, ScaleID: "S", CalibrationRef: "C"}}
	case 13:
		purpose := rapid.SampledFrom([]string{PurposeControl, PurposePreDestruction}).Draw(t, "purpose")
		seen := net + rapid.SampledFrom([]int64{0, 1_000, -10_000_000}).Draw(t, "delta")
		n := rapid.IntRange(0, 3).Draw(t, "n-witnesses")
		return WeighExhibit{ExhibitID: x.ID, Purpose: purpose, Weighing: Weighing{GrossMg: max(1, seen) + 500, NetMg: max(1, seen), TareMg: 500,
			UncertaintyMg: 5_000, ScaleID: "S", CalibrationRef: "C", Witnesses: witnesses[:n]}}
	case 14:
		return RecordLabReceipt{ExhibitID: x.ID, LabCaseNumber: "L", Seal: p.seal(x), PackagingCondition: "ok", Weight: p.weight(x)}
	case 15:
		b := body(net)
		b.ConsumedMg = rapid.Int64Range(0, net).Draw(t, "consumed")
		return ReportAnalysis{ExhibitID: x.ID, Report: b}
	case 16:
		m := rapid.SampledFrom([]string{DisposalDestruction, DisposalReturn, DisposalRelease}).Draw(t, "method")
		window := time.Duration(rapid.IntRange(0, 48).Draw(t, "window")) * time.Hour
		return AuthoriseDisposal{ExhibitID: x.ID, OrderRef: "O", Method: m, NotifiedAt: p.w.now, ChallengeDeadline: p.w.now.Add(window)}
	case 17:
		n := rapid.IntRange(1, 3).Draw(t, "n-destruction-witnesses")
		return DestroyExhibit{ExhibitID: x.ID, Method: "incineration", Site: "s", Witnesses: witnesses[:n]}
	case 18:
		if rapid.Bool().Draw(t, "return") {
			return ReturnExhibit{ExhibitID: x.ID, ReturnedTo: "OWNER"}
		}
		return ReleaseExhibit{ExhibitID: x.ID, ReleasedTo: "X", Reason: "r"}
	case 19:
		cs := p.w.caseState(p.caseID)
		for _, h := range sortedKeys(cs.Holds) {
			return ReleaseHold{CaseID: p.caseID, HoldID: h, Reason: "r"}
		}
		return PlaceHold{CaseID: p.caseID, Reason: "r"}
	case 20:
		return RaiseDiscrepancy{ExhibitID: x.ID, Kind: DiscrepancyOther, Detail: "d"}
	case 21:
		for _, id := range sortedKeys(x.Discrepancies) {
			return ResolveDiscrepancy{ExhibitID: x.ID, DiscrepancyID: id, Resolution: "explained"}
		}
		return ResolveDiscrepancy{ExhibitID: x.ID, DiscrepancyID: p.fresh(), Resolution: "explained"}
	case 22:
		found := rapid.Bool().Draw(t, "found")
		if !found {
			return AuditInventory{ExhibitID: x.ID, InventoryRef: "I", Found: false}
		}
		return AuditInventory{ExhibitID: x.ID, InventoryRef: "I", Found: true, Location: x.Custodian.Location, Seal: new(p.seal(x))}
	}
	return AddAnnotation{ExhibitID: x.ID, Kind: "note", Text: "t"}
}

func sortedKeys[V any](m map[uuid.UUID]V) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return out
}

// advance returns the command that moves x furthest towards the end of its
// lifecycle, well-formed, so that random runs reach disposal.
func (p *prop) advance(x *Exhibit) Command {
	outside := []Witness{{Ref: "W-1", Kind: "official", Agency: "MA-GENDARMERIE"}, {Ref: "W-2", Kind: "official", Agency: "MA-SANTE"}}
	switch {
	case x.Pending != nil:
		return AcceptTransfer{ExhibitID: x.ID, TransferID: x.Pending.TransferID, Seal: SealSeen{Number: x.Seal, Condition: SealIntact}}
	case x.Checkout != nil:
		return CheckIn{ExhibitID: x.ID, Seal: SealSeen{Number: x.Seal, Condition: SealIntact}}
	case len(x.Discrepancies) > 0:
		return ResolveDiscrepancy{ExhibitID: x.ID, DiscrepancyID: sortedKeys(x.Discrepancies)[0], Resolution: "explained"}
	case x.SealOpen && len(x.SubSamples) == 0 && x.ParentID == uuid.Nil && x.Mass.Known:
		n := min(20_000, max(1, x.Mass.NetMg))
		return TakeSubSample{ExhibitID: x.ID, Label: "S1", Purpose: "analysis", SealNumber: "SS-" + p.fresh().String()[:8],
			Weighing: Weighing{GrossMg: n + 500, NetMg: n, TareMg: 500, UncertaintyMg: 20, ScaleID: "S", CalibrationRef: "C"}}
	case x.SealOpen:
		return ResealExhibit{ExhibitID: x.ID, SealNumber: "S-" + p.fresh().String()[:8]}
	case len(x.SubSamples) == 0 && x.ParentID == uuid.Nil && x.Mass.Known && x.Seal != "" && x.Disposal == nil:
		return OpenSeal{ExhibitID: x.ID, Purpose: "sampling", AuthorityRef: "REQ"}
	case len(x.Reports) == 0 && x.Holder() == pSalma.Agency && x.LabReceipt == nil:
		return RecordLabReceipt{ExhibitID: x.ID, LabCaseNumber: "L", Seal: SealSeen{Number: x.Seal, Condition: SealIntact}, PackagingCondition: "ok"}
	case len(x.Reports) == 0 && x.Holder() == pSalma.Agency:
		return ReportAnalysis{ExhibitID: x.ID, Report: body(max(1, x.Mass.NetMg))}
	case len(x.Reports) == 0 && x.Custodian.Agency != pSalma.Agency:
		return OfferTransfer{ExhibitID: x.ID, To: Party{Agency: pSalma.Agency, Person: pSalma.User}, Purpose: "analysis"}
	case x.Disposal == nil:
		window := time.Duration(rapid.IntRange(0, 24).Draw(p.t, "window")) * time.Hour
		return AuthoriseDisposal{ExhibitID: x.ID, OrderRef: "O", Method: DisposalDestruction, NotifiedAt: p.w.now, ChallengeDeadline: p.w.now.Add(window)}
	case x.Disposal.Method == DisposalReturn:
		return ReturnExhibit{ExhibitID: x.ID, ReturnedTo: "OWNER"}
	case x.Disposal.Method == DisposalRelease:
		return ReleaseExhibit{ExhibitID: x.ID, ReleasedTo: "X", Reason: "r"}
	case x.PreDestruction == nil:
		n := max(1, x.Mass.NetMg)
		return WeighExhibit{ExhibitID: x.ID, Purpose: PurposePreDestruction, Weighing: Weighing{GrossMg: n + 500, NetMg: n, TareMg: 500,
			UncertaintyMg: 5_000, ScaleID: "S", CalibrationRef: "C", Witnesses: outside}}
	}
	return DestroyExhibit{ExhibitID: x.ID, Method: "incineration", Site: "s", Witnesses: outside}
}
