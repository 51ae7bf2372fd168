package domain

import (
	"time"

	"github.com/google/uuid"
)

// OfferTransfer offers custody of an exhibit to another agency, a named
// person, or a storage location (invariant 1). Only a handler of the
// custodian agency offers; the receiving agency must participate in the
// case; across borders an authority reference (for example a mutual legal
// assistance request number) is required. One pending transfer at a time;
// the exhibit must be sealed shut, not checked out, not missing.
type OfferTransfer struct {
	At
	ExhibitID    uuid.UUID `json:"exhibit_id" validate:"required"`
	To           Party     `json:"to"`
	Purpose      string    `json:"purpose" validate:"required,max=500"`
	AuthorityRef string    `json:"authority_ref,omitempty" validate:"max=200"`
}

func (OfferTransfer) Name() string       { return "OfferTransfer" }
func (c OfferTransfer) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c OfferTransfer) decide(d *decision) error {
	if err := d.as(handlers...); err != nil {
		return err
	}
	x, cs, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	if err := first(d.custodian(x), active(x), notPending(x), notCheckedOut(x), notMissing(x), sealedShut(x)); err != nil {
		return err
	}
	if !cs.Participant(c.To.Agency) {
		return rule("transfer.receiver-not-participant", "to.agency", "agency %s does not participate in case %s", c.To.Agency, cs.ID)
	}
	if c.To.Agency == x.Custodian.Agency && c.To.Person == x.Custodian.Person && (c.To.Location == "" || c.To.Location == x.Custodian.Location) {
		return rule("transfer.to-self", "to", "exhibit %s is already held by %s", x.ID, c.To.Agency)
	}
	from, _ := cs.CountryOf(x.Custodian.Agency)
	to, _ := cs.CountryOf(c.To.Agency)
	cross := from == "" || from != to
	if cross && c.AuthorityRef == "" {
		return rule("transfer.authority-required", "authority_ref",
			"a transfer from %s to %s crosses a border: give the legal authority (for example the mutual legal assistance request number)", x.Custodian.Agency, c.To.Agency)
	}
	d.emit(x.Stream(), x.Revision(), TransferOffered{
		ExhibitRef: ref(x), TransferID: d.newID("transfer"), From: x.Custodian, To: c.To,
		Purpose: c.Purpose, AuthorityRef: c.AuthorityRef, CrossBorder: cross, SealNumber: x.Seal,
	})
	return nil
}

// pendingTransfer is the common ground of answering a transfer: a handler
// acts on an active exhibit whose pending transfer is id. It returns the
// exhibit, its case and the transfer.
func (d *decision) pendingTransfer(exhibitID, id uuid.UUID) (*Exhibit, *Case, *TransferOffered, error) {
	if err := d.as(handlers...); err != nil {
		return nil, nil, nil, err
	}
	x, cs, err := d.exhibit(exhibitID)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := active(x); err != nil {
		return nil, nil, nil, err
	}
	if x.Pending == nil || x.Pending.TransferID != id {
		return nil, nil, nil, notFound(d.cmd, "pending transfer %s of exhibit %s", id, x.ID)
	}
	return x, cs, x.Pending, nil
}

// receiver: the principal is the named receiver of t (its agency, and its
// person if one is named).
func (d *decision) receiver(t *TransferOffered) error {
	if d.p.Agency != t.To.Agency || (t.To.Person != "" && t.To.Person != d.p.User) {
		who := t.To.Agency
		if t.To.Person != "" {
			who = t.To.Person + " of " + who
		}
		return forbidden(d.cmd, "transfer %s is offered to %s", t.TransferID, who)
	}
	return nil
}

// AcceptTransfer takes custody. Only the named receiver (its agency, and
// the person if one was named) accepts, while its agency still participates
// in the case. The seal and the gross weight as seen are recorded as they
// are; a seal that is not the last one applied, or a weight outside the
// combined uncertainty, raises a discrepancy in the same append.
type AcceptTransfer struct {
	At
	ExhibitID  uuid.UUID   `json:"exhibit_id" validate:"required"`
	TransferID uuid.UUID   `json:"transfer_id" validate:"required"`
	Seal       SealSeen    `json:"seal"`
	Weight     *WeightSeen `json:"weight,omitempty"`
	Location   string      `json:"location,omitempty" validate:"max=200"`
	Remarks    string      `json:"remarks,omitempty" validate:"max=2000"`
}

func (AcceptTransfer) Name() string       { return "AcceptTransfer" }
func (c AcceptTransfer) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c AcceptTransfer) decide(d *decision) error {
	x, cs, t, err := d.pendingTransfer(c.ExhibitID, c.TransferID)
	if err != nil {
		return err
	}
	if err := d.receiver(t); err != nil {
		return err
	}
	if !cs.Participant(t.To.Agency) {
		return rule("transfer.receiver-not-participant", "transfer_id", "agency %s no longer participates in case %s", t.To.Agency, cs.ID)
	}
	to := t.To
	if to.Person == "" {
		to.Person = d.p.User
	}
	if c.Location != "" {
		to.Location = c.Location
	}
	id := d.emit(x.Stream(), x.Revision(), TransferAccepted{
		ExhibitRef: ref(x), TransferID: t.TransferID, From: t.From, To: to, Seal: c.Seal, Weight: c.Weight, Remarks: c.Remarks,
	})
	d.observe(x, id, observation{seal: &c.Seal, gross: c.Weight})
	return nil
}

