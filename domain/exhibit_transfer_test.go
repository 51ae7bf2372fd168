package domain

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestExhibit_OfferTransfer(t *testing.T) {
	toLab := func(f *fx) Command {
		return OfferTransfer{ExhibitID: f.x, To: Party{Agency: "MA-LAB-CASA", Person: "salma"}, Purpose: "analysis"}
	}
	toFrance := func(authority string) func(f *fx) Command {
		return func(f *fx) Command {
			return OfferTransfer{ExhibitID: f.x, To: Party{Agency: "FR-DOUANE-MRS", Person: "claire"}, Purpose: "MLA", AuthorityRef: authority}
		}
	}
	frShared := func(w *world, f *fx) { share(w, f.c, "FR-DOUANE-MRS", "FR") }
	run(t, stock(FrameworkCustoms), []tc{
		{name: "ok", by: karim, when: toLab, want: []string{TypeTransferOffered}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			e := find[TransferOffered](t, d)
			x := w.exhibit(f.x)
			if x.Status() != StatusInTransfer || x.Custodian.Agency != karim.Agency || e.CrossBorder || e.SealNumber != f.seal || e.From.Person != "karim" {
				t.Fatalf("got %+v, status %s, custodian %v: custody must not move before acceptance", e, x.Status(), x.Custodian)
			}
		}},
		{name: "cross_border", by: karim, given: frShared, when: toFrance("EIM-2026-FR-MA-0088"), want: []string{TypeTransferOffered},
			check: func(t *testing.T, w *world, f *fx, d Decision) {
				if !find[TransferOffered](t, d).CrossBorder {
					t.Fatal("not marked cross-border")
				}
			}},
		{name: "cross_border_without_authority", by: karim, given: frShared, when: toFrance(""), rule: "transfer.authority-required"},
		{name: "wrong_agency", by: karim, when: toFrance("EIM-2026-FR-MA-0088"), rule: "transfer.receiver-not-participant"},
		{name: "to_self", by: karim, when: func(f *fx) Command {
			return OfferTransfer{ExhibitID: f.x, To: Party{Agency: karim.Agency, Person: "karim", Location: "TGM/MAGASIN-2/R3"}, Purpose: "x"}
		}, rule: "transfer.to-self"},
		{name: "to_a_location", by: karim, when: func(f *fx) Command {
			return OfferTransfer{ExhibitID: f.x, To: Party{Agency: karim.Agency, Location: "TGM/VAULT-1"}, Purpose: "move"}
		}, want: []string{TypeTransferOffered}},
		{name: "second_while_pending", by: karim, given: pending, when: toLab, rule: "custody.pending-transfer"},
		{name: "not_custodian", by: salma, when: toLab, is: ErrForbidden},
		{name: "same_agency_officer_may_offer", by: nadia, when: toLab, want: []string{TypeTransferOffered}},
		{name: "magistrate_forbidden", by: idriss, when: toLab, is: ErrForbidden},
		{name: "checked_out", by: karim, given: checkedOut, when: toLab, rule: "custody.checked-out"},
		{name: "unsealed", by: nadia, given: func(w *world, f *fx) {
			f.x = find[SeizureRecorded](t, w.must(nadia, seizureCmd(f.c, 1, false))).ExhibitIDs[0]
		}, when: toLab, rule: "seal.not-sealed"},
		{name: "missing", by: karim, given: func(w *world, f *fx) {
			w.must(karim, AuditInventory{ExhibitID: f.x, InventoryRef: "INV-1", Found: false})
		}, when: toLab, rule: "exhibit.missing"},
		{name: "terminal", by: karim, given: destroyed, when: toLab, rule: "exhibit.terminal"},
		{name: "no_purpose", by: karim, when: func(f *fx) Command { return OfferTransfer{ExhibitID: f.x, To: Party{Agency: "MA-LAB-CASA"}} }, is: ErrValidation, field: "purpose"},
		{name: "no_receiver", by: karim, when: func(f *fx) Command { return OfferTransfer{ExhibitID: f.x, Purpose: "p"} }, is: ErrValidation, field: "to.agency"},
		{name: "revoked_holder_hands_back", by: claire, given: func(w *world, f *fx) {
			frShared(w, f)
			offerAccept(w, karim, claire, f.x, "EIM-2026-FR-MA-0088")
			w.must(idriss, RevokeCaseSharing{CaseID: f.c, Agency: "FR-DOUANE-MRS", Reason: "MLA closed"})
		}, when: func(f *fx) Command {
			return OfferTransfer{ExhibitID: f.x, To: Party{Agency: karim.Agency, Person: "karim"}, Purpose: "return", AuthorityRef: "EIM-2026-FR-MA-0088"}
		}, want: []string{TypeTransferOffered}},
	})
}

