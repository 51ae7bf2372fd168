package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/domain"
)

// super is a user of agency holding every role that writes custody
// events, so that random commands fail on rules, not on roles.
func super(agency string) domain.Principal {
	return domain.Principal{User: "u-" + agency, Agency: agency,
		Roles: []domain.Role{domain.RoleOfficer, domain.RoleCustodian, domain.RoleAnalyst, domain.RoleMagistrate}}
}

// chaos drives random commands; pick(label, n) chooses in [0, n).
type chaos struct {
	w        *world
	pick     func(label string, n int) int
	cases    []uuid.UUID
	exhibits []uuid.UUID
	ok, bad  int
}

func (c *chaos) agency() string { return agencies[c.pick("agency", len(agencies))] }

func (c *chaos) exhibit() (*domain.Exhibit, bool) {
	if len(c.exhibits) == 0 {
		return nil, false
	}
	id := c.exhibits[c.pick("exhibit", len(c.exhibits))]
	evs, err := c.w.events(context.Background(), domain.ExhibitStream(id))
	if err != nil || len(evs) == 0 {
		return nil, false
	}
	return domain.NewExhibit(evs...), true
}

func (c *chaos) caseState() (*domain.Case, bool) {
	if len(c.cases) == 0 {
		return nil, false
	}
	id := c.cases[c.pick("case", len(c.cases))]
	evs, err := c.w.events(context.Background(), domain.CaseStream(id))
	if err != nil || len(evs) == 0 {
		return nil, false
	}
	return domain.NewCase(evs...), true
}

func (c *chaos) seal(x *domain.Exhibit) domain.SealSeen {
	switch c.pick("seal", 5) {
	case 0:
		return domain.SealSeen{Number: "WRONG-1", Condition: domain.SealIntact}
	case 1:
		return domain.SealSeen{Number: x.Seal, Condition: domain.SealDamaged}
	}
	return domain.SealSeen{Number: x.Seal, Condition: domain.SealIntact}
}

func (c *chaos) run(p domain.Principal, cmd domain.Command) {
	d, err := c.w.do(p, cmd)
	if err != nil {
		c.bad++
		return
	}
	c.ok++
	for _, ne := range d.Events() {
		switch e := ne.Event.(type) {
		case domain.CaseOpened:
			c.cases = append(c.cases, e.CaseID)
		case domain.SeizureRecorded:
			c.exhibits = append(c.exhibits, e.ExhibitIDs...)
		case domain.SubSampleTaken:
			c.exhibits = append(c.exhibits, e.SubSampleID)
		}
	}
}

const digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// step runs one random command.
func (c *chaos) step() {
	w := c.w
	w.tick(time.Duration(1+c.pick("minutes", 120)) * time.Minute)
	n := c.pick("command", 24)
	if len(c.cases) == 0 {
		n = 0
	}
	switch n {
	case 0:
		owner := []string{"MA-DOUANE-TGM", "FR-DOUANE-MRS"}[c.pick("owner", 2)]
		sup, country := "MA-PARQUET-TNG", "MA"
		if owner[:2] == "FR" {
			sup, country = "FR-JI-MRS", "FR"
		}
		c.run(super(owner), domain.OpenCase{Reference: fmt.Sprintf("C-%d", len(c.cases)), Country: country,
			LegalFramework: domain.FrameworkJudicialInformation, SupervisingAgency: sup})
	case 1, 2:
		cs, ok := c.caseState()
		if !ok {
			return
		}
		a := c.agency()
		if n == 1 {
			c.run(super(cs.SupervisingAgency), domain.ShareCase{CaseID: cs.ID, Agency: a, Country: a[:2], LegalBasis: "random"})
		} else {
			c.run(super(cs.SupervisingAgency), domain.RevokeCaseSharing{CaseID: cs.ID, Agency: a, Reason: "random"})
		}
	case 3:
		cs, ok := c.caseState()
		if !ok {
			return
		}
		specs := make([]domain.ExhibitSpec, 1+c.pick("exhibits", 3))
		for i := range specs {
			specs[i] = domain.ExhibitSpec{Label: fmt.Sprintf("%d of %d", i+1, len(specs)), Category: "drugs",
				PresumedSubstance: []string{"cannabis resin", "cocaine", "heroin"}[c.pick("substance", 3)], UnitCount: 1,
				SealNumber: fmt.Sprintf("S-%d-%d", w.keys, i), Weighing: weighing(int64(1000 + c.pick("grams", 5000)))}
		}
		c.run(super(cs.OwnerAgency), domain.RecordSeizure{CaseID: cs.ID, RecordNumber: fmt.Sprintf("PV-%d", w.keys), SeizedAt: w.now,
			ClosedAt: w.now, Place: domain.Place{Name: "somewhere", Country: cs.Country, Code: cs.Country + "XXX"}, Cause: "random",
			DetectionMethod: "random", Officers: []string{"u"}, Custodian: domain.Party{Agency: cs.OwnerAgency}, Exhibits: specs})
	default:
		x, ok := c.exhibit()
		if !ok {
			return
		}
		c.exhibitStep(n, x)
	}
}

