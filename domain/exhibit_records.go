package domain

import (
	"github.com/google/uuid"
)

// RaiseDiscrepancy opens a discrepancy by hand. A handler of the holding
// agency or an auditor of a participant agency raises it.
type RaiseDiscrepancy struct {
	At
	ExhibitID uuid.UUID `json:"exhibit_id" validate:"required"`
	Kind      string    `json:"kind" validate:"required,oneof=weight-mismatch seal-mismatch location-mismatch missing other"`
	Detail    string    `json:"detail" validate:"required,max=4000"`
}

func (RaiseDiscrepancy) Name() string       { return "RaiseDiscrepancy" }
func (c RaiseDiscrepancy) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c RaiseDiscrepancy) decide(d *decision) error {
	x, err := d.heldOrAudited(c.ExhibitID)
	if err != nil {
		return err
	}
	d.emit(x.Stream(), x.Revision(), DiscrepancyRaised{ExhibitRef: ref(x), DiscrepancyID: d.newID("discrepancy"), Kind: c.Kind, Detail: c.Detail})
	return nil
}

// ResolveDiscrepancy closes an open discrepancy with an explanation. A
// custodian of the custodian agency or a magistrate of a participant agency
// resolves it.
type ResolveDiscrepancy struct {
	At
	ExhibitID     uuid.UUID `json:"exhibit_id" validate:"required"`
	DiscrepancyID uuid.UUID `json:"discrepancy_id" validate:"required"`
	Resolution    string    `json:"resolution" validate:"required,max=4000"`
}

func (ResolveDiscrepancy) Name() string       { return "ResolveDiscrepancy" }
func (c ResolveDiscrepancy) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c ResolveDiscrepancy) decide(d *decision) error {
	if err := d.as(RoleCustodian, RoleMagistrate); err != nil {
		return err
	}
	x, cs, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	if d.role == RoleMagistrate {
		if !cs.Participant(d.p.Agency) {
			err = forbidden(d.cmd, "agency %s does not participate in case %s", d.p.Agency, cs.ID)
		}
	} else {
		err = d.custodian(x)
	}
	if err := first(err, active(x)); err != nil {
		return err
	}
	if _, ok := x.Discrepancies[c.DiscrepancyID]; !ok {
		return notFound(d.cmd, "open discrepancy %s of exhibit %s", c.DiscrepancyID, x.ID)
	}
	d.emit(x.Stream(), x.Revision(), DiscrepancyResolved{ExhibitRef: ref(x), DiscrepancyID: c.DiscrepancyID, Resolution: c.Resolution})
	return nil
}

// AuditInventory records one exhibit checked during an inventory. A
// custodian of the custodian agency or an auditor of a participant agency
// audits an exhibit that is neither checked out nor in transfer. Not found
// raises a "missing" discrepancy (once); found elsewhere than recorded, a
// location discrepancy; the seal and weight seen are reconciled.
type AuditInventory struct {
	At
	ExhibitID    uuid.UUID   `json:"exhibit_id" validate:"required"`
	InventoryRef string      `json:"inventory_ref" validate:"required,max=100"`
	Found        bool        `json:"found"`
	Location     string      `json:"location,omitempty" validate:"max=200"`
	Seal         *SealSeen   `json:"seal,omitempty"`
	Weight       *WeightSeen `json:"weight,omitempty"`
}

func (AuditInventory) Name() string       { return "AuditInventory" }
func (c AuditInventory) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c AuditInventory) decide(d *decision) error {
	if err := d.as(RoleCustodian, RoleAuditor); err != nil {
		return err
	}
	if !c.Found && (c.Seal != nil || c.Weight != nil || c.Location != "") {
		return invalid(d.cmd, "found", "an exhibit not found has no location, seal or weight")
	}
	x, cs, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	if d.role == RoleAuditor {
		err = d.participant(x, cs)
	} else {
		err = d.custodian(x)
	}
	if err := first(err, active(x), notPending(x), notCheckedOut(x)); err != nil {
		return err
	}
	id := d.emit(x.Stream(), x.Revision(), InventoryAudited{
		ExhibitRef: ref(x), InventoryRef: c.InventoryRef, Agency: d.p.Agency, Found: c.Found,
		Location: c.Location, Seal: c.Seal, Weight: c.Weight,
	})
	if !c.Found {
		if !x.Missing {
			d.emit(x.Stream(), x.Revision(), DiscrepancyRaised{
				ExhibitRef: ref(x), DiscrepancyID: d.newID("discrepancy/missing"), Kind: DiscrepancyMissing, Automatic: true,
				CauseEventID: idPtr(id), Detail: "not found during inventory " + c.InventoryRef,
			})
		}
		return nil
	}
	if c.Location != "" && x.Custodian.Location != "" && c.Location != x.Custodian.Location {
		d.emit(x.Stream(), x.Revision(), DiscrepancyRaised{
			ExhibitRef: ref(x), DiscrepancyID: d.newID("discrepancy/location"), Kind: DiscrepancyLocation, Automatic: true,
			CauseEventID: idPtr(id), Detail: "found at " + c.Location + ", recorded at " + x.Custodian.Location,
		})
	}
	d.observe(x, id, observation{seal: c.Seal, gross: c.Weight})
	return nil
}

