package domain

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

var digest = strings.Repeat("ab", 32)

func sampleCmd(f *fx, netMg int64) TakeSubSample {
	return TakeSubSample{ExhibitID: f.x, Label: "7-A", Purpose: "analysis", SealNumber: "MA-S-0091300",
		Weighing: Weighing{GrossMg: netMg + 500, NetMg: netMg, TareMg: 500, UncertaintyMg: 20, ScaleID: "TGM-SC-01", CalibrationRef: "CAL-2026-118"}}
}

func TestExhibit_TakeSubSample(t *testing.T) {
	opened := func(w *world, f *fx) {
		w.must(karim, OpenSeal{ExhibitID: f.x, Purpose: "sampling", AuthorityRef: "REQ-1"})
	}
	take := func(netMg int64) func(f *fx) Command { return func(f *fx) Command { return sampleCmd(f, netMg) } }
	run(t, stock(FrameworkCustoms), []tc{
		{name: "ok", by: karim, given: opened, when: take(20_000),
			want: []string{TypeExhibitRegistered, TypeExhibitSealed, TypeExhibitWeighed, TypeSubSampleTaken},
			check: func(t *testing.T, w *world, f *fx, d Decision) {
				st := find[SubSampleTaken](t, d)
				if len(d.Appends) != 2 || d.Appends[0].Stream != ExhibitStream(st.SubSampleID) || d.Appends[0].ExpectedRevision != NoStream || d.Appends[1].Stream != ExhibitStream(f.x) {
					t.Fatal("the sub-sample's stream first, the parent's commit record last")
				}
				child, parent := w.exhibit(st.SubSampleID), w.exhibit(f.x)
				if child.ParentID != f.x || child.Seal != "MA-S-0091300" || child.Mass.NetMg != 20_000 || child.Custodian.Agency != karim.Agency || child.CaseID != f.c {
					t.Fatalf("child %+v", child)
				}
				if parent.Mass.NetMg != bale-400_000_000-20_000 || len(parent.SubSamples) != 1 {
					t.Fatalf("parent mass %+v", parent.Mass)
				}
			}},
		{name: "parent_sealed", by: karim, when: take(20_000), rule: "subsample.parent-sealed"},
		{name: "exceeds_parent", by: karim, given: opened, when: take(bale), rule: "subsample.exceeds-parent"},
		{name: "exceeds_what_is_left", by: karim, given: func(w *world, f *fx) {
			opened(w, f)
			w.must(karim, sampleCmd(f, bale-400_000_000-10))
		}, when: func(f *fx) Command { c := sampleCmd(f, 11); c.Label = "7-B"; c.SealNumber = "S-2"; return c }, rule: "subsample.exceeds-parent"},
		{name: "all_that_is_left", by: karim, given: opened, when: take(bale - 400_000_000), want: []string{TypeExhibitRegistered, TypeExhibitSealed, TypeExhibitWeighed, TypeSubSampleTaken}},
		{name: "parent_not_weighed", by: nadia, given: func(w *world, f *fx) {
			f.x = find[SeizureRecorded](t, w.must(nadia, seizureCmd(f.c, 1, false))).ExhibitIDs[0]
		}, when: take(20_000), rule: "subsample.parent-not-weighed"},
		{name: "not_holder", by: salma, given: opened, when: take(20_000), is: ErrForbidden},
		{name: "pending", by: karim, given: func(w *world, f *fx) { pending(w, f) }, when: take(20_000), rule: "custody.pending-transfer"},
		{name: "no_seal", by: karim, given: opened, when: func(f *fx) Command { c := sampleCmd(f, 20_000); c.SealNumber = ""; return c }, is: ErrValidation, field: "seal_number"},
		{name: "sub_sample_of_sub_sample", by: karim, given: func(w *world, f *fx) {
			f.x = subSample(w, f.x, "MA-S-0091300")
			w.must(karim, OpenSeal{ExhibitID: f.x, Purpose: "split", AuthorityRef: "REQ-2"})
		}, when: func(f *fx) Command { c := sampleCmd(f, 5_000); c.SealNumber = "MA-S-0091301"; return c },
			want: []string{TypeExhibitRegistered, TypeExhibitSealed, TypeExhibitWeighed, TypeSubSampleTaken}},
	})
}

