package domain

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestScenario_CannabisResinTangerMedMarseille plays SCENARIOS.md end to end:
// a cannabis resin seizure at Tanger Med, custody, two labs on both sides of
// the Mediterranean, a court checkout, a disposal order and a witnessed
// destruction with the sub-samples kept.
func TestScenario_CannabisResinTangerMedMarseille(t *testing.T) {
	w := newWorld(t)
	w.now = time.Date(2026, 4, 12, 9, 0, 0, 0, time.UTC)
	scanned := w.now.Add(-3 * time.Hour)

	// 1. Nadia opens the case and records PV-2026-0412 with 40 bales; the
	// driver was present; Youssef was there.
	caseID := find[CaseOpened](t, w.must(nadia, OpenCase{
		Reference: "MA-TGM-2026-0412", Country: "MA", LegalFramework: FrameworkCustoms, SupervisingAgency: "MA-PARQUET-TNG",
	})).CaseID
	pv := RecordSeizure{
		CaseID: caseID, RecordNumber: "PV-2026-0412", SeizedAt: scanned, ClosedAt: w.now.Add(-10 * time.Minute),
		Place: Place{Name: "Port of Tanger Med, export gate", Country: "MA", Code: "MAPTM"},
		Cause: "scanner image anomaly on a truck bound for Marseille", DetectionMethod: "x-ray scan",
		Conveyance: "semi-trailer", Concealment: "false wall", Officers: []string{"nadia", "youssef"},
		HolderPresent: true, HolderRef: "DRIVER-REF-1", Custodian: Party{Agency: "MA-DOUANE-TGM", Person: "nadia"},
	}
	for i := 1; i <= 40; i++ {
		pv.Exhibits = append(pv.Exhibits, ExhibitSpec{Label: fmt.Sprintf("%d of 40", i), Category: "drug",
			PresumedSubstance: "cannabis resin", UnitCount: 1, Packaging: "jute bale",
			FieldTest: &FieldTest{Kit: "Duquenois-Levine", Result: "positive"}})
	}
	bales := find[SeizureRecorded](t, w.must(nadia, pv)).ExhibitIDs
	balesNo := func(n int) uuid.UUID { return bales[n-1] }

	// 2. Each bale is sealed and weighed (about 31 kg gross, 5 g uncertainty).
	seal := func(n int) string { return fmt.Sprintf("MA-S-%07d", 91200+n) }
	net := func(n int) int64 { return 30_600_000_000 + int64(n)*1_000_000 } // mg
	for n := 1; n <= 40; n++ {
		w.must(nadia, SealExhibit{ExhibitID: balesNo(n), SealNumber: seal(n)})
		w.must(youssef, WeighExhibit{ExhibitID: balesNo(n), Purpose: PurposeInitial, Weighing: Weighing{
			GrossMg: net(n) + 400_000_000, NetMg: net(n), TareMg: 400_000_000, UncertaintyMg: 5_000,
			ScaleID: "TGM-SC-04", CalibrationRef: "CAL-2026-117", HolderPresent: true}})
	}

	// 3. Nadia offers the bales to the warehouse; Karim accepts, seals
	// intact, weights as seen; they are stored at TGM/MAGASIN-2/R3.
	w.advance(time.Hour)
	for n := 1; n <= 40; n++ {
		tr := find[TransferOffered](t, w.must(nadia, OfferTransfer{ExhibitID: balesNo(n), To: Party{Agency: "MA-DOUANE-TGM", Person: "karim"}, Purpose: "storage"}))
		if n == 1 { // edge: a second transfer while one is pending
			_, err := w.do(nadia, OfferTransfer{ExhibitID: balesNo(1), To: Party{Agency: "MA-DOUANE-TGM", Person: "youssef"}, Purpose: "x"})
			wantRule(t, err, "custody.pending-transfer")
			// edge: acceptance by someone who is not the named receiver
			_, err = w.do(youssef, AcceptTransfer{ExhibitID: balesNo(1), TransferID: tr.TransferID, Seal: SealSeen{Number: seal(1), Condition: SealIntact}})
			if !errorsIs(err, ErrForbidden) {
				t.Fatalf("acceptance by youssef: got %v, want ErrForbidden", err)
			}
		}
		d := w.must(karim, AcceptTransfer{ExhibitID: balesNo(n), TransferID: tr.TransferID,
			Seal: SealSeen{Number: seal(n), Condition: SealIntact}, Weight: &WeightSeen{GrossMg: net(n) + 400_000_000 + 2_000, UncertaintyMg: 5_000, ScaleID: "TGM-SC-02"}})
		if got := types(d); len(got) != 1 {
			t.Fatalf("bale %d: seals intact and weights within tolerance must raise nothing, got %v", n, got)
		}
		w.must(karim, StoreExhibit{ExhibitID: balesNo(n), Location: "TGM/MAGASIN-2/R3"})
	}

	// 4. Karim takes a 20 g sub-sample from bale 7 for the Casablanca lab.
	w.advance(24 * time.Hour)
	w.must(idriss, ShareCase{CaseID: caseID, Agency: "MA-LAB-CASA", Country: "MA", LegalBasis: "expertise requisition", AuthorityRef: "REQ-TNG-2026-55"})
	sampleOf := func(n int, sealNo string) uuid.UUID {
		w.must(karim, OpenSeal{ExhibitID: balesNo(n), Purpose: "sampling for analysis", AuthorityRef: "REQ-TNG-2026-55"})
		d := w.must(karim, TakeSubSample{ExhibitID: balesNo(n), Label: fmt.Sprintf("%d of 40 / S1", n), Purpose: "analysis", SealNumber: sealNo,
			Weighing: Weighing{GrossMg: 20_350, NetMg: 19_850, TareMg: 500, UncertaintyMg: 20, ScaleID: "TGM-SC-01", CalibrationRef: "CAL-2026-118"}})
		w.must(karim, ResealExhibit{ExhibitID: balesNo(n), SealNumber: sealNo + "-R"})
		return find[SubSampleTaken](t, d).SubSampleID
	}
	s7 := sampleOf(7, "MA-S-0091300")
	tr := find[TransferOffered](t, w.must(karim, OfferTransfer{ExhibitID: s7, To: Party{Agency: "MA-LAB-CASA", Person: "salma"}, Purpose: "analysis"}))
	w.advance(26 * time.Hour)
	w.must(salma, AcceptTransfer{ExhibitID: s7, TransferID: tr.TransferID, Seal: SealSeen{Number: "MA-S-0091300", Condition: SealIntact}})
	w.must(salma, RecordLabReceipt{ExhibitID: s7, LabCaseNumber: "LNPS-2026-0871", Seal: SealSeen{Number: "MA-S-0091300", Condition: SealIntact},
		PackagingCondition: "sealed bag, intact", Weight: &WeightSeen{GrossMg: 20_340, UncertaintyMg: 20}})
	w.advance(72 * time.Hour)
	report := ReportBody{LabCaseNumber: "LNPS-2026-0871", Substances: []Substance{{Name: "delta-9-THC", PurityBP: 2750, UncertaintyBP: 180}},
		NetMg: 19_840, NetUncertaintyMg: 20, Techniques: []string{"GC-MS"}, SamplingStatement: "whole sub-sample homogenised",
		Reviewer: "dr-bennani-r", ReportDigest: digest}
	d := w.must(salma, ReportAnalysis{ExhibitID: s7, Report: report})
	if got := types(d); len(got) != 1 {
		t.Fatalf("19.84 g ± 0.02 g reconciles with 19.85 g ± 0.02 g, got %v", got)
	}
	reportID := find[AnalysisReported](t, d).ReportID
	report.Reviewer = "dr-bennani-k"
	w.must(salma, AmendReport{ExhibitID: s7, ReportID: reportID, Reason: "typo in the reviewer's name", Report: report})
	if x := w.exhibit(s7); x.Reports[reportID].Report.Reviewer != "dr-bennani-k" || len(w.streams[x.Stream()]) != 8 {
		t.Fatalf("amended report: %+v, %d events (the original must stay)", x.Reports[reportID], len(w.streams[x.Stream()]))
	}

	// 5. Idriss shares the case with the French side under the MLA request;
	// a second sub-sample from bale 12 goes to FR-LAB-MRS via Claire.
	if w.caseState(caseID).Participant("FR-JI-MRS") {
		t.Fatal("edge: a case never shared is not visible to a foreign agency")
	}
	s12 := sampleOf(12, "MA-S-0091301")
	_, err := w.do(karim, OfferTransfer{ExhibitID: s12, To: Party{Agency: "FR-DOUANE-MRS", Person: "claire"}, Purpose: "MLA", AuthorityRef: "EIM-2026-FR-MA-0088"})
	wantRule(t, err, "transfer.receiver-not-participant") // edge: offered to an agency that does not take part
	for _, a := range []string{"FR-JI-MRS", "FR-DOUANE-MRS"} {
		w.must(idriss, ShareCase{CaseID: caseID, Agency: a, Country: "FR", LegalBasis: "mutual legal assistance request", AuthorityRef: "EIM-2026-FR-MA-0088"})
	}
	w.must(helene, ShareCase{CaseID: caseID, Agency: "FR-LAB-MRS", Country: "FR", LegalBasis: "expertise order", AuthorityRef: "JI-MRS-2026-114"})
	_, err = w.do(karim, OfferTransfer{ExhibitID: s12, To: Party{Agency: "FR-DOUANE-MRS", Person: "claire"}, Purpose: "MLA"})
	wantRule(t, err, "transfer.authority-required")
	tr = find[TransferOffered](t, w.must(karim, OfferTransfer{ExhibitID: s12, To: Party{Agency: "FR-DOUANE-MRS", Person: "claire"}, Purpose: "MLA", AuthorityRef: "EIM-2026-FR-MA-0088"}))
	if !tr.CrossBorder {
		t.Fatal("MA -> FR is cross-border")
	}
	w.advance(48 * time.Hour)
	w.must(claire, AcceptTransfer{ExhibitID: s12, TransferID: tr.TransferID, Seal: SealSeen{Number: "MA-S-0091301", Condition: SealIntact}})
	tr = find[TransferOffered](t, w.must(claire, OfferTransfer{ExhibitID: s12, To: Party{Agency: "FR-LAB-MRS", Person: "julien"}, Purpose: "analysis"}))
	// Julien sees a seal that is not the last one applied: recorded as
	// received, with a discrepancy raised automatically.
	d = w.must(julien, AcceptTransfer{ExhibitID: s12, TransferID: tr.TransferID, Seal: SealSeen{Number: "MA-S-0091310", Condition: SealIntact}})
	disc := find[DiscrepancyRaised](t, d)
	if x := w.exhibit(s12); x.Custodian.Agency != "FR-LAB-MRS" || !x.SealBroken || disc.Kind != DiscrepancySeal || disc.ExpectedSeal != "MA-S-0091301" {
		t.Fatalf("custody %v, seal broken %v, discrepancy %+v", x.Custodian, x.SealBroken, disc)
	}
	// edge: an analyst of a lab that does not hold the exhibit
	_, err = w.do(julien, ReportAnalysis{ExhibitID: s7, Report: report})
	if !errorsIs(err, ErrForbidden) {
		t.Fatalf("julien reporting on s7: got %v, want ErrForbidden", err)
	}
	if len(w.exhibit(s12).Discrepancies) != 1 {
		t.Fatal("the discrepancy stays open until resolved")
	}
	w.must(helene, ResolveDiscrepancy{ExhibitID: s12, DiscrepancyID: disc.DiscrepancyID,
		Resolution: "MA customs confirm a transcription error: the seal on the bag is MA-S-0091301's twin MA-S-0091310, photos compared"})
	if len(w.exhibit(s12).Discrepancies) != 0 {
		t.Fatal("resolved")
	}

	// 6. Bale 3 goes to the Tangier court for a hearing and comes back.
	w.must(karim, CheckOut{ExhibitID: balesNo(3), To: Party{Agency: "MA-PARQUET-TNG", Location: "Tangier court, hearing room 2"}, Purpose: "hearing", DueAt: w.now.Add(48 * time.Hour)})
	w.advance(30 * time.Hour)
	d = w.must(karim, CheckIn{ExhibitID: balesNo(3), Seal: SealSeen{Number: seal(3), Condition: SealIntact},
		Weight: &WeightSeen{GrossMg: net(3) + 400_000_000 - 1_000, UncertaintyMg: 5_000}, Location: "TGM/MAGASIN-2/R3"})
	if got := types(d); len(got) != 1 || find[CheckedIn](t, d).Late {
		t.Fatalf("check-in: %v", got)
	}

	// 7. Idriss orders the destruction of the bulk (24 h window), keeping the
	// sub-samples; after the deadline each bale is weighed in front of two
	// witnesses from outside the warehouse, then incinerated.
	for _, id := range bales {
		w.must(idriss, AuthoriseDisposal{ExhibitID: id, OrderRef: "ORD-2026-3310", Method: DisposalDestruction, NotifiedAt: w.now, ChallengeDeadline: w.now.Add(24 * time.Hour)})
	}
	destroy := DestroyExhibit{ExhibitID: balesNo(1), Method: "incineration", Site: "Tanger Med incinerator", Witnesses: []Witness{
		{Ref: "GEND-4471", Kind: "official", Agency: "MA-GENDARMERIE-TNG"}, {Ref: "SANTE-0912", Kind: "official", Agency: "MA-SANTE-TNG"}}}
	_, err = w.do(karim, destroy)
	wantRule(t, err, "disposal.challenge-pending") // edge: before the deadline
	w.advance(25 * time.Hour)
	outside := []Witness{{Ref: "GEND-4471", Kind: "official", Agency: "MA-GENDARMERIE-TNG"}, {Ref: "SANTE-0912", Kind: "official", Agency: "MA-SANTE-TNG"}}
	for n, id := range bales {
		x := w.exhibit(id)
		d := w.must(karim, WeighExhibit{ExhibitID: id, Purpose: PurposePreDestruction, Weighing: Weighing{
			GrossMg: x.Mass.NetMg + 400_000_000, NetMg: x.Mass.NetMg, TareMg: 400_000_000, UncertaintyMg: 5_000,
			ScaleID: "TGM-SC-04", CalibrationRef: "CAL-2026-117", Witnesses: outside}})
		if len(d.Events()) != 1 {
			t.Fatalf("bale %d: pre-destruction weight must reconcile: %v", n+1, types(d))
		}
		if n == 0 { // edge: a destruction with one witness
			one := destroy
			one.Witnesses = one.Witnesses[:1]
			_, err := w.do(karim, one)
			wantRule(t, err, "disposal.witnesses")
		}
		destroy.ExhibitID = id
		w.must(karim, destroy)
	}

	// The bulk is destroyed; the sub-samples survive, where they are.
	for _, id := range bales {
		if s := w.exhibit(id).Status(); s != StatusDestroyed {
			t.Fatalf("bale %s: %s", id, s)
		}
	}
	if x := w.exhibit(s7); x.Status().Terminal() || x.Custodian.Agency != "MA-LAB-CASA" {
		t.Fatalf("sample of bale 7: %s at %s", x.Status(), x.Custodian.Agency)
	}
	if x := w.exhibit(s12); x.Status().Terminal() || x.Custodian.Agency != "FR-LAB-MRS" || x.ParentID != balesNo(12) {
		t.Fatalf("sample of bale 12: %s at %s", x.Status(), x.Custodian.Agency)
	}
	// 8. (bundle verification is the ledger's part) — bale 12's history and
	// its sub-sample's are complete and in order.
	var history []string
	for _, e := range w.events(ExhibitStream(balesNo(12))) {
		history = append(history, e.EventType())
	}
	want := []string{TypeExhibitRegistered, TypeExhibitSealed, TypeExhibitWeighed, TypeTransferOffered, TypeTransferAccepted,
		TypeExhibitStored, TypeSealOpened, TypeSubSampleTaken, TypeExhibitResealed, TypeDisposalAuthorised, TypeExhibitWeighed, TypeExhibitDestroyed}
	if !slices.Equal(history, want) {
		t.Fatalf("bale 12 history:\n got %v\nwant %v", history, want)
	}
	// Nothing moves after a terminal event.
	_, err = w.do(karim, StoreExhibit{ExhibitID: balesNo(12), Location: "x"})
	wantRule(t, err, "exhibit.terminal")
}