func TestExhibit_AcceptTransfer(t *testing.T) {
	accept := func(number string, w *WeightSeen) func(f *fx) Command {
		return func(f *fx) Command {
			if number == "" {
				number = f.seal
			}
			return AcceptTransfer{ExhibitID: f.x, TransferID: f.tid, Seal: SealSeen{Number: number, Condition: SealIntact}, Weight: w}
		}
	}
	run(t, stock(FrameworkCustoms), []tc{
		{name: "ok", by: salma, given: pending, when: accept("", &WeightSeen{GrossMg: bale + 3_000, UncertaintyMg: 2_000}), want: []string{TypeTransferAccepted},
			check: func(t *testing.T, w *world, f *fx, d Decision) {
				x := w.exhibit(f.x)
				if x.Custodian.Agency != "MA-LAB-CASA" || x.Custodian.Person != "salma" || x.Pending != nil || x.Status() != StatusInCustody {
					t.Fatalf("custody %v pending %v", x.Custodian, x.Pending)
				}
			}},
		{name: "seal_mismatch", by: salma, given: pending, when: accept("MA-S-0000001", nil), want: []string{TypeTransferAccepted, TypeDiscrepancyRaised},
			check: func(t *testing.T, w *world, f *fx, d Decision) {
				x := w.exhibit(f.x)
				if x.Custodian.Agency != "MA-LAB-CASA" || !x.SealBroken || len(x.Discrepancies) != 1 {
					t.Fatal("a seal mismatch is recorded as received, flags the seal and opens a discrepancy")
				}
			}},
		{name: "weight_mismatch", by: salma, given: pending, when: accept("", &WeightSeen{GrossMg: bale - 2_000_000, UncertaintyMg: 2_000}), want: []string{TypeTransferAccepted, TypeDiscrepancyRaised}},
		{name: "seal_and_weight_mismatch", by: salma, given: pending, when: accept("X", &WeightSeen{GrossMg: bale / 2}), want: []string{TypeTransferAccepted, TypeDiscrepancyRaised, TypeDiscrepancyRaised}},
		{name: "not_named_person", by: Principal{User: "omar", Agency: "MA-LAB-CASA", Roles: []Role{RoleAnalyst}}, given: pending, when: accept("", nil), is: ErrForbidden},
		{name: "not_receiving_agency", by: paul, given: pending, when: accept("", nil), is: ErrForbidden},
		{name: "sender_cannot_accept", by: karim, given: pending, when: accept("", nil), is: ErrForbidden},
		{name: "unknown_transfer", by: salma, given: pending, when: func(f *fx) Command {
			return AcceptTransfer{ExhibitID: f.x, TransferID: uuid.New(), Seal: SealSeen{Number: f.seal, Condition: SealIntact}}
		}, is: ErrNotFound},
		{name: "no_pending", by: salma, given: func(w *world, f *fx) { f.tid = uuid.New() }, when: accept("", nil), is: ErrNotFound},
		{name: "receiver_revoked_meanwhile", by: salma, given: func(w *world, f *fx) {
			pending(w, f)
			w.must(idriss, RevokeCaseSharing{CaseID: f.c, Agency: "MA-LAB-CASA", Reason: "r"})
		}, when: accept("", nil), rule: "transfer.receiver-not-participant"},
		{name: "no_seal_seen", by: salma, given: pending, when: func(f *fx) Command { return AcceptTransfer{ExhibitID: f.x, TransferID: f.tid} }, is: ErrValidation, field: "seal.condition"},
		{name: "before_registration", by: salma, given: pending, when: func(f *fx) Command {
			return AcceptTransfer{At: At{OccurredAt: t0.Add(-24 * time.Hour)}, ExhibitID: f.x, TransferID: f.tid, Seal: SealSeen{Number: f.seal, Condition: SealIntact}}
		}, rule: "time.before-registration"},
	})
}

func TestExhibit_RejectAndCancelTransfer(t *testing.T) {
	reject := func(f *fx) Command { return RejectTransfer{ExhibitID: f.x, TransferID: f.tid, Reason: "not our case"} }
	cancel := func(f *fx) Command { return CancelTransfer{ExhibitID: f.x, TransferID: f.tid, Reason: "wrong lab"} }
	back := func(t *testing.T, w *world, f *fx, d Decision) {
		if x := w.exhibit(f.x); x.Pending != nil || x.Custodian.Agency != karim.Agency || x.Status() != StatusInCustody {
			t.Fatalf("custody %v pending %v", x.Custodian, x.Pending)
		}
	}
	run(t, stock(FrameworkCustoms), []tc{
		{name: "reject", by: salma, given: pending, when: reject, want: []string{TypeTransferRejected}, check: back},
		{name: "reject_not_receiver", by: karim, given: pending, when: reject, is: ErrForbidden},
		{name: "reject_without_reason", by: salma, given: pending, when: func(f *fx) Command { return RejectTransfer{ExhibitID: f.x, TransferID: f.tid} }, is: ErrValidation, field: "reason"},
		{name: "reject_nothing_pending", by: salma, given: func(w *world, f *fx) { f.tid = uuid.New() }, when: reject, is: ErrNotFound},
		{name: "cancel", by: karim, given: pending, when: cancel, want: []string{TypeTransferCancelled}, check: back},
		{name: "cancel_by_same_agency_officer", by: nadia, given: pending, when: cancel, want: []string{TypeTransferCancelled}},
		{name: "cancel_by_receiver", by: salma, given: pending, when: cancel, is: ErrForbidden},
		{name: "cancel_after_accept", by: karim, given: func(w *world, f *fx) {
			pending(w, f)
			w.must(salma, AcceptTransfer{ExhibitID: f.x, TransferID: f.tid, Seal: SealSeen{Number: f.seal, Condition: SealIntact}})
		}, when: cancel, is: ErrNotFound},
	})
}

