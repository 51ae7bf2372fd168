package domain

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// unsealed: a case with a seizure of two exhibits neither sealed nor weighed.
func unsealed(t *testing.T) (*world, *fx) {
	w := newWorld(t)
	c := openCase(w, FrameworkCustoms)
	d := w.must(nadia, seizureCmd(c, 2, false))
	ids := find[SeizureRecorded](t, d).ExhibitIDs
	return w, &fx{c: c, ids: ids, x: ids[0]}
}

func weighing(netMg, uncMg int64) Weighing {
	return Weighing{GrossMg: netMg + 400_000_000, NetMg: netMg, TareMg: 400_000_000, UncertaintyMg: uncMg, ScaleID: "TGM-SC-04", CalibrationRef: "CAL-2026-117"}
}

func TestExhibit_Seal(t *testing.T) {
	cmd := func(f *fx) Command { return SealExhibit{ExhibitID: f.x, SealNumber: "MA-S-0091201"} }
	run(t, unsealed, []tc{
		{name: "ok", by: youssef, when: cmd, want: []string{TypeExhibitSealed}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			if x := w.exhibit(f.x); x.Seal != "MA-S-0091201" || x.Status() != StatusSealed {
				t.Fatalf("got seal %q status %s", x.Seal, x.Status())
			}
		}},
		{name: "already_sealed", by: nadia, given: func(w *world, f *fx) { w.must(nadia, cmd(f)) }, when: cmd, rule: "seal.already-sealed"},
		{name: "other_agency", by: salma, when: cmd, is: ErrForbidden},
		{name: "magistrate_forbidden", by: idriss, when: cmd, is: ErrForbidden},
		{name: "unknown_exhibit", by: nadia, when: func(*fx) Command { return SealExhibit{ExhibitID: uuid.New(), SealNumber: "S"} }, is: ErrNotFound},
		{name: "before_registration", by: nadia, when: func(f *fx) Command {
			return SealExhibit{At: At{OccurredAt: t0.Add(-3 * time.Hour)}, ExhibitID: f.x, SealNumber: "S"}
		}, rule: "time.before-registration"},
		{name: "no_seal_number", by: nadia, when: func(f *fx) Command { return SealExhibit{ExhibitID: f.x} }, is: ErrValidation, field: "seal_number"},
		{name: "no_exhibit_id", by: nadia, when: func(f *fx) Command { return SealExhibit{SealNumber: "S"} }, is: ErrValidation, field: "exhibit_id"},
	})
}