// RejectTransfer refuses a pending transfer; custody stays with the
// sender. Only the named receiver rejects.
type RejectTransfer struct {
	At
	ExhibitID  uuid.UUID `json:"exhibit_id" validate:"required"`
	TransferID uuid.UUID `json:"transfer_id" validate:"required"`
	Reason     string    `json:"reason" validate:"required,max=2000"`
}

func (RejectTransfer) Name() string       { return "RejectTransfer" }
func (c RejectTransfer) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c RejectTransfer) decide(d *decision) error {
	x, _, t, err := d.pendingTransfer(c.ExhibitID, c.TransferID)
	if err != nil {
		return err
	}
	if err := d.receiver(t); err != nil {
		return err
	}
	d.emit(x.Stream(), x.Revision(), TransferRejected{ExhibitRef: ref(x), TransferID: t.TransferID, From: t.From, To: t.To, Reason: c.Reason})
	return nil
}

// CancelTransfer withdraws a pending transfer. A handler of the sending
// (custodian) agency cancels.
type CancelTransfer struct {
	At
	ExhibitID  uuid.UUID `json:"exhibit_id" validate:"required"`
	TransferID uuid.UUID `json:"transfer_id" validate:"required"`
	Reason     string    `json:"reason" validate:"required,max=2000"`
}

func (CancelTransfer) Name() string       { return "CancelTransfer" }
func (c CancelTransfer) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c CancelTransfer) decide(d *decision) error {
	x, _, t, err := d.pendingTransfer(c.ExhibitID, c.TransferID)
	if err != nil {
		return err
	}
	if d.p.Agency != t.From.Agency {
		return forbidden(d.cmd, "transfer %s was offered by %s", t.TransferID, t.From.Agency)
	}
	d.emit(x.Stream(), x.Revision(), TransferCancelled{ExhibitRef: ref(x), TransferID: t.TransferID, From: t.From, To: t.To, Reason: c.Reason})
	return nil
}

// CheckOut lends the exhibit to a lab, a court or an expert until a due
// date (invariant 8); custody stays with the custodian. A custodian of the
// custodian agency checks out a sealed exhibit to a participant agency.
type CheckOut struct {
	At
	ExhibitID    uuid.UUID `json:"exhibit_id" validate:"required"`
	To           Party     `json:"to"`
	Purpose      string    `json:"purpose" validate:"required,max=500"`
	DueAt        time.Time `json:"due_at" validate:"required"`
	AuthorityRef string    `json:"authority_ref,omitempty" validate:"max=200"`
}

func (CheckOut) Name() string       { return "CheckOut" }
func (c CheckOut) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c CheckOut) decide(d *decision) error {
	if err := d.as(RoleCustodian); err != nil {
		return err
	}
	if !c.DueAt.After(d.at) {
		return invalid(d.cmd, "due_at", "must be after occurred_at")
	}
	x, cs, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	if err := first(d.custodian(x), active(x), notPending(x), notCheckedOut(x), notMissing(x), sealedShut(x)); err != nil {
		return err
	}
	if !cs.Participant(c.To.Agency) {
		return rule("checkout.receiver-not-participant", "to.agency", "agency %s does not participate in case %s", c.To.Agency, cs.ID)
	}
	d.emit(x.Stream(), x.Revision(), CheckedOut{
		ExhibitRef: ref(x), CheckoutID: d.newID("checkout"), Custodian: x.Custodian, To: c.To,
		Purpose: c.Purpose, DueAt: utc(c.DueAt), AuthorityRef: c.AuthorityRef,
	})
	return nil
}

// CheckIn ends a checkout. A custodian of the custodian agency checks the
// exhibit back in, with the seal and gross weight as seen; mismatches raise
// discrepancies. A late return is marked late.
type CheckIn struct {
	At
	ExhibitID uuid.UUID   `json:"exhibit_id" validate:"required"`
	Seal      SealSeen    `json:"seal"`
	Weight    *WeightSeen `json:"weight,omitempty"`
	Location  string      `json:"location,omitempty" validate:"max=200"`
}

func (CheckIn) Name() string       { return "CheckIn" }
func (c CheckIn) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c CheckIn) decide(d *decision) error {
	if err := d.as(RoleCustodian); err != nil {
		return err
	}
	x, _, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	if err := first(d.custodian(x), active(x)); err != nil {
		return err
	}
	if x.Checkout == nil {
		return rule("checkout.none", "exhibit_id", "exhibit %s is not checked out", x.ID)
	}
	id := d.emit(x.Stream(), x.Revision(), CheckedIn{
		ExhibitRef: ref(x), CheckoutID: x.Checkout.CheckoutID, Seal: c.Seal, Weight: c.Weight,
		Location: c.Location, Late: d.at.After(x.Checkout.DueAt),
	})
	d.observe(x, id, observation{seal: &c.Seal, gross: c.Weight})
	return nil
}
