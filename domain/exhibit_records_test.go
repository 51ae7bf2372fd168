package domain

import (
	"testing"

	"github.com/google/uuid"
)

func TestExhibit_Discrepancy(t *testing.T) {
	raise := func(f *fx) Command {
		return RaiseDiscrepancy{ExhibitID: f.x, Kind: DiscrepancyOther, Detail: "label torn"}
	}
	raised := func(w *world, f *fx) { f.aux = find[DiscrepancyRaised](t, w.must(karim, raise(f))).DiscrepancyID }
	resolve := func(f *fx) Command {
		return ResolveDiscrepancy{ExhibitID: f.x, DiscrepancyID: f.aux, Resolution: "label replaced, photo attached"}
	}
	run(t, stock(FrameworkCustoms), []tc{
		{name: "raise", by: karim, when: raise, want: []string{TypeDiscrepancyRaised}},
		{name: "raise_by_auditor", by: auditor, when: raise, want: []string{TypeDiscrepancyRaised}},
		{name: "raise_not_holder", by: salma, when: raise, is: ErrForbidden},
		{name: "raise_unknown_kind", by: karim, when: func(f *fx) Command { return RaiseDiscrepancy{ExhibitID: f.x, Kind: "bad", Detail: "d"} }, is: ErrValidation, field: "kind"},
		{name: "raise_terminal", by: karim, given: destroyed, when: raise, rule: "exhibit.terminal"},
		{name: "resolve", by: karim, given: raised, when: resolve, want: []string{TypeDiscrepancyResolved}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			if len(w.exhibit(f.x).Discrepancies) != 0 {
				t.Fatal("discrepancy still open")
			}
		}},
		{name: "resolve_by_magistrate", by: idriss, given: raised, when: resolve, want: []string{TypeDiscrepancyResolved}},
		{name: "resolve_twice", by: karim, given: func(w *world, f *fx) { raised(w, f); w.must(karim, resolve(f)) }, when: resolve, is: ErrNotFound},
		{name: "resolve_by_officer", by: nadia, given: raised, when: resolve, is: ErrForbidden},
		{name: "resolve_without_explanation", by: karim, given: raised, when: func(f *fx) Command {
			return ResolveDiscrepancy{ExhibitID: f.x, DiscrepancyID: f.aux}
		}, is: ErrValidation, field: "resolution"},
	})
}

func TestExhibit_AuditInventory(t *testing.T) {
	found := func(loc string, seal string) func(f *fx) Command {
		return func(f *fx) Command {
			if seal == "" {
				seal = f.seal
			}
			return AuditInventory{ExhibitID: f.x, InventoryRef: "INV-2026-Q2", Found: true, Location: loc, Seal: &SealSeen{Number: seal, Condition: SealIntact}}
		}
	}
	lost := func(f *fx) Command { return AuditInventory{ExhibitID: f.x, InventoryRef: "INV-2026-Q2", Found: false} }
	run(t, stock(FrameworkCustoms), []tc{
		{name: "found", by: karim, when: found("TGM/MAGASIN-2/R3", ""), want: []string{TypeInventoryAudited}},
		{name: "by_auditor", by: auditor, when: found("TGM/MAGASIN-2/R3", ""), want: []string{TypeInventoryAudited}},
		{name: "elsewhere", by: karim, when: found("TGM/MAGASIN-9", ""), want: []string{TypeInventoryAudited, TypeDiscrepancyRaised},
			check: func(t *testing.T, w *world, f *fx, d Decision) {
				if find[DiscrepancyRaised](t, d).Kind != DiscrepancyLocation || w.exhibit(f.x).Custodian.Location != "TGM/MAGASIN-9" {
					t.Fatal("found elsewhere: a location discrepancy, and the record follows reality")
				}
			}},
		{name: "seal_mismatch", by: karim, when: found("", "MA-S-1"), want: []string{TypeInventoryAudited, TypeDiscrepancyRaised}},
		{name: "not_found", by: karim, when: lost, want: []string{TypeInventoryAudited, TypeDiscrepancyRaised}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			if x := w.exhibit(f.x); !x.Missing || find[DiscrepancyRaised](t, d).Kind != DiscrepancyMissing {
				t.Fatal("not found: flagged missing")
			}
		}},
		{name: "not_found_twice", by: karim, given: func(w *world, f *fx) { w.must(karim, lost(f)) }, when: lost, want: []string{TypeInventoryAudited}},
		{name: "found_again", by: karim, given: func(w *world, f *fx) { w.must(karim, lost(f)) }, when: found("TGM/MAGASIN-2/R3", ""), want: []string{TypeInventoryAudited},
			check: func(t *testing.T, w *world, f *fx, d Decision) {
				if w.exhibit(f.x).Missing {
					t.Fatal("found again: no longer missing")
				}
			}},
		{name: "not_found_with_seal", by: karim, when: func(f *fx) Command {
			return AuditInventory{ExhibitID: f.x, InventoryRef: "I", Seal: &SealSeen{Number: "S", Condition: SealIntact}}
		}, is: ErrValidation, field: "found"},
		{name: "checked_out", by: karim, given: checkedOut, when: lost, rule: "custody.checked-out"},
		{name: "officer_forbidden", by: nadia, when: lost, is: ErrForbidden},
		{name: "other_custodian", by: paul, when: lost, is: ErrForbidden},
	})
}