func TestExhibit_Weigh(t *testing.T) {
	net := int64(bale - 400_000_000)
	cmd := func(netMg int64) func(f *fx) Command {
		return func(f *fx) Command {
			return WeighExhibit{ExhibitID: f.x, Purpose: PurposeControl, Weighing: weighing(netMg, 5_000)}
		}
	}
	run(t, stock(FrameworkCustoms), []tc{
		{name: "ok", by: karim, when: cmd(net + 7_000), want: []string{TypeExhibitWeighed}},
		{name: "mismatch_raises_discrepancy", by: karim, when: cmd(net - 1_000_000), want: []string{TypeExhibitWeighed, TypeDiscrepancyRaised},
			check: func(t *testing.T, w *world, f *fx, d Decision) {
				dr := find[DiscrepancyRaised](t, d)
				if dr.Kind != DiscrepancyWeight || !dr.Automatic || dr.ExpectedMg != net || dr.ObservedMg != net-1_000_000 || dr.ToleranceMg != 7072 {
					t.Fatalf("got %+v", dr)
				}
				if *dr.CauseEventID != d.Appends[0].Events[0].ID || len(d.Appends) != 1 {
					t.Fatal("the discrepancy must be in the weighing's append and name it")
				}
				x := w.exhibit(f.x)
				if len(x.Discrepancies) != 1 || x.Mass.NetMg != net-1_000_000 {
					t.Fatalf("got %d discrepancies, mass %+v: the record reflects the weighing", len(x.Discrepancies), x.Mass)
				}
			}},
		{name: "just_outside_tolerance", by: karim, when: cmd(net + 7_073), want: []string{TypeExhibitWeighed, TypeDiscrepancyRaised}},
		{name: "just_inside_tolerance", by: karim, when: cmd(net - 7_072), want: []string{TypeExhibitWeighed}},
		{name: "after_sub_sample", by: karim, given: func(w *world, f *fx) { subSample(w, f.x, "MA-S-0091300") }, when: cmd(net - 20_000), want: []string{TypeExhibitWeighed}},
		{name: "sub_sample_not_accounted", by: karim, given: func(w *world, f *fx) { subSample(w, f.x, "MA-S-0091300") }, when: cmd(net), want: []string{TypeExhibitWeighed, TypeDiscrepancyRaised}},
		{name: "gross_not_net_plus_tare", by: karim, when: func(f *fx) Command {
			wg := weighing(net, 5_000)
			wg.GrossMg++
			return WeighExhibit{ExhibitID: f.x, Purpose: PurposeControl, Weighing: wg}
		}, is: ErrValidation, field: "weighing.gross_mg"},
		{name: "no_scale", by: karim, when: func(f *fx) Command {
			wg := weighing(net, 5_000)
			wg.ScaleID = ""
			return WeighExhibit{ExhibitID: f.x, Purpose: PurposeControl, Weighing: wg}
		}, is: ErrValidation, field: "weighing.scale_id"},
		{name: "not_holder", by: nadia, given: func(w *world, f *fx) { offerAccept(w, karim, salma, f.x, "") }, when: cmd(net), is: ErrForbidden},
		{name: "pending_transfer", by: karim, given: func(w *world, f *fx) {
			w.must(karim, OfferTransfer{ExhibitID: f.x, To: Party{Agency: "MA-LAB-CASA"}, Purpose: "analysis"})
		}, when: cmd(net), rule: "custody.pending-transfer"},
		{name: "pre_destruction_without_order", by: karim, when: func(f *fx) Command {
			return WeighExhibit{ExhibitID: f.x, Purpose: PurposePreDestruction, Weighing: weighing(net, 5_000)}
		}, rule: "disposal.not-authorised"},
		{name: "pre_destruction_one_outside_witness", by: karim, given: authorise(DisposalDestruction, 0), when: func(f *fx) Command {
			wg := weighing(net, 5_000)
			wg.Witnesses = []Witness{{Ref: "W-1", Kind: "official", Agency: "MA-GENDARMERIE"}, {Ref: "W-2", Kind: "official", Agency: "MA-DOUANE-TGM"}}
			return WeighExhibit{ExhibitID: f.x, Purpose: PurposePreDestruction, Weighing: wg}
		}, rule: "disposal.weighing-witnesses"},
		{name: "pre_destruction_holder_present", by: karim, given: authorise(DisposalDestruction, 0), when: func(f *fx) Command {
			wg := weighing(net, 5_000)
			wg.HolderPresent = true
			return WeighExhibit{ExhibitID: f.x, Purpose: PurposePreDestruction, Weighing: wg}
		}, want: []string{TypeExhibitWeighed}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			if w.exhibit(f.x).PreDestruction == nil {
				t.Fatal("pre-destruction weighing not recorded")
			}
		}},
		{name: "witness_is_custodian", by: karim, when: func(f *fx) Command {
			wg := weighing(net, 5_000)
			wg.Witnesses = []Witness{{Ref: "karim", Kind: "official", Agency: "MA-DOUANE-TGM"}}
			return WeighExhibit{ExhibitID: f.x, Purpose: PurposeControl, Weighing: wg}
		}, rule: "witness.is-custodian"},
		{name: "terminal", by: karim, given: destroyed, when: cmd(net), rule: "exhibit.terminal"},
		{name: "first_weighing_after_gross_seen", by: karim, given: func(w *world, f *fx) {
			// Never weighed, but a gross weight was seen on handover: the
			// first weighing has no net reference and raises nothing.
			f.x = find[SeizureRecorded](t, w.must(nadia, seizureCmd(f.c, 1, false))).ExhibitIDs[0]
			w.must(nadia, SealExhibit{ExhibitID: f.x, SealNumber: "MA-S-7"})
			d := w.must(nadia, OfferTransfer{ExhibitID: f.x, To: Party{Agency: karim.Agency, Person: "karim"}, Purpose: "storage"})
			w.must(karim, AcceptTransfer{ExhibitID: f.x, TransferID: find[TransferOffered](t, d).TransferID,
				Seal: SealSeen{Number: "MA-S-7", Condition: SealIntact}, Weight: &WeightSeen{GrossMg: bale, UncertaintyMg: 5_000}})
		}, when: cmd(net), want: []string{TypeExhibitWeighed}},
		{name: "first_weighing_contradicts_gross_seen", by: karim, given: func(w *world, f *fx) {
			f.x = find[SeizureRecorded](t, w.must(nadia, seizureCmd(f.c, 1, false))).ExhibitIDs[0]
			w.must(nadia, SealExhibit{ExhibitID: f.x, SealNumber: "MA-S-7"})
			d := w.must(nadia, OfferTransfer{ExhibitID: f.x, To: Party{Agency: karim.Agency, Person: "karim"}, Purpose: "storage"})
			w.must(karim, AcceptTransfer{ExhibitID: f.x, TransferID: find[TransferOffered](t, d).TransferID,
				Seal: SealSeen{Number: "MA-S-7", Condition: SealIntact}, Weight: &WeightSeen{GrossMg: bale, UncertaintyMg: 5_000}})
		}, when: cmd(net - 1_000_000), want: []string{TypeExhibitWeighed, TypeDiscrepancyRaised}},
	})
}

