package domain

import (
	"time"

	"github.com/google/uuid"
)

// Mass is what an exhibit should weigh now: the last measurement minus what
// left it since (sub-samples, declared consumption). Known (the net mass)
// is false until the first weighing; GrossKnown turns true with the first
// weighing or gross weight seen.
type Mass struct {
	Known              bool
	GrossKnown         bool
	NetMg              int64
	NetUncertaintyMg   int64
	GrossMg            int64
	GrossUncertaintyMg int64
}

// Exhibit is the state folded from an exhibit's stream.
type Exhibit struct {
	ID           uuid.UUID
	CaseID       uuid.UUID
	SeizureID    uuid.UUID
	ParentID     uuid.UUID // uuid.Nil unless a sub-sample
	Registered   ExhibitRegistered
	RegisteredAt time.Time
	// Custodian is the one agency (optionally a person) holding the exhibit,
	// and its location.
	Custodian Party
	// Seal is the last seal applied ("" if never sealed); SealOpen is true
	// between SealOpened and ExhibitResealed.
	Seal     string
	SealOpen bool
	// SealBroken is set when a seal was seen broken, damaged, missing or not
	// the last one applied; cleared by a reseal.
	SealBroken bool
	// Missing is set when an inventory did not find the exhibit; cleared
	// when one finds it.
	Missing   bool
	InCustody bool
	Mass      Mass
	// Pending is the transfer offered and not yet accepted, rejected or
	// cancelled; Checkout the open checkout.
	Pending  *TransferOffered
	Checkout *CheckedOut
	// LabReceipt is the lab receipt recorded since the exhibit last changed
	// hands.
	LabReceipt    *LabReceiptRecorded
	SubSamples    []uuid.UUID
	Reports       map[uuid.UUID]ReportState
	Discrepancies map[uuid.UUID]DiscrepancyRaised // open ones
	Holds         map[uuid.UUID]HoldPlaced        // active exhibit holds
	Disposal      *DisposalAuthorised
	// PreDestruction is the pre-destruction weighing recorded after the
	// disposal authorisation, while the exhibit stayed sealed in the same
	// hands: a sub-sample, an opened seal, a consumption, a transfer or a
	// checkout since then voids it.
	PreDestruction *ExhibitWeighed
	Annotations    int
	terminal       Status
	rev            int64
}

// ReportState is the current version of an analysis report.
type ReportState struct {
	Lab        string
	Report     Report
	Amendments int
}

// NewExhibit folds an exhibit's events, in stream order.
func NewExhibit(events ...Event) *Exhibit {
	x := &Exhibit{rev: NoStream}
	for _, e := range events {
		x.Apply(e)
	}
	return x
}

// Stream is "exhibit-<id>".
func (x *Exhibit) Stream() string { return ExhibitStream(x.ID) }

// Revision is the revision of the last event folded (NoStream if none).
func (x *Exhibit) Revision() int64 { return x.rev }

// Related lists what the caller must also load for a decision about x: its
// case, its seizure (if not a sub-sample), its parent and its sub-samples.
func (x *Exhibit) Related() Targets {
	t := Targets{Cases: []uuid.UUID{x.CaseID}}
	if x.ParentID != uuid.Nil {
		t.Exhibits = append(t.Exhibits, x.ParentID)
	} else if x.SeizureID != uuid.Nil {
		t.Seizures = []uuid.UUID{x.SeizureID}
	}
	t.Exhibits = append(t.Exhibits, x.SubSamples...)
	return t
}

// Status is the exhibit's place in the lifecycle.
func (x *Exhibit) Status() Status {
	switch {
	case x.terminal != "":
		return x.terminal
	case x.Pending != nil:
		return StatusInTransfer
	case x.Checkout != nil:
		return StatusCheckedOut
	case x.Disposal != nil:
		return StatusDisposalAuthorised
	case x.InCustody:
		return StatusInCustody
	case x.Seal != "":
		return StatusSealed
	}
	return StatusRegistered
}

// Holder is the agency physically holding the exhibit: the checkout's
// receiver while checked out, otherwise the custodian.
func (x *Exhibit) Holder() string {
	if x.Checkout != nil {
		return x.Checkout.To.Agency
	}
	return x.Custodian.Agency
}

// OnHold reports whether an exhibit hold is active (case holds are on the
// Case).
func (x *Exhibit) OnHold() bool { return len(x.Holds) > 0 }

// Overdue reports whether x is checked out past its due date at now.
func (x *Exhibit) Overdue(now time.Time) bool {
	return x.Checkout != nil && now.After(x.Checkout.DueAt)
}

// sealMatches reports whether a seal seen is the last one applied, intact.
func (x *Exhibit) sealMatches(s SealSeen) bool {
	return s.Condition == SealIntact && x.Seal != "" && !x.SealOpen && s.Number == x.Seal
}

func (x *Exhibit) observeSeal(s SealSeen) {
	if !x.sealMatches(s) {
		x.SealBroken = true
	}
}

