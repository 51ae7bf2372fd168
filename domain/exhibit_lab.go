package domain

import (
	"github.com/google/uuid"
)

// TakeSubSample takes a sub-sample from an exhibit; the sub-sample becomes
// an exhibit of its own, sealed and weighed, held by the same agency. A
// handler of the holding agency takes it from a parent whose seal is open
// (or that was never sealed), that was weighed, and that holds at least the
// sub-sample's net mass (invariant 6).
//
// Appends: the sub-sample's stream first (ExhibitRegistered, ExhibitSealed,
// ExhibitWeighed), then SubSampleTaken on the parent, the commit record.
type TakeSubSample struct {
	At
	ExhibitID uuid.UUID `json:"exhibit_id" validate:"required"` // the parent
	Label     string    `json:"label" validate:"required,max=100"`
	Reference string    `json:"reference,omitempty" validate:"max=100"`
	Purpose   string    `json:"purpose" validate:"required,max=500"`
	Packaging string    `json:"packaging,omitempty" validate:"max=500"`
	// SealNumber is the sub-sample's own seal.
	SealNumber string   `json:"seal_number" validate:"required,max=100"`
	Weighing   Weighing `json:"weighing"`
}

func (TakeSubSample) Name() string       { return "TakeSubSample" }
func (c TakeSubSample) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c TakeSubSample) decide(d *decision) error {
	if err := d.as(handlers...); err != nil {
		return err
	}
	if err := c.Weighing.check(d.cmd, "weighing"); err != nil {
		return err
	}
	x, _, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	if err := first(d.holder(x), active(x), notPending(x), notMissing(x)); err != nil {
		return err
	}
	if x.Seal != "" && !x.SealOpen {
		return rule("subsample.parent-sealed", "exhibit_id", "the seal %s of exhibit %s must be opened before sampling", x.Seal, x.ID)
	}
	if !x.Mass.Known {
		return rule("subsample.parent-not-weighed", "exhibit_id", "exhibit %s was never weighed", x.ID)
	}
	if c.Weighing.NetMg > x.Mass.NetMg {
		return rule("subsample.exceeds-parent", "weighing.net_mg",
			"a sub-sample of %d mg exceeds the %d mg exhibit %s holds", c.Weighing.NetMg, x.Mass.NetMg, x.ID)
	}
	if c.SealNumber == x.Seal {
		return rule("seal.reused", "seal_number", "seal %s is the parent's seal", c.SealNumber)
	}
	location := ""
	if x.Holder() == x.Custodian.Agency {
		location = x.Custodian.Location
	}
	childID := d.newID("sub-sample")
	child := ExhibitRef{ExhibitID: childID, CaseID: x.CaseID}
	stream := ExhibitStream(childID)
	parentID := x.ID
	d.emit(stream, NoStream, ExhibitRegistered{
		ExhibitRef: child, SeizureID: x.SeizureID, ParentID: &parentID, RegisteredAt: d.at,
		Label: c.Label, Reference: c.Reference, Description: c.Purpose, Category: x.Registered.Category,
		PresumedSubstance: x.Registered.PresumedSubstance, UnitCount: 1, Packaging: c.Packaging,
		Custodian: Party{Agency: x.Holder(), Person: d.p.User, Location: location},
	})
	d.emit(stream, NoStream, ExhibitSealed{ExhibitRef: child, SealNumber: c.SealNumber})
	d.emit(stream, NoStream, c.Weighing.event(child, PurposeSubSample))
	d.emit(x.Stream(), x.Revision(), SubSampleTaken{
		ExhibitRef: ref(x), SubSampleID: childID, Label: c.Label, NetMg: c.Weighing.NetMg,
		UncertaintyMg: c.Weighing.UncertaintyMg, SealNumber: c.SealNumber, Purpose: c.Purpose,
	})
	return nil
}

// RecordLabReceipt records a lab's receipt of an exhibit it holds, with the
// seal, packaging condition and weight as received (ISO/IEC 17025 §7.4). An
// analyst of the holding lab records it, once per stay.
type RecordLabReceipt struct {
	At
	ExhibitID          uuid.UUID   `json:"exhibit_id" validate:"required"`
	LabCaseNumber      string      `json:"lab_case_number" validate:"required,max=100"`
	Seal               SealSeen    `json:"seal"`
	PackagingCondition string      `json:"packaging_condition" validate:"required,max=500"`
	Weight             *WeightSeen `json:"weight,omitempty"`
}

func (RecordLabReceipt) Name() string       { return "RecordLabReceipt" }
func (c RecordLabReceipt) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c RecordLabReceipt) decide(d *decision) error {
	if err := d.as(RoleAnalyst); err != nil {
		return err
	}
	x, _, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	if err := first(d.holder(x), active(x), notPending(x)); err != nil {
		return err
	}
	if x.LabReceipt != nil && x.LabReceipt.Lab == d.p.Agency {
		return rule("lab.receipt-recorded", "exhibit_id", "%s already recorded its receipt of exhibit %s", d.p.Agency, x.ID)
	}
	id := d.emit(x.Stream(), x.Revision(), LabReceiptRecorded{
		ExhibitRef: ref(x), Lab: d.p.Agency, LabCaseNumber: c.LabCaseNumber, Seal: c.Seal,
		PackagingCondition: c.PackagingCondition, Weight: c.Weight,
	})
	d.observe(x, id, observation{seal: &c.Seal, gross: c.Weight})
	return nil
}