// TestExhibit_SubSampleRetryAfterCrash: a crash between the child's stream
// and the parent's commit record leaves an exhibit nobody can act on; the
// retry completes it with the same IDs.
func TestExhibit_SubSampleRetryAfterCrash(t *testing.T) {
	w, f := stock(FrameworkCustoms)(t)
	w.must(karim, OpenSeal{ExhibitID: f.x, Purpose: "sampling", AuthorityRef: "REQ-1"})
	cmd := sampleCmd(f, 20_000)
	d, err := Decide(karim, cmd, w.view(cmd), w.now, "sample-key")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.append(d, 1); err != nil {
		t.Fatal(err)
	}
	child := find[SubSampleTaken](t, d).SubSampleID
	if _, err := w.decide(karim, InspectSeal{ExhibitID: child, Seal: SealSeen{Number: "MA-S-0091300", Condition: SealIntact}}); !errorsIs(err, ErrNotFound) {
		t.Fatalf("uncommitted sub-sample: got %v, want ErrNotFound", err)
	}
	if _, err := w.doKey(karim, cmd, "sample-key"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := len(w.streams[ExhibitStream(child)]); got != 3 {
		t.Fatalf("child stream has %d events, want 3", got)
	}
	if _, err := w.do(karim, InspectSeal{ExhibitID: child, Seal: SealSeen{Number: "MA-S-0091300", Condition: SealIntact}}); err != nil {
		t.Fatalf("committed sub-sample: %v", err)
	}
}

// atLab: f.x was handed to Salma at the Casablanca lab.
func atLab(t *testing.T) (*world, *fx) {
	w, f := stock(FrameworkCustoms)(t)
	offerAccept(w, karim, salma, f.x, "")
	return w, f
}

func receipt(w *world, f *fx) {
	w.must(salma, RecordLabReceipt{ExhibitID: f.x, LabCaseNumber: "LAB-CASA-2026-881", Seal: SealSeen{Number: f.seal, Condition: SealIntact}, PackagingCondition: "good"})
}

func body(netMg int64) ReportBody {
	return ReportBody{
		LabCaseNumber: "LAB-CASA-2026-881", Substances: []Substance{{Name: "THC", PurityBP: 2750, UncertaintyBP: 180}},
		NetMg: netMg, NetUncertaintyMg: 20, Techniques: []string{"GC-MS"}, Reviewer: "rachid", ReportDigest: digest,
	}
}

func TestExhibit_RecordLabReceipt(t *testing.T) {
	cmd := func(number string, cond SealCondition, w *WeightSeen) func(f *fx) Command {
		return func(f *fx) Command {
			if number == "" {
				number = f.seal
			}
			return RecordLabReceipt{ExhibitID: f.x, LabCaseNumber: "LAB-CASA-2026-881", Seal: SealSeen{Number: number, Condition: cond}, PackagingCondition: "good", Weight: w}
		}
	}
	run(t, atLab, []tc{
		{name: "ok", by: salma, when: cmd("", SealIntact, &WeightSeen{GrossMg: bale}), want: []string{TypeLabReceiptRecorded}},
		{name: "seal_damaged", by: salma, when: cmd("", SealDamaged, nil), want: []string{TypeLabReceiptRecorded, TypeDiscrepancyRaised}},
		{name: "weight_mismatch", by: salma, when: cmd("", SealIntact, &WeightSeen{GrossMg: bale - 50_000_000, UncertaintyMg: 10}), want: []string{TypeLabReceiptRecorded, TypeDiscrepancyRaised}},
		{name: "twice", by: salma, given: receipt, when: cmd("", SealIntact, nil), rule: "lab.receipt-recorded"},
		{name: "lab_not_holding", by: julien, when: cmd("", SealIntact, nil), is: ErrForbidden},
		{name: "custodian_role_forbidden", by: karim, when: cmd("", SealIntact, nil), is: ErrForbidden},
		{name: "no_packaging_condition", by: salma, when: func(f *fx) Command {
			return RecordLabReceipt{ExhibitID: f.x, LabCaseNumber: "L", Seal: SealSeen{Number: f.seal, Condition: SealIntact}}
		}, is: ErrValidation, field: "packaging_condition"},
	})
}

func TestExhibit_ReportAnalysis(t *testing.T) {
	net := int64(bale - 400_000_000)
	cmd := func(b ReportBody) func(f *fx) Command {
		return func(f *fx) Command { return ReportAnalysis{ExhibitID: f.x, Report: b} }
	}
	run(t, atLab, []tc{
		{name: "ok", by: salma, given: receipt, when: cmd(body(net)), want: []string{TypeAnalysisReported}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			e := find[AnalysisReported](t, d)
			if e.Lab != "MA-LAB-CASA" || e.Analyst != "salma" || len(w.exhibit(f.x).Reports) != 1 {
				t.Fatalf("got %+v", e)
			}
		}},
		{name: "net_mismatch", by: salma, given: receipt, when: cmd(body(net - 5_000_000)), want: []string{TypeAnalysisReported, TypeDiscrepancyRaised}},
		{name: "consumption_reduces_mass", by: salma, given: receipt, when: func(f *fx) Command {
			b := body(net)
			b.ConsumedMg = 1_000
			return ReportAnalysis{ExhibitID: f.x, Report: b}
		}, want: []string{TypeAnalysisReported}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			if got := w.exhibit(f.x).Mass.NetMg; got != net-1_000 {
				t.Fatalf("got net %d, want %d", got, net-1_000)
			}
		}},
		{name: "consumes_too_much", by: salma, given: receipt, when: func(f *fx) Command {
			b := body(net)
			b.ConsumedMg = net + 1
			return ReportAnalysis{ExhibitID: f.x, Report: b}
		}, rule: "analysis.consumes-too-much"},
		{name: "without_receipt", by: salma, when: cmd(body(net)), rule: "lab.no-receipt"},
		{name: "lab_not_holding", by: julien, given: receipt, when: cmd(body(net)), is: ErrForbidden},
		{name: "after_handing_back", by: salma, given: func(w *world, f *fx) {
			receipt(w, f)
			offerAccept(w, salma, karim, f.x, "")
		}, when: cmd(body(net)), is: ErrForbidden},
		{name: "self_review", by: salma, given: receipt, when: func(f *fx) Command {
			b := body(net)
			b.Reviewer = "salma"
			return ReportAnalysis{ExhibitID: f.x, Report: b}
		}, rule: "analysis.self-review"},
		{name: "no_substance", by: salma, given: receipt, when: func(f *fx) Command {
			b := body(net)
			b.Substances = nil
			return ReportAnalysis{ExhibitID: f.x, Report: b}
		}, is: ErrValidation, field: "report.substances"},
		{name: "purity_over_100", by: salma, given: receipt, when: func(f *fx) Command {
			b := body(net)
			b.Substances[0].PurityBP = 10_001
			return ReportAnalysis{ExhibitID: f.x, Report: b}
		}, is: ErrValidation, field: "report.substances[0].purity_bp"},
		{name: "bad_digest", by: salma, given: receipt, when: func(f *fx) Command {
			b := body(net)
			b.ReportDigest = "ABC"
			return ReportAnalysis{ExhibitID: f.x, Report: b}
		}, is: ErrValidation, field: "report.report_digest"},
	})
}

