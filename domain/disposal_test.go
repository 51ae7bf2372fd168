package domain

import (
	"testing"
	"time"
)

func TestExhibit_AuthoriseDisposal(t *testing.T) {
	cmd := func(method string) func(f *fx) Command {
		return func(f *fx) Command {
			return AuthoriseDisposal{ExhibitID: f.x, OrderRef: "ORD-2026-3310", Method: method, NotifiedAt: t0, ChallengeDeadline: t0.Add(24 * time.Hour)}
		}
	}
	run(t, stock(FrameworkCustoms), []tc{
		{name: "ok", by: idriss, when: cmd(DisposalDestruction), want: []string{TypeDisposalAuthorised}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			if x := w.exhibit(f.x); x.Status() != StatusDisposalAuthorised || find[DisposalAuthorised](t, d).Authority != "MA-PARQUET-TNG" {
				t.Fatalf("status %s", x.Status())
			}
		}},
		{name: "twice", by: idriss, given: authorise(DisposalReturn, 0), when: cmd(DisposalDestruction), rule: "disposal.already-authorised"},
		{name: "officer_forbidden", by: nadia, when: cmd(DisposalDestruction), is: ErrForbidden},
		{name: "custodian_forbidden", by: karim, when: cmd(DisposalDestruction), is: ErrForbidden},
		{name: "foreign_magistrate_forbidden", by: helene, when: cmd(DisposalDestruction), is: ErrForbidden},
		{name: "unknown_method", by: idriss, when: cmd("sale"), is: ErrValidation, field: "method"},
		{name: "deadline_before_notification", by: idriss, when: func(f *fx) Command {
			return AuthoriseDisposal{ExhibitID: f.x, OrderRef: "O", Method: DisposalDestruction, NotifiedAt: t0, ChallengeDeadline: t0.Add(-time.Hour)}
		}, is: ErrValidation, field: "challenge_deadline"},
		{name: "terminal", by: idriss, given: destroyed, when: cmd(DisposalDestruction), rule: "exhibit.terminal"},
	})
}

func TestExhibit_Destroy(t *testing.T) {
	cmd := func(ws ...Witness) func(f *fx) Command {
		return func(f *fx) Command {
			return DestroyExhibit{ExhibitID: f.x, Method: "incineration", Site: "TGM incinerator", Witnesses: ws}
		}
	}
	ok := cmd(twoWitnesses...)
	run(t, stock(FrameworkCustoms), []tc{
		{name: "ok", by: karim, given: readyToDestroy, when: ok, want: []string{TypeExhibitDestroyed}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			if x := w.exhibit(f.x); x.Status() != StatusDestroyed || find[ExhibitDestroyed](t, d).PreWeightMg != bale-400_000_000 {
				t.Fatalf("status %s", x.Status())
			}
		}},
		{name: "no_order", by: karim, when: ok, rule: "disposal.not-authorised"},
		{name: "return_order", by: karim, given: authorise(DisposalReturn, 0), when: ok, rule: "disposal.not-authorised"},
		{name: "before_deadline", by: karim, given: func(w *world, f *fx) {
			readyToDestroy(w, f)
			w.now = t0.Add(23 * time.Hour) // the clock says the window is still open
		}, when: ok, rule: "disposal.challenge-pending"},
		{name: "backdated_before_deadline", by: karim, given: readyToDestroy, when: func(f *fx) Command {
			return DestroyExhibit{At: At{OccurredAt: t0.Add(23 * time.Hour)}, ExhibitID: f.x, Method: "incineration", Site: "s", Witnesses: twoWitnesses}
		}, rule: "disposal.challenge-pending"},
		{name: "no_pre_weighing", by: karim, given: func(w *world, f *fx) { authorise(DisposalDestruction, 0)(w, f) }, when: ok, rule: "disposal.no-pre-weighing"},
		{name: "weighing_before_order_does_not_count", by: karim, given: func(w *world, f *fx) {
			wg := weighing(bale-400_000_000, 5_000)
			wg.HolderPresent = true
			w.must(karim, WeighExhibit{ExhibitID: f.x, Purpose: PurposeControl, Weighing: wg})
			authorise(DisposalDestruction, 0)(w, f)
		}, when: ok, rule: "disposal.no-pre-weighing"},
		{name: "pre_weighing_voided_by_checkout", by: karim, given: func(w *world, f *fx) {
			readyToDestroy(w, f)
			checkedOut(w, f)
			w.must(karim, CheckIn{ExhibitID: f.x, Seal: SealSeen{Number: f.seal, Condition: SealIntact}})
		}, when: ok, rule: "disposal.no-pre-weighing"},
		{name: "pre_weighing_voided_by_opening", by: karim, given: func(w *world, f *fx) {
			readyToDestroy(w, f)
			w.must(karim, OpenSeal{ExhibitID: f.x, Purpose: "last sample", AuthorityRef: "ORD-2026-3310"})
			w.must(karim, ResealExhibit{ExhibitID: f.x, SealNumber: "MA-S-0099999"})
		}, when: ok, rule: "disposal.no-pre-weighing"},
		{name: "one_witness", by: karim, given: readyToDestroy, when: cmd(twoWitnesses[0]), rule: "disposal.witnesses"},
		{name: "same_witness_twice", by: karim, given: readyToDestroy, when: cmd(twoWitnesses[0], twoWitnesses[0]), rule: "witness.duplicate"},
		{name: "custodian_as_witness", by: karim, given: readyToDestroy, when: cmd(twoWitnesses[0], Witness{Ref: "karim", Kind: "official", Agency: karim.Agency}), rule: "witness.is-custodian"},
		{name: "case_hold", by: karim, given: func(w *world, f *fx) {
			readyToDestroy(w, f)
			w.must(idriss, PlaceHold{CaseID: f.c, Reason: "appeal"})
		}, when: ok, rule: "disposal.on-hold"},
		{name: "exhibit_hold", by: karim, given: func(w *world, f *fx) {
			readyToDestroy(w, f)
			w.must(idriss, PlaceHold{CaseID: f.c, ExhibitID: &f.x, Reason: "counter-expertise"})
		}, when: ok, rule: "disposal.on-hold"},
		{name: "open_discrepancy", by: karim, given: func(w *world, f *fx) {
			readyToDestroy(w, f)
			w.must(auditor, RaiseDiscrepancy{ExhibitID: f.x, Kind: DiscrepancyOther, Detail: "label torn"})
		}, when: ok, rule: "disposal.open-discrepancy"},
		{name: "checked_out", by: karim, given: func(w *world, f *fx) { readyToDestroy(w, f); checkedOut(w, f) }, when: ok, rule: "custody.checked-out"},
		{name: "not_custodian", by: paul, given: readyToDestroy, when: ok, is: ErrForbidden},
		{name: "officer_forbidden", by: nadia, given: readyToDestroy, when: ok, is: ErrForbidden},
		{name: "twice", by: karim, given: destroyed, when: ok, rule: "exhibit.terminal"},
		{name: "no_witness", by: karim, given: readyToDestroy, when: cmd(), is: ErrValidation, field: "witnesses"},
	})
}