func TestExhibit_Annotate(t *testing.T) {
	note := func(f *fx) Command {
		return AddAnnotation{ExhibitID: f.x, Kind: "note", Text: "photo of the label added"}
	}
	run(t, stock(FrameworkCustoms), []tc{
		{name: "note", by: karim, when: note, want: []string{TypeAnnotationAdded}},
		{name: "by_magistrate", by: idriss, when: note, want: []string{TypeAnnotationAdded}},
		{name: "correction", by: nadia, when: func(f *fx) Command {
			return AddAnnotation{ExhibitID: f.x, Kind: "correction", Text: "label is 7 of 40, not 1 of 40", Refers: []uuid.UUID{uuid.New()}}
		}, want: []string{TypeAnnotationAdded}},
		{name: "correction_without_reference", by: nadia, when: func(f *fx) Command { return AddAnnotation{ExhibitID: f.x, Kind: "correction", Text: "t"} }, is: ErrValidation, field: "refers"},
		{name: "on_terminal", by: karim, given: destroyed, when: note, want: []string{TypeAnnotationAdded}},
		{name: "admin_forbidden", by: admin, when: note, is: ErrForbidden},
		{name: "non_participant", by: stranger, when: note, is: ErrForbidden},
		{name: "empty", by: karim, when: func(f *fx) Command { return AddAnnotation{ExhibitID: f.x, Kind: "note"} }, is: ErrValidation, field: "text"},
	})
}

// TestDecide_Principal: the principal is checked before anything else.
func TestDecide_Principal(t *testing.T) {
	run(t, stock(FrameworkCustoms), []tc{
		{name: "no_agency", by: Principal{User: "x", Roles: []Role{RoleOfficer}}, when: func(f *fx) Command { return AddAnnotation{ExhibitID: f.x, Kind: "note", Text: "t"} }, is: ErrForbidden},
		{name: "unknown_role", by: Principal{User: "x", Agency: "MA-DOUANE-TGM", Roles: []Role{"god"}}, when: func(f *fx) Command { return AddAnnotation{ExhibitID: f.x, Kind: "note", Text: "t"} }, is: ErrForbidden},
		{name: "no_role", by: Principal{User: "x", Agency: "MA-DOUANE-TGM"}, when: func(f *fx) Command { return AddAnnotation{ExhibitID: f.x, Kind: "note", Text: "t"} }, is: ErrForbidden},
	})
}