func TestExhibit_CheckOutAndIn(t *testing.T) {
	out := func(f *fx) Command {
		return CheckOut{ExhibitID: f.x, To: Party{Agency: "MA-PARQUET-TNG", Location: "Tangier court"}, Purpose: "hearing", DueAt: t0.Add(48 * time.Hour)}
	}
	in := func(number string, w *WeightSeen) func(f *fx) Command {
		return func(f *fx) Command {
			if number == "" {
				number = f.seal
			}
			return CheckIn{ExhibitID: f.x, Seal: SealSeen{Number: number, Condition: SealIntact}, Weight: w, Location: "TGM/MAGASIN-2/R3"}
		}
	}
	run(t, stock(FrameworkCustoms), []tc{
		{name: "out", by: karim, when: out, want: []string{TypeCheckedOut}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			x := w.exhibit(f.x)
			if x.Status() != StatusCheckedOut || x.Custodian.Agency != karim.Agency || x.Holder() != "MA-PARQUET-TNG" {
				t.Fatalf("status %s custodian %v holder %s", x.Status(), x.Custodian, x.Holder())
			}
			if x.Overdue(t0.Add(47*time.Hour)) || !x.Overdue(t0.Add(49*time.Hour)) {
				t.Fatal("overdue must turn true after the due date")
			}
		}},
		{name: "out_twice", by: karim, given: checkedOut, when: out, rule: "custody.checked-out"},
		{name: "out_pending", by: karim, given: pending, when: out, rule: "custody.pending-transfer"},
		{name: "out_due_in_past", by: karim, when: func(f *fx) Command {
			return CheckOut{ExhibitID: f.x, To: Party{Agency: "MA-PARQUET-TNG"}, Purpose: "hearing", DueAt: t0.Add(-time.Hour)}
		}, is: ErrValidation, field: "due_at"},
		{name: "out_no_purpose", by: karim, when: func(f *fx) Command {
			return CheckOut{ExhibitID: f.x, To: Party{Agency: "MA-PARQUET-TNG"}, DueAt: t0.Add(time.Hour)}
		}, is: ErrValidation, field: "purpose"},
		{name: "out_non_participant", by: karim, when: func(f *fx) Command {
			return CheckOut{ExhibitID: f.x, To: Party{Agency: "FR-LAB-MRS"}, Purpose: "x", DueAt: t0.Add(time.Hour)}
		}, rule: "checkout.receiver-not-participant"},
		{name: "out_by_officer", by: nadia, when: out, is: ErrForbidden},
		{name: "in", by: karim, given: checkedOut, when: in("", &WeightSeen{GrossMg: bale, UncertaintyMg: 5_000}), want: []string{TypeCheckedIn},
			check: func(t *testing.T, w *world, f *fx, d Decision) {
				x := w.exhibit(f.x)
				if x.Checkout != nil || x.Status() != StatusInCustody || find[CheckedIn](t, d).Late {
					t.Fatalf("status %s", x.Status())
				}
			}},
		{name: "in_late", by: karim, given: func(w *world, f *fx) { checkedOut(w, f); w.advance(72 * time.Hour) }, when: in("", nil), want: []string{TypeCheckedIn},
			check: func(t *testing.T, w *world, f *fx, d Decision) {
				if !find[CheckedIn](t, d).Late {
					t.Fatal("a return after the due date is late")
				}
			}},
		{name: "in_seal_mismatch", by: karim, given: checkedOut, when: in("MA-S-1", nil), want: []string{TypeCheckedIn, TypeDiscrepancyRaised}},
		{name: "in_weight_mismatch", by: karim, given: checkedOut, when: in("", &WeightSeen{GrossMg: bale - 100_000_000}), want: []string{TypeCheckedIn, TypeDiscrepancyRaised}},
		{name: "in_not_out", by: karim, when: in("", nil), rule: "checkout.none"},
		{name: "in_by_borrower", by: idriss, given: checkedOut, when: in("", nil), is: ErrForbidden},
	})
}
