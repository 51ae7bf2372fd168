package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/domain"
)

// story is what the reference scenario created.
type story struct {
	caseID, frCaseID       uuid.UUID
	seizureID, frSeizureID uuid.UUID
	bales                  []uuid.UUID
	sample                 uuid.UUID
	frExhibits             []uuid.UUID
	// queryNow is when the views are read: bale 4's checkout is overdue.
	queryNow time.Time
}

func weighing(grossG int64) *domain.Weighing {
	return &domain.Weighing{GrossMg: grossG * 1000, NetMg: (grossG - 400) * 1000, TareMg: 400_000, UncertaintyMg: 5_000,
		ScaleID: "TGM-SC-04", CalibrationRef: "CAL-2026-117"}
}

// tangier runs the reference scenario of SCENARIOS.md (shortened to six
// bales) plus a French case never shared with Morocco.
func tangier(w *world) story {
	var s story
	d := w.must(nadia, domain.OpenCase{Reference: "MA-TGM-2026-0412", Country: "MA", LegalFramework: domain.FrameworkCustoms,
		SupervisingAgency: "MA-PARQUET-TNG", Summary: "cannabis resin behind a false wall, truck Tanger Med to Marseille"})
	s.caseID = find[domain.CaseOpened](w.t, d).CaseID
	w.tick(time.Hour)
	seized := w.now.Add(-30 * time.Minute)
	specs := make([]domain.ExhibitSpec, 6)
	for i := range specs {
		specs[i] = domain.ExhibitSpec{Label: fmt.Sprintf("%d of 6", i+1), Category: "drugs", PresumedSubstance: "cannabis resin",
			UnitCount: 1, Packaging: "bale, plastic film", SealNumber: fmt.Sprintf("MA-S-%07d", 91201+i), Weighing: weighing(31_000 + int64(i)*10)}
	}
	d = w.must(nadia, domain.RecordSeizure{CaseID: s.caseID, RecordNumber: "PV-2026-0412", SeizedAt: seized, ClosedAt: w.now,
		Place: domain.Place{Name: "Port de Tanger Med", Country: "MA", Code: "MAPTM"}, Cause: "scanner anomaly",
		DetectionMethod: "x-ray scan", Conveyance: "truck", Concealment: "false wall", Officers: []string{"nadia", "youssef"},
		HolderPresent: true, HolderRef: "H-0412-1", Custodian: domain.Party{Agency: "MA-DOUANE-TGM", Person: "nadia"}, Exhibits: specs})
	sz := find[domain.SeizureRecorded](w.t, d)
	s.seizureID, s.bales = sz.SeizureID, sz.ExhibitIDs

	// Nadia hands every bale to Karim's warehouse.
	for i, b := range s.bales {
		w.tick(time.Minute)
		d = w.must(nadia, domain.OfferTransfer{ExhibitID: b, To: domain.Party{Agency: "MA-DOUANE-TGM", Person: "karim"}, Purpose: "storage"})
		tid := find[domain.TransferOffered](w.t, d).TransferID
		if i == 5 {
			break // bale 6 stays pending
		}
		w.tick(time.Minute)
		w.must(karim, domain.AcceptTransfer{ExhibitID: b, TransferID: tid,
			Seal: domain.SealSeen{Number: fmt.Sprintf("MA-S-%07d", 91201+i), Condition: domain.SealIntact}})
		w.must(karim, domain.StoreExhibit{ExhibitID: b, Location: "TGM/MAGASIN-2/R3"})
	}

	// The prosecutor shares the case with the lab and the French judge.
	w.tick(time.Hour)
	w.must(idriss, domain.ShareCase{CaseID: s.caseID, Agency: "MA-LAB-CASA", Country: "MA", LegalBasis: "analysis request"})
	w.must(idriss, domain.ShareCase{CaseID: s.caseID, Agency: "FR-JI-MRS", Country: "FR", LegalBasis: "mutual legal assistance",
		AuthorityRef: "EIM-2026-FR-MA-0088"})
	w.must(idriss, domain.ShareCase{CaseID: s.caseID, Agency: "FR-DOUANE-MRS", Country: "FR", LegalBasis: "joint investigation"})

	// Bale 5 goes to the lab for analysis; Salma sees another seal number.
	w.tick(time.Hour)
	d = w.must(karim, domain.OfferTransfer{ExhibitID: s.bales[4], To: domain.Party{Agency: "MA-LAB-CASA", Person: "salma"}, Purpose: "analysis"})
	w.tick(2 * time.Hour)
	w.must(salma, domain.AcceptTransfer{ExhibitID: s.bales[4], TransferID: find[domain.TransferOffered](w.t, d).TransferID,
		Seal: domain.SealSeen{Number: "MA-S-0099999", Condition: domain.SealIntact}, Location: "CASA/RECEPTION"})

	// Bale 3 goes to court and back; bale 4 goes to court and stays.
	w.tick(time.Hour)
	court := domain.Party{Agency: "MA-PARQUET-TNG"}
	w.must(karim, domain.CheckOut{ExhibitID: s.bales[2], To: court, Purpose: "hearing", DueAt: w.now.Add(48 * time.Hour)})
	w.tick(3 * time.Hour)
	w.must(karim, domain.CheckIn{ExhibitID: s.bales[2], Seal: domain.SealSeen{Number: "MA-S-0091203", Condition: domain.SealIntact},
		Weight: &domain.WeightSeen{GrossMg: 31_020_000, UncertaintyMg: 5_000, ScaleID: "TGM-SC-04"}})
	w.must(karim, domain.CheckOut{ExhibitID: s.bales[3], To: court, Purpose: "hearing", DueAt: w.now.Add(24 * time.Hour)})

	// Bale 2's seal is inspected and found damaged.
	w.tick(time.Hour)
	w.must(karim, domain.InspectSeal{ExhibitID: s.bales[1], Seal: domain.SealSeen{Number: "MA-S-0091202", Condition: domain.SealDamaged},
		Remarks: "tape lifted at one corner"})

	// Karim takes a 20 g sub-sample from bale 1 for the lab; Salma
	// receives it, reports, then amends her report.
	w.tick(time.Hour)
	w.must(karim, domain.OpenSeal{ExhibitID: s.bales[0], Purpose: "sampling for analysis", AuthorityRef: "REQ-2026-3301"})
	d = w.must(karim, domain.TakeSubSample{ExhibitID: s.bales[0], Label: "1 of 6 / sample 1", Purpose: "analysis",
		SealNumber: "MA-S-0091300", Weighing: domain.Weighing{GrossMg: 25_000, NetMg: 20_000, TareMg: 5_000, UncertaintyMg: 20,
			ScaleID: "TGM-SC-01", CalibrationRef: "CAL-2026-118"}})
	s.sample = find[domain.SubSampleTaken](w.t, d).SubSampleID
	w.must(karim, domain.ResealExhibit{ExhibitID: s.bales[0], SealNumber: "MA-S-0091211"})
	d = w.must(karim, domain.OfferTransfer{ExhibitID: s.sample, To: domain.Party{Agency: "MA-LAB-CASA", Person: "salma"}, Purpose: "analysis"})
	w.tick(5 * time.Hour)
	w.must(salma, domain.AcceptTransfer{ExhibitID: s.sample, TransferID: find[domain.TransferOffered](w.t, d).TransferID,
		Seal: domain.SealSeen{Number: "MA-S-0091300", Condition: domain.SealIntact}})
	w.must(salma, domain.RecordLabReceipt{ExhibitID: s.sample, LabCaseNumber: "CASA-2026-5512",
		Seal: domain.SealSeen{Number: "MA-S-0091300", Condition: domain.SealIntact}, PackagingCondition: "intact"})
	w.tick(48 * time.Hour)
	report := domain.ReportBody{LabCaseNumber: "CASA-2026-5512", Substances: []domain.Substance{{Name: "cannabis resin (THC)", PurityBP: 2750, UncertaintyBP: 180}},
		NetMg: 19_840, NetUncertaintyMg: 20, Techniques: []string{"GC-MS"}, Reviewer: "Dr. Bennani", ReportDigest: digest, ConsumedMg: 100}
	d = w.must(salma, domain.ReportAnalysis{ExhibitID: s.sample, Report: report})
	report.Reviewer = "Dr. Bennis"
	w.tick(time.Hour)
	w.must(salma, domain.AmendReport{ExhibitID: s.sample, ReportID: find[domain.AnalysisReported](w.t, d).ReportID,
		Reason: "typo in the reviewer's name", Report: report})

	// The seal mismatch on bale 5 is explained; the prosecutor holds bale 2
	// and authorises the destruction of bale 3.
	w.tick(time.Hour)
	disc := s.bales[4]
	if dd, err := w.events(context.Background(), domain.ExhibitStream(disc)); err == nil {
		for id := range domain.NewExhibit(dd...).Discrepancies {
			w.must(idriss, domain.ResolveDiscrepancy{ExhibitID: disc, DiscrepancyID: id, Resolution: "seal number misread at the port"})
		}
	}
	b2 := s.bales[1]
	w.must(idriss, domain.PlaceHold{CaseID: s.caseID, ExhibitID: &b2, Reason: "defence requested a counter-analysis"})
	w.must(idriss, domain.AuthoriseDisposal{ExhibitID: s.bales[2], OrderRef: "ORD-2026-3310", Method: domain.DisposalDestruction,
		NotifiedAt: w.now, ChallengeDeadline: w.now.Add(24 * time.Hour)})

	// The French case is never shared with Morocco; its seizure stays in
	// Marseille.
	w.tick(time.Hour)
	d = w.must(claire, domain.OpenCase{Reference: "FR-MRS-2026-0077", Country: "FR", LegalFramework: domain.FrameworkFlagrance,
		SupervisingAgency: "FR-JI-MRS"})
	s.frCaseID = find[domain.CaseOpened](w.t, d).CaseID
	w.tick(time.Hour)
	d = w.must(claire, domain.RecordSeizure{CaseID: s.frCaseID, RecordNumber: "PV-MRS-0077", SeizedAt: w.now.Add(-time.Hour), ClosedAt: w.now,
		Place: domain.Place{Name: "Port de Marseille-Fos", Country: "FR", Code: "FRMRS"}, Cause: "targeting", DetectionMethod: "dog",
		Officers: []string{"claire"}, Custodian: domain.Party{Agency: "FR-DOUANE-MRS"},
		Exhibits: []domain.ExhibitSpec{
			{Label: "1 of 2", Category: "drugs", PresumedSubstance: "cocaine", UnitCount: 10, SealNumber: "FR-S-1", Weighing: weighing(12_000)},
			{Label: "2 of 2", Category: "drugs", PresumedSubstance: "cocaine", UnitCount: 12, SealNumber: "FR-S-2", Weighing: weighing(14_000)},
		}})
	fsz := find[domain.SeizureRecorded](w.t, d)
	s.frSeizureID, s.frExhibits = fsz.SeizureID, fsz.ExhibitIDs

	// The French customs' sharing of the Moroccan case is revoked.
	w.tick(time.Hour)
	w.must(idriss, domain.RevokeCaseSharing{CaseID: s.caseID, Agency: "FR-DOUANE-MRS", Reason: "joint team dissolved"})

	s.queryNow = w.now.Add(30 * time.Hour)
	return s
}