// observeGross takes a gross weight seen as the new gross reference.
func (x *Exhibit) observeGross(w *WeightSeen) {
	if w == nil || w.GrossMg <= 0 {
		return
	}
	x.Mass.GrossKnown = true
	x.Mass.GrossMg = w.GrossMg
	x.Mass.GrossUncertaintyMg = w.UncertaintyMg
}

func (x *Exhibit) remove(mg int64) {
	x.Mass.NetMg -= mg
	x.Mass.GrossMg -= mg
}

// Apply folds one event. It never fails; unknown events only advance the
// revision. Pointers to events are accepted like values.
func (x *Exhibit) Apply(e Event) {
	x.rev++
	if x.Reports == nil {
		x.Reports = map[uuid.UUID]ReportState{}
		x.Discrepancies = map[uuid.UUID]DiscrepancyRaised{}
		x.Holds = map[uuid.UUID]HoldPlaced{}
	}
	switch e := deref(e).(type) {
	case ExhibitRegistered:
		x.ID, x.CaseID, x.SeizureID = e.ExhibitID, e.CaseID, e.SeizureID
		if e.ParentID != nil {
			x.ParentID = *e.ParentID
		}
		x.Registered = e
		x.RegisteredAt = e.RegisteredAt
		x.Custodian = e.Custodian
	case ExhibitSealed:
		x.Seal, x.SealOpen, x.SealBroken = e.SealNumber, false, false
	case ExhibitWeighed:
		x.Mass = Mass{Known: true, GrossKnown: true, NetMg: e.NetMg, NetUncertaintyMg: e.UncertaintyMg, GrossMg: e.GrossMg, GrossUncertaintyMg: e.UncertaintyMg}
		if x.Disposal != nil && e.Purpose == PurposePreDestruction {
			w := e
			x.PreDestruction = &w
		}
	case SubSampleTaken:
		x.PreDestruction = nil
		x.SubSamples = append(x.SubSamples, e.SubSampleID)
		x.remove(e.NetMg)
	case TransferOffered:
		t := e
		x.Pending = &t
	case TransferAccepted:
		x.PreDestruction = nil
		x.Pending = nil
		x.Custodian = e.To
		x.InCustody = true
		x.LabReceipt = nil
		x.observeSeal(e.Seal)
		x.observeGross(e.Weight)
	case TransferRejected, TransferCancelled:
		x.Pending = nil
	case ExhibitStored:
		x.Custodian.Location = e.Location
		x.InCustody = true
	case SealInspected:
		x.observeSeal(e.Seal)
	case SealOpened:
		x.PreDestruction = nil
		x.SealOpen = true
	case ExhibitResealed:
		x.Seal, x.SealOpen, x.SealBroken = e.SealNumber, false, false
		if e.GrossMg > 0 {
			x.observeGross(&WeightSeen{GrossMg: e.GrossMg, UncertaintyMg: e.UncertaintyMg})
		}
	case CheckedOut:
		x.PreDestruction = nil
		c := e
		x.Checkout = &c
	case CheckedIn:
		x.Checkout = nil
		x.LabReceipt = nil
		x.InCustody = true
		if e.Location != "" {
			x.Custodian.Location = e.Location
		}
		x.observeSeal(e.Seal)
		x.observeGross(e.Weight)
	case LabReceiptRecorded:
		r := e
		x.LabReceipt = &r
		x.observeSeal(e.Seal)
		x.observeGross(e.Weight)
	case AnalysisReported:
		x.PreDestruction = nil
		x.Reports[e.ReportID] = ReportState{Lab: e.Lab, Report: e.Report}
		if x.Mass.Known {
			x.Mass.NetMg, x.Mass.NetUncertaintyMg = e.NetMg, e.NetUncertaintyMg
		}
		x.remove(e.ConsumedMg)
	case ReportAmended:
		if r, ok := x.Reports[e.ReportID]; ok {
			r.Report = e.Report
			r.Amendments++
			x.Reports[e.ReportID] = r
		}
	case DiscrepancyRaised:
		x.Discrepancies[e.DiscrepancyID] = e
		if e.Kind == DiscrepancyMissing {
			x.Missing = true
		}
	case DiscrepancyResolved:
		delete(x.Discrepancies, e.DiscrepancyID)
	case InventoryAudited:
		if e.Found {
			x.Missing = false
			if e.Location != "" {
				x.Custodian.Location = e.Location
			}
			if e.Seal != nil {
				x.observeSeal(*e.Seal)
			}
			x.observeGross(e.Weight)
		}
	case HoldPlaced:
		if e.ExhibitID != nil {
			x.Holds[e.HoldID] = e
		}
	case HoldReleased:
		delete(x.Holds, e.HoldID)
	case DisposalAuthorised:
		a := e
		x.Disposal = &a
		x.PreDestruction = nil
	case ExhibitDestroyed:
		x.terminal = StatusDestroyed
	case ExhibitReturned:
		x.terminal = StatusReturned
	case ExhibitReleased:
		x.terminal = StatusReleased
	case AnnotationAdded:
		x.Annotations++
	}
}

// Weighing purposes.
const (
	PurposeInitial        = "initial"
	PurposeControl        = "control"
	PurposeSubSample      = "sub-sample"
	PurposePreDestruction = "pre-destruction"
)
