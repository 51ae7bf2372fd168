package domain

import (
	"testing"

	"github.com/google/uuid"
)

func emptyCase(framework LegalFramework) base {
	return func(t *testing.T) (*world, *fx) {
		w := newWorld(t)
		return w, &fx{c: openCase(w, framework)}
	}
}

func TestCase_Open(t *testing.T) {
	ok := OpenCase{Reference: "MA-TGM-2026-0412", Country: "MA", LegalFramework: FrameworkCustoms, SupervisingAgency: "MA-PARQUET-TNG"}
	run(t, func(t *testing.T) (*world, *fx) { return newWorld(t), &fx{} }, []tc{
		{name: "ok", by: nadia, when: func(*fx) Command { return ok }, want: []string{TypeCaseOpened},
			check: func(t *testing.T, w *world, f *fx, d Decision) {
				e := find[CaseOpened](t, d)
				if e.OwnerAgency != nadia.Agency || d.Role != RoleOfficer || d.Appends[0].ExpectedRevision != NoStream {
					t.Fatalf("got %+v role %s, want owner %s, role officer, new stream", e, d.Role, nadia.Agency)
				}
				c := w.caseState(e.CaseID)
				if !c.Participant("MA-PARQUET-TNG") || c.Participant("FR-JI-MRS") {
					t.Fatalf("participants %v", c.Participants())
				}
			}},
		{name: "by_magistrate", by: idriss, when: func(*fx) Command { return ok }, want: []string{TypeCaseOpened}},
		{name: "analyst_forbidden", by: salma, when: func(*fx) Command { return ok }, is: ErrForbidden},
		{name: "admin_forbidden", by: admin, when: func(*fx) Command { return ok }, is: ErrForbidden},
		{name: "unknown_framework", by: nadia, when: func(*fx) Command { c := ok; c.LegalFramework = "martial"; return c }, is: ErrValidation, field: "legal_framework"},
		{name: "no_reference", by: nadia, when: func(*fx) Command { c := ok; c.Reference = ""; return c }, is: ErrValidation, field: "reference"},
		{name: "bad_country", by: nadia, when: func(*fx) Command { c := ok; c.Country = "Morocco"; return c }, is: ErrValidation, field: "country"},
		{name: "occurred_in_future", by: nadia, when: func(*fx) Command { c := ok; c.OccurredAt = t0.Add(DefaultMaxClockSkew + 1); return c }, is: ErrValidation, field: "occurred_at"},
		{name: "occurred_within_skew", by: nadia, when: func(*fx) Command { c := ok; c.OccurredAt = t0.Add(DefaultMaxClockSkew); return c }, want: []string{TypeCaseOpened}},
	})
}

func TestCase_Share(t *testing.T) {
	cmd := func(f *fx) Command {
		return ShareCase{CaseID: f.c, Agency: "FR-JI-MRS", Country: "FR", LegalBasis: "MLA request", AuthorityRef: "EIM-2026-FR-MA-0088"}
	}
	run(t, emptyCase(FrameworkCustoms), []tc{
		{name: "ok", by: idriss, when: cmd, want: []string{TypeCaseShared}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			c := w.caseState(f.c)
			if !c.Participant("FR-JI-MRS") {
				t.Fatal("FR-JI-MRS does not participate after sharing")
			}
			if got, _ := c.CountryOf("FR-JI-MRS"); got != "FR" {
				t.Fatalf("got country %q, want FR", got)
			}
		}},
		{name: "by_shared_magistrate", given: func(w *world, f *fx) { share(w, f.c, "FR-JI-MRS", "FR") }, by: helene,
			when: func(f *fx) Command {
				return ShareCase{CaseID: f.c, Agency: "FR-LAB-MRS", Country: "FR", LegalBasis: "expertise order"}
			}, want: []string{TypeCaseShared}},
		{name: "officer_forbidden", by: nadia, when: cmd, is: ErrForbidden},
		{name: "non_participant_magistrate", by: helene, when: cmd, is: ErrForbidden},
		{name: "already_participant", given: func(w *world, f *fx) { share(w, f.c, "FR-JI-MRS", "FR") }, by: idriss, when: cmd, rule: "case.already-participant"},
		{name: "owner_is_participant", by: idriss, when: func(f *fx) Command {
			return ShareCase{CaseID: f.c, Agency: "MA-DOUANE-TGM", Country: "MA", LegalBasis: "x"}
		}, rule: "case.already-participant"},
		{name: "closed", given: func(w *world, f *fx) { w.must(idriss, CloseCase{CaseID: f.c, Reason: "done"}) }, by: idriss, when: cmd, rule: "case.closed"},
		{name: "case_not_found", by: idriss, when: func(*fx) Command {
			return ShareCase{CaseID: uuid.New(), Agency: "FR-JI-MRS", Country: "FR", LegalBasis: "x"}
		}, is: ErrNotFound},
		{name: "no_legal_basis", by: idriss, when: func(f *fx) Command {
			return ShareCase{CaseID: f.c, Agency: "FR-JI-MRS", Country: "FR"}
		}, is: ErrValidation, field: "legal_basis"},
	})
}