func TestExhibit_AmendReport(t *testing.T) {
	net := int64(bale - 400_000_000)
	reported := func(w *world, f *fx) {
		receipt(w, f)
		f.aux = find[AnalysisReported](t, w.must(salma, ReportAnalysis{ExhibitID: f.x, Report: body(net)})).ReportID
	}
	amend := func(f *fx) Command {
		b := body(net)
		b.Reviewer = "rachida"
		return AmendReport{ExhibitID: f.x, ReportID: f.aux, Reason: "typo in the reviewer's name", Report: b}
	}
	run(t, atLab, []tc{
		{name: "ok", by: salma, given: reported, when: amend, want: []string{TypeReportAmended}, check: func(t *testing.T, w *world, f *fx, d Decision) {
			r := w.exhibit(f.x).Reports[f.aux]
			if r.Report.Reviewer != "rachida" || r.Amendments != 1 {
				t.Fatalf("got %+v", r)
			}
			// The original stays in the history.
			if find[ReportAmended](t, d).ReportID != f.aux || len(w.streams[ExhibitStream(f.x)]) < 2 {
				t.Fatal("the amendment references the original")
			}
		}},
		{name: "after_handing_back", by: salma, given: func(w *world, f *fx) { reported(w, f); offerAccept(w, salma, karim, f.x, "") }, when: amend, want: []string{TypeReportAmended}},
		{name: "other_lab", by: julien, given: reported, when: amend, is: ErrForbidden},
		{name: "unknown_report", by: salma, given: func(w *world, f *fx) { reported(w, f); f.aux = uuid.New() }, when: amend, is: ErrNotFound},
		{name: "no_reason", by: salma, given: reported, when: func(f *fx) Command { return AmendReport{ExhibitID: f.x, ReportID: f.aux, Report: body(net)} }, is: ErrValidation, field: "reason"},
		{name: "change_consumption", by: salma, given: reported, when: func(f *fx) Command {
			b := body(net)
			b.ConsumedMg = 5
			return AmendReport{ExhibitID: f.x, ReportID: f.aux, Reason: "r", Report: b}
		}, rule: "analysis.consumption-fixed"},
	})
}