// AddAnnotation adds a note or a correction (invariant 9: nothing is ever
// edited or deleted). Anyone but an admin, of a participant agency or of
// the custodian agency, annotates; terminal exhibits accept annotations.
type AddAnnotation struct {
	At
	ExhibitID uuid.UUID   `json:"exhibit_id" validate:"required"`
	Kind      string      `json:"kind" validate:"required,oneof=note correction"`
	Text      string      `json:"text" validate:"required,max=8000"`
	Refers    []uuid.UUID `json:"refers,omitempty" validate:"max=100,dive,required"`
}

func (AddAnnotation) Name() string       { return "AddAnnotation" }
func (c AddAnnotation) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c AddAnnotation) decide(d *decision) error {
	if err := d.as(RoleCustodian, RoleOfficer, RoleAnalyst, RoleMagistrate, RoleAuditor); err != nil {
		return err
	}
	if c.Kind == "correction" && len(c.Refers) == 0 {
		return invalid(d.cmd, "refers", "a correction names the events it corrects")
	}
	x, cs, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	if err := d.participant(x, cs); err != nil {
		return err
	}
	d.emit(x.Stream(), x.Revision(), AnnotationAdded{ExhibitRef: ref(x), AnnotationID: d.newID("annotation"), Kind: c.Kind, Text: c.Text, Refers: c.Refers})
	return nil
}

// PlaceHold forbids disposal of a whole case (no exhibit_id) or of one
// exhibit. A magistrate of a participant agency places it.
type PlaceHold struct {
	At
	CaseID       uuid.UUID  `json:"case_id" validate:"required"`
	ExhibitID    *uuid.UUID `json:"exhibit_id,omitempty"`
	Reason       string     `json:"reason" validate:"required,max=2000"`
	AuthorityRef string     `json:"authority_ref,omitempty" validate:"max=200"`
}

func (PlaceHold) Name() string { return "PlaceHold" }
func (c PlaceHold) Targets() Targets {
	t := Targets{Cases: []uuid.UUID{c.CaseID}}
	if c.ExhibitID != nil {
		t.Exhibits = []uuid.UUID{*c.ExhibitID}
	}
	return t
}

func (c PlaceHold) decide(d *decision) error {
	if err := d.as(RoleMagistrate); err != nil {
		return err
	}
	cs, err := d.caseOf(c.CaseID)
	if err != nil {
		return err
	}
	if !cs.Participant(d.p.Agency) {
		return forbidden(d.cmd, "agency %s does not participate in case %s", d.p.Agency, c.CaseID)
	}
	ev := HoldPlaced{HoldID: d.newID("hold"), CaseID: c.CaseID, Agency: d.p.Agency, Reason: c.Reason, AuthorityRef: c.AuthorityRef}
	if c.ExhibitID == nil || *c.ExhibitID == uuid.Nil {
		d.emit(cs.Stream(), cs.Revision(), ev)
		return nil
	}
	x, xc, err := d.exhibit(*c.ExhibitID)
	if err != nil {
		return err
	}
	if xc.ID != cs.ID {
		return notFound(d.cmd, "exhibit %s in case %s", x.ID, cs.ID)
	}
	if err := active(x); err != nil {
		return err
	}
	ev.ExhibitID = idPtr(x.ID)
	d.emit(x.Stream(), x.Revision(), ev)
	return nil
}

// ReleaseHold lifts a hold. A magistrate of the agency that placed it
// releases it.
type ReleaseHold struct {
	At
	CaseID    uuid.UUID  `json:"case_id" validate:"required"`
	ExhibitID *uuid.UUID `json:"exhibit_id,omitempty"`
	HoldID    uuid.UUID  `json:"hold_id" validate:"required"`
	Reason    string     `json:"reason" validate:"required,max=2000"`
}

func (ReleaseHold) Name() string { return "ReleaseHold" }
func (c ReleaseHold) Targets() Targets {
	return PlaceHold{CaseID: c.CaseID, ExhibitID: c.ExhibitID}.Targets()
}

func (c ReleaseHold) decide(d *decision) error {
	if err := d.as(RoleMagistrate); err != nil {
		return err
	}
	cs, err := d.caseOf(c.CaseID)
	if err != nil {
		return err
	}
	holds, stream, rev := cs.Holds, cs.Stream(), cs.Revision()
	var exID *uuid.UUID
	if c.ExhibitID != nil && *c.ExhibitID != uuid.Nil {
		x, xc, err := d.exhibit(*c.ExhibitID)
		if err != nil {
			return err
		}
		if xc.ID != cs.ID {
			return notFound(d.cmd, "exhibit %s in case %s", x.ID, cs.ID)
		}
		if err := active(x); err != nil {
			return err
		}
		holds, stream, rev, exID = x.Holds, x.Stream(), x.Revision(), idPtr(x.ID)
	}
	h, ok := holds[c.HoldID]
	if !ok {
		return notFound(d.cmd, "active hold %s", c.HoldID)
	}
	if h.Agency != d.p.Agency {
		return forbidden(d.cmd, "hold %s was placed by %s", c.HoldID, h.Agency)
	}
	d.emit(stream, rev, HoldReleased{HoldID: c.HoldID, CaseID: cs.ID, ExhibitID: exID, Reason: c.Reason})
	return nil
}