func TestCase_RevokeSharing(t *testing.T) {
	shared := func(t *testing.T) (*world, *fx) {
		w, f := emptyCase(FrameworkCustoms)(t)
		share(w, f.c, "FR-JI-MRS", "FR")
		w.must(helene, ShareCase{CaseID: f.c, Agency: "FR-LAB-MRS", Country: "FR", LegalBasis: "expertise"})
		return w, f
	}
	cmd := func(agency string) func(f *fx) Command {
		return func(f *fx) Command { return RevokeCaseSharing{CaseID: f.c, Agency: agency, Reason: "request closed"} }
	}
	run(t, shared, []tc{
		{name: "ok_by_owner_side", by: idriss, when: cmd("FR-JI-MRS"), want: []string{TypeCaseSharingRevoked},
			check: func(t *testing.T, w *world, f *fx, d Decision) {
				if w.caseState(f.c).Participant("FR-JI-MRS") {
					t.Fatal("still a participant after revocation")
				}
			}},
		{name: "ok_by_granter", by: helene, when: cmd("FR-LAB-MRS"), want: []string{TypeCaseSharingRevoked}},
		{name: "not_granter", by: helene, when: cmd("FR-JI-MRS"), is: ErrForbidden},
		{name: "not_shared", by: idriss, when: cmd("FR-DOUANE-MRS"), rule: "case.not-shared"},
		{name: "owner_cannot_be_revoked", by: idriss, when: cmd("MA-DOUANE-TGM"), rule: "case.not-shared"},
		{name: "officer_forbidden", by: nadia, when: cmd("FR-JI-MRS"), is: ErrForbidden},
		{name: "no_reason", by: idriss, when: func(f *fx) Command { return RevokeCaseSharing{CaseID: f.c, Agency: "FR-JI-MRS"} }, is: ErrValidation, field: "reason"},
	})
}

func TestCase_Close(t *testing.T) {
	cmd := func(f *fx) Command { return CloseCase{CaseID: f.c, Reason: "judgment final", Outcome: "convicted"} }
	run(t, emptyCase(FrameworkCustoms), []tc{
		{name: "ok_by_owner_officer", by: nadia, when: cmd, want: []string{TypeCaseClosed}},
		{name: "ok_by_supervising_magistrate", by: idriss, when: cmd, want: []string{TypeCaseClosed}},
		{name: "already_closed", given: func(w *world, f *fx) { w.must(nadia, cmd(f)) }, by: nadia, when: cmd, rule: "case.closed"},
		{name: "shared_agency_forbidden", given: func(w *world, f *fx) { share(w, f.c, "FR-JI-MRS", "FR") }, by: helene, when: cmd, is: ErrForbidden},
		{name: "custodian_forbidden", by: karim, when: cmd, is: ErrForbidden},
	})
}

func TestCase_Hold(t *testing.T) {
	caseHold := func(f *fx) Command { return PlaceHold{CaseID: f.c, Reason: "appeal lodged", AuthorityRef: "APP-1"} }
	run(t, stock(FrameworkCustoms), []tc{
		{name: "place_on_case", by: idriss, when: caseHold, want: []string{TypeHoldPlaced}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			if d.Appends[0].Stream != CaseStream(f.c) || len(w.caseState(f.c).Holds) != 1 {
				t.Fatalf("hold not on the case stream: %s", d.Appends[0].Stream)
			}
		}},
		{name: "place_on_exhibit", by: idriss, when: func(f *fx) Command {
			return PlaceHold{CaseID: f.c, ExhibitID: &f.x, Reason: "expert opinion pending"}
		}, want: []string{TypeHoldPlaced}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			if !w.exhibit(f.x).OnHold() || len(w.caseState(f.c).Holds) != 0 {
				t.Fatal("exhibit hold not on the exhibit")
			}
		}},
		{name: "exhibit_of_other_case", by: idriss, given: func(w *world, f *fx) { f.aux = openCase(w, FrameworkCustoms) },
			when: func(f *fx) Command { return PlaceHold{CaseID: f.aux, ExhibitID: &f.x, Reason: "r"} }, is: ErrNotFound},
		{name: "officer_forbidden", by: nadia, when: caseHold, is: ErrForbidden},
		{name: "foreign_magistrate_forbidden", by: helene, when: caseHold, is: ErrForbidden},
		{name: "release", by: idriss, given: func(w *world, f *fx) {
			f.aux = find[HoldPlaced](t, w.must(idriss, caseHold(f))).HoldID
		}, when: func(f *fx) Command { return ReleaseHold{CaseID: f.c, HoldID: f.aux, Reason: "appeal withdrawn"} }, want: []string{TypeHoldReleased},
			check: func(t *testing.T, w *world, f *fx, d Decision) {
				if len(w.caseState(f.c).Holds) != 0 {
					t.Fatal("hold still active")
				}
			}},
		{name: "release_exhibit_hold", by: idriss, given: func(w *world, f *fx) {
			f.aux = find[HoldPlaced](t, w.must(idriss, PlaceHold{CaseID: f.c, ExhibitID: &f.x, Reason: "r"})).HoldID
		}, when: func(f *fx) Command { return ReleaseHold{CaseID: f.c, ExhibitID: &f.x, HoldID: f.aux, Reason: "done"} }, want: []string{TypeHoldReleased}},
		{name: "release_by_other_agency", by: helene, given: func(w *world, f *fx) {
			share(w, f.c, "FR-JI-MRS", "FR")
			f.aux = find[HoldPlaced](t, w.must(idriss, caseHold(f))).HoldID
		}, when: func(f *fx) Command { return ReleaseHold{CaseID: f.c, HoldID: f.aux, Reason: "r"} }, is: ErrForbidden},
		{name: "release_unknown", by: idriss, when: func(f *fx) Command { return ReleaseHold{CaseID: f.c, HoldID: uuid.New(), Reason: "r"} }, is: ErrNotFound},
	})
}