func TestExhibit_InspectSeal(t *testing.T) {
	cmd := func(number string, cond SealCondition) func(f *fx) Command {
		return func(f *fx) Command {
			if number == "" {
				number = f.seal
			}
			return InspectSeal{ExhibitID: f.x, Seal: SealSeen{Number: number, Condition: cond}}
		}
	}
	run(t, stock(FrameworkCustoms), []tc{
		{name: "ok", by: karim, when: cmd("", SealIntact), want: []string{TypeSealInspected}},
		{name: "by_auditor", by: auditor, when: cmd("", SealIntact), want: []string{TypeSealInspected}},
		{name: "other_seal", by: karim, when: cmd("MA-S-9999999", SealIntact), want: []string{TypeSealInspected, TypeDiscrepancyRaised},
			check: func(t *testing.T, w *world, f *fx, d Decision) {
				dr := find[DiscrepancyRaised](t, d)
				if dr.Kind != DiscrepancySeal || dr.ExpectedSeal != f.seal || dr.ObservedSeal != "MA-S-9999999" {
					t.Fatalf("got %+v", dr)
				}
				if !w.exhibit(f.x).SealBroken {
					t.Fatal("seal not flagged broken")
				}
			}},
		{name: "damaged", by: karim, when: cmd("", SealDamaged), want: []string{TypeSealInspected, TypeDiscrepancyRaised}},
		{name: "missing_seal", by: karim, when: func(f *fx) Command { return InspectSeal{ExhibitID: f.x, Seal: SealSeen{Condition: SealMissing}} }, want: []string{TypeSealInspected, TypeDiscrepancyRaised}},
		{name: "no_number_when_intact", by: karim, when: func(f *fx) Command { return InspectSeal{ExhibitID: f.x, Seal: SealSeen{Condition: SealIntact}} }, is: ErrValidation, field: "seal.number"},
		{name: "bad_condition", by: karim, when: cmd("", "fine"), is: ErrValidation, field: "seal.condition"},
		{name: "foreign_auditor", by: Principal{User: "x", Agency: "FR-IGF", Roles: []Role{RoleAuditor}}, when: cmd("", SealIntact), is: ErrForbidden},
		{name: "never_sealed", by: nadia, given: func(w *world, f *fx) {
			f.x = find[SeizureRecorded](t, w.must(nadia, seizureCmd(f.c, 1, false))).ExhibitIDs[0]
		}, when: func(f *fx) Command {
			return InspectSeal{ExhibitID: f.x, Seal: SealSeen{Number: "S", Condition: SealIntact}}
		}, rule: "seal.not-sealed"},
	})
}

func TestExhibit_OpenAndReseal(t *testing.T) {
	open := func(f *fx) Command { return OpenSeal{ExhibitID: f.x, Purpose: "sampling", AuthorityRef: "REQ-1"} }
	reseal := func(f *fx) Command { return ResealExhibit{ExhibitID: f.x, SealNumber: "MA-S-0091999"} }
	opened := func(w *world, f *fx) { w.must(karim, open(f)) }
	run(t, stock(FrameworkCustoms), []tc{
		{name: "open", by: karim, when: open, want: []string{TypeSealOpened}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			if e := find[SealOpened](t, d); e.SealNumber != f.seal {
				t.Fatalf("opened %q, want %q", e.SealNumber, f.seal)
			}
		}},
		{name: "open_twice", by: karim, given: opened, when: open, rule: "seal.open"},
		{name: "open_without_authority", by: karim, when: func(f *fx) Command { return OpenSeal{ExhibitID: f.x, Purpose: "p"} }, is: ErrValidation, field: "authority_ref"},
		{name: "open_not_holder", by: salma, when: open, is: ErrForbidden},
		{name: "reseal", by: karim, given: opened, when: reseal, want: []string{TypeExhibitResealed}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			x := w.exhibit(f.x)
			if x.Seal != "MA-S-0091999" || x.SealOpen || find[ExhibitResealed](t, d).PreviousSeal != f.seal {
				t.Fatalf("got seal %q open %v", x.Seal, x.SealOpen)
			}
		}},
		{name: "reseal_clears_broken", by: karim, given: func(w *world, f *fx) {
			w.must(karim, InspectSeal{ExhibitID: f.x, Seal: SealSeen{Number: f.seal, Condition: SealDamaged}})
			opened(w, f)
		}, when: reseal, want: []string{TypeExhibitResealed}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			if w.exhibit(f.x).SealBroken {
				t.Fatal("a new seal is not broken")
			}
		}},
		{name: "reseal_not_open", by: karim, when: reseal, rule: "seal.not-open"},
		{name: "reseal_same_seal", by: karim, given: opened, when: func(f *fx) Command { return ResealExhibit{ExhibitID: f.x, SealNumber: f.seal} }, rule: "seal.reused"},
		{name: "transfer_while_open", by: karim, given: opened, when: func(f *fx) Command {
			return OfferTransfer{ExhibitID: f.x, To: Party{Agency: "MA-LAB-CASA"}, Purpose: "analysis"}
		}, rule: "seal.open"},
	})
}