func TestExhibit_DestroyUnderJudicialInformation(t *testing.T) {
	ok := func(f *fx) Command {
		return DestroyExhibit{ExhibitID: f.x, Method: "incineration", Site: "s", Witnesses: twoWitnesses}
	}
	run(t, stock(FrameworkJudicialInformation), []tc{
		{name: "no_retained_sample", by: karim, given: readyToDestroy, when: ok, rule: "disposal.no-retained-sample"},
		{name: "retained_sample", by: karim, given: func(w *world, f *fx) { f.sub = subSample(w, f.x, "MA-S-0091300"); readyToDestroy(w, f) }, when: ok,
			want: []string{TypeExhibitDestroyed}, check: func(t *testing.T, w *world, f *fx, d Decision) {
				if s := w.exhibit(f.sub); s.Status().Terminal() {
					t.Fatal("the retained sample must survive")
				}
			}},
		{name: "sample_seal_open", by: karim, given: func(w *world, f *fx) {
			f.sub = subSample(w, f.x, "MA-S-0091300")
			w.must(karim, OpenSeal{ExhibitID: f.sub, Purpose: "p", AuthorityRef: "a"})
			readyToDestroy(w, f)
		}, when: ok, rule: "disposal.no-retained-sample"},
		{name: "case_closed", by: karim, given: func(w *world, f *fx) {
			readyToDestroy(w, f)
			w.must(idriss, CloseCase{CaseID: f.c, Reason: "judgment final"})
		}, when: ok, want: []string{TypeExhibitDestroyed}},
	})
}

func TestExhibit_ReturnAndRelease(t *testing.T) {
	ret := func(f *fx) Command { return ReturnExhibit{ExhibitID: f.x, ReturnedTo: "OWNER-REF-9"} }
	rel := func(f *fx) Command {
		return ReleaseExhibit{ExhibitID: f.x, ReleasedTo: "HEALTH-AUTH", Reason: "medical use"}
	}
	past := func(method string) func(w *world, f *fx) {
		return func(w *world, f *fx) { authorise(method, time.Hour)(w, f); w.advance(2 * time.Hour) }
	}
	run(t, stock(FrameworkCustoms), []tc{
		{name: "return", by: karim, given: past(DisposalReturn), when: ret, want: []string{TypeExhibitReturned}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			if w.exhibit(f.x).Status() != StatusReturned {
				t.Fatal("not returned")
			}
		}},
		{name: "return_before_deadline", by: karim, given: authorise(DisposalReturn, time.Hour), when: ret, rule: "disposal.challenge-pending"},
		{name: "return_without_order", by: karim, when: ret, rule: "disposal.not-authorised"},
		{name: "return_on_hold", by: karim, given: func(w *world, f *fx) { past(DisposalReturn)(w, f); w.must(idriss, PlaceHold{CaseID: f.c, Reason: "r"}) }, when: ret, rule: "disposal.on-hold"},
		{name: "release", by: karim, given: past(DisposalRelease), when: rel, want: []string{TypeExhibitReleased}},
		{name: "release_with_destruction_order", by: karim, given: past(DisposalDestruction), when: rel, rule: "disposal.not-authorised"},
		{name: "release_no_reason", by: karim, given: past(DisposalRelease), when: func(f *fx) Command { return ReleaseExhibit{ExhibitID: f.x, ReleasedTo: "x"} }, is: ErrValidation, field: "reason"},
		{name: "annotate_after_terminal", by: karim, given: func(w *world, f *fx) { past(DisposalRelease)(w, f); w.must(karim, rel(f)) },
			when: func(f *fx) Command { return AddAnnotation{ExhibitID: f.x, Kind: "note", Text: "receipt filed"} }, want: []string{TypeAnnotationAdded}},
	})
}