// ReportBody is the content of an analysis report as the analyst submits
// it; the analyst is the acting principal.
type ReportBody struct {
	LabCaseNumber     string      `json:"lab_case_number" validate:"required,max=100"`
	Substances        []Substance `json:"substances" validate:"required,min=1,max=50,dive"`
	NetMg             int64       `json:"net_mg" validate:"gt=0,lte=1000000000000000"`
	NetUncertaintyMg  int64       `json:"net_uncertainty_mg" validate:"gte=0,lte=1000000000000"`
	Techniques        []string    `json:"techniques" validate:"required,min=1,max=20,dive,required,max=100"`
	SamplingStatement string      `json:"sampling_statement,omitempty" validate:"max=4000"`
	Reviewer          string      `json:"reviewer" validate:"required,max=100"`
	ReportDigest      string      `json:"report_digest" validate:"required,len=64,hexadecimal,lowercase"`
	ConsumedMg        int64       `json:"consumed_mg,omitempty" validate:"gte=0,lte=1000000000000000"`
}

func (b ReportBody) report(analyst string) Report {
	return Report{
		LabCaseNumber: b.LabCaseNumber, Substances: b.Substances, NetMg: b.NetMg, NetUncertaintyMg: b.NetUncertaintyMg,
		Techniques: b.Techniques, SamplingStatement: b.SamplingStatement, Analyst: analyst, Reviewer: b.Reviewer,
		ReportDigest: b.ReportDigest, ConsumedMg: b.ConsumedMg,
	}
}

// ReportAnalysis posts analysis results (invariant 7): only an analyst of
// the lab that holds the exhibit, after recording its receipt; the reviewer
// is someone else. The net weight is reconciled with the expected mass; the
// declared consumption leaves the exhibit.
type ReportAnalysis struct {
	At
	ExhibitID uuid.UUID  `json:"exhibit_id" validate:"required"`
	Report    ReportBody `json:"report"`
}

func (ReportAnalysis) Name() string       { return "ReportAnalysis" }
func (c ReportAnalysis) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c ReportAnalysis) decide(d *decision) error {
	if err := d.as(RoleAnalyst); err != nil {
		return err
	}
	x, _, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	if err := first(d.holder(x), active(x), notPending(x)); err != nil {
		return err
	}
	if x.LabReceipt == nil || x.LabReceipt.Lab != d.p.Agency {
		return rule("lab.no-receipt", "exhibit_id", "%s has not recorded its receipt of exhibit %s", d.p.Agency, x.ID)
	}
	if c.Report.Reviewer == d.p.User {
		return rule("analysis.self-review", "report.reviewer", "the reviewer must not be the analyst")
	}
	if x.Mass.Known && c.Report.ConsumedMg > x.Mass.NetMg {
		return rule("analysis.consumes-too-much", "report.consumed_mg", "%d mg consumed exceeds the %d mg exhibit %s holds", c.Report.ConsumedMg, x.Mass.NetMg, x.ID)
	}
	id := d.emit(x.Stream(), x.Revision(), AnalysisReported{
		ExhibitRef: ref(x), ReportID: d.newID("report"), Lab: d.p.Agency, Report: c.Report.report(d.p.User),
	})
	d.observe(x, id, observation{netMg: c.Report.NetMg, netUncMg: c.Report.NetUncertaintyMg})
	return nil
}

// AmendReport supersedes a report by a complete new version with a reason;
// the original stays in the history. Only an analyst of the lab that
// reported amends, while the exhibit is not terminal.
type AmendReport struct {
	At
	ExhibitID uuid.UUID  `json:"exhibit_id" validate:"required"`
	ReportID  uuid.UUID  `json:"report_id" validate:"required"`
	Reason    string     `json:"reason" validate:"required,max=2000"`
	Report    ReportBody `json:"report"`
}

func (AmendReport) Name() string       { return "AmendReport" }
func (c AmendReport) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c AmendReport) decide(d *decision) error {
	if err := d.as(RoleAnalyst); err != nil {
		return err
	}
	x, _, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	r, ok := x.Reports[c.ReportID]
	if !ok {
		return notFound(d.cmd, "report %s of exhibit %s", c.ReportID, x.ID)
	}
	if d.p.Agency != r.Lab {
		return forbidden(d.cmd, "report %s was issued by %s", c.ReportID, r.Lab)
	}
	if err := active(x); err != nil {
		return err
	}
	if c.Report.Reviewer == d.p.User {
		return rule("analysis.self-review", "report.reviewer", "the reviewer must not be the analyst")
	}
	if c.Report.ConsumedMg != r.Report.ConsumedMg {
		return rule("analysis.consumption-fixed", "report.consumed_mg", "the consumption declared by report %s (%d mg) cannot be amended; annotate instead", c.ReportID, r.Report.ConsumedMg)
	}
	d.emit(x.Stream(), x.Revision(), ReportAmended{
		ExhibitRef: ref(x), AmendmentID: d.newID("amendment"), ReportID: c.ReportID, Lab: r.Lab,
		Reason: c.Reason, Report: c.Report.report(d.p.User),
	})
	return nil
}