func TestExhibit_Store(t *testing.T) {
	cmd := func(f *fx) Command { return StoreExhibit{ExhibitID: f.x, Location: "TGM/MAGASIN-1/R1"} }
	run(t, stock(FrameworkCustoms), []tc{
		{name: "ok", by: karim, when: cmd, want: []string{TypeExhibitStored}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			if x := w.exhibit(f.x); x.Custodian.Location != "TGM/MAGASIN-1/R1" || x.Status() != StatusInCustody {
				t.Fatalf("got %+v %s", x.Custodian, x.Status())
			}
		}},
		{name: "analyst_forbidden", by: Principal{User: "z", Agency: karim.Agency, Roles: []Role{RoleAnalyst}}, when: cmd, is: ErrForbidden},
		{name: "other_agency", by: paul, when: cmd, is: ErrForbidden},
		{name: "checked_out", by: karim, given: checkedOut, when: cmd, rule: "custody.checked-out"},
		{name: "pending", by: karim, given: pending, when: cmd, rule: "custody.pending-transfer"},
		{name: "no_location", by: karim, when: func(f *fx) Command { return StoreExhibit{ExhibitID: f.x} }, is: ErrValidation, field: "location"},
	})
}

// pending: a transfer of f.x from Karim to the Casablanca lab is pending.
func pending(w *world, f *fx) {
	d := w.must(karim, OfferTransfer{ExhibitID: f.x, To: Party{Agency: "MA-LAB-CASA", Person: "salma"}, Purpose: "analysis"})
	f.tid = find[TransferOffered](w.tb, d).TransferID
}

// checkedOut: f.x is checked out to the Tangier prosecutor's office (court).
func checkedOut(w *world, f *fx) {
	w.must(karim, CheckOut{ExhibitID: f.x, To: Party{Agency: "MA-PARQUET-TNG", Location: "Tangier court, room 2"}, Purpose: "hearing", DueAt: w.now.Add(48 * time.Hour)})
}

// authorise: a disposal order for f.x by Idriss, challengeable for window.
func authorise(method string, window time.Duration) func(w *world, f *fx) {
	return func(w *world, f *fx) {
		w.must(idriss, AuthoriseDisposal{ExhibitID: f.x, OrderRef: "ORD-2026-3310", Method: method, NotifiedAt: w.now, ChallengeDeadline: w.now.Add(window)})
	}
}

// readyToDestroy: an order past its deadline and a witnessed pre-destruction
// weighing.
func readyToDestroy(w *world, f *fx) {
	authorise(DisposalDestruction, 24*time.Hour)(w, f)
	w.advance(25 * time.Hour)
	wg := weighing(w.exhibit(f.x).Mass.NetMg, 5_000)
	wg.Witnesses = []Witness{{Ref: "W-1", Kind: "official", Agency: "MA-GENDARMERIE"}, {Ref: "W-2", Kind: "official", Agency: "MA-SANTE"}}
	w.must(karim, WeighExhibit{ExhibitID: f.x, Purpose: PurposePreDestruction, Weighing: wg})
}

var twoWitnesses = []Witness{{Ref: "W-1", Kind: "official", Agency: "MA-GENDARMERIE"}, {Ref: "W-3", Kind: "official", Agency: "MA-DOUANE-TGM"}}

func destroyed(w *world, f *fx) {
	readyToDestroy(w, f)
	w.must(karim, DestroyExhibit{ExhibitID: f.x, Method: "incineration", Site: "TGM incinerator", Witnesses: twoWitnesses})
}