func (c *chaos) exhibitStep(n int, x *domain.Exhibit) {
	w := c.w
	holder := super(x.Custodian.Agency)
	switch n {
	case 4:
		to := c.agency()
		purpose := []string{"storage", "analysis"}[c.pick("purpose", 2)]
		c.run(holder, domain.OfferTransfer{ExhibitID: x.ID, To: domain.Party{Agency: to}, Purpose: purpose, AuthorityRef: "MLA-1"})
	case 5, 6, 7:
		if x.Pending == nil {
			return
		}
		t := x.Pending
		switch n {
		case 5:
			c.run(super(t.To.Agency), domain.AcceptTransfer{ExhibitID: x.ID, TransferID: t.TransferID, Seal: c.seal(x)})
		case 6:
			c.run(super(t.To.Agency), domain.RejectTransfer{ExhibitID: x.ID, TransferID: t.TransferID, Reason: "no room"})
		default:
			c.run(holder, domain.CancelTransfer{ExhibitID: x.ID, TransferID: t.TransferID, Reason: "changed plans"})
		}
	case 8:
		c.run(holder, domain.StoreExhibit{ExhibitID: x.ID, Location: fmt.Sprintf("SHELF-%d", c.pick("shelf", 3))})
	case 9:
		c.run(holder, domain.CheckOut{ExhibitID: x.ID, To: domain.Party{Agency: c.agency()}, Purpose: "hearing",
			DueAt: w.now.Add(time.Duration(1+c.pick("due", 48)) * time.Hour)})
	case 10:
		c.run(holder, domain.CheckIn{ExhibitID: x.ID, Seal: c.seal(x)})
	case 11:
		c.run(holder, domain.InspectSeal{ExhibitID: x.ID, Seal: c.seal(x)})
	case 12:
		c.run(holder, domain.TakeSubSample{ExhibitID: x.ID, Label: "sub", Purpose: "analysis", SealNumber: fmt.Sprintf("SS-%d", w.keys),
			Weighing: domain.Weighing{GrossMg: 25_000, NetMg: 20_000, TareMg: 5_000, UncertaintyMg: 20, ScaleID: "S", CalibrationRef: "C"}})
	case 13:
		c.run(holder, domain.RecordLabReceipt{ExhibitID: x.ID, LabCaseNumber: "LAB-1", Seal: c.seal(x), PackagingCondition: "good"})
	case 14, 15:
		body := domain.ReportBody{LabCaseNumber: "LAB-1", Substances: []domain.Substance{{Name: []string{"THC", "cocaine"}[c.pick("found", 2)],
			PurityBP: int64(c.pick("purity", 10000))}}, NetMg: 19_000, Techniques: []string{"GC-MS"}, Reviewer: "r", ReportDigest: digest}
		if n == 14 || len(x.Reports) == 0 {
			c.run(holder, domain.ReportAnalysis{ExhibitID: x.ID, Report: body})
			return
		}
		for id := range x.Reports {
			c.run(holder, domain.AmendReport{ExhibitID: x.ID, ReportID: id, Reason: "typo", Report: body})
			return
		}
	case 16:
		c.run(holder, domain.RaiseDiscrepancy{ExhibitID: x.ID, Kind: domain.DiscrepancyOther, Detail: "random"})
	case 17:
		for id := range x.Discrepancies {
			c.run(holder, domain.ResolveDiscrepancy{ExhibitID: x.ID, DiscrepancyID: id, Resolution: "explained"})
			return
		}
	case 18:
		id := x.ID
		c.run(super("MA-PARQUET-TNG"), domain.PlaceHold{CaseID: x.CaseID, ExhibitID: &id, Reason: "appeal"})
		c.run(super("FR-JI-MRS"), domain.PlaceHold{CaseID: x.CaseID, Reason: "appeal"})
	case 19:
		for hid, h := range x.Holds {
			c.run(super(h.Agency), domain.ReleaseHold{CaseID: x.CaseID, ExhibitID: h.ExhibitID, HoldID: hid, Reason: "done"})
			return
		}
	case 20:
		c.run(holder, domain.AuditInventory{ExhibitID: x.ID, InventoryRef: "INV-1", Found: c.pick("found", 4) > 0, Location: x.Custodian.Location})
	case 22:
		c.run(holder, domain.OpenSeal{ExhibitID: x.ID, Purpose: "sampling", AuthorityRef: "REQ-1"})
	case 23:
		c.run(holder, domain.ResealExhibit{ExhibitID: x.ID, SealNumber: fmt.Sprintf("RS-%d", w.keys)})
	default:
		c.run(holder, domain.AddAnnotation{ExhibitID: x.ID, Kind: "note", Text: "seen"})
	}
}
