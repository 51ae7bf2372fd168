package domain

import (
	"time"

	"github.com/google/uuid"
)

// AuthoriseDisposal is a magistrate's order to destroy, return or release an
// exhibit. A magistrate of a participant agency issues it; the challenge
// deadline is not before the notification. One order per exhibit.
type AuthoriseDisposal struct {
	At
	ExhibitID         uuid.UUID `json:"exhibit_id" validate:"required"`
	OrderRef          string    `json:"order_ref" validate:"required,max=200"`
	Method            string    `json:"method" validate:"required,oneof=destruction return release"`
	NotifiedAt        time.Time `json:"notified_at" validate:"required"`
	ChallengeDeadline time.Time `json:"challenge_deadline" validate:"required"`
	RetainSample      bool      `json:"retain_sample"`
}

func (AuthoriseDisposal) Name() string       { return "AuthoriseDisposal" }
func (c AuthoriseDisposal) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c AuthoriseDisposal) decide(d *decision) error {
	if err := d.as(RoleMagistrate); err != nil {
		return err
	}
	if c.ChallengeDeadline.Before(c.NotifiedAt) {
		return invalid(d.cmd, "challenge_deadline", "must not precede notified_at")
	}
	x, cs, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	if !cs.Participant(d.p.Agency) {
		return forbidden(d.cmd, "agency %s does not participate in case %s", d.p.Agency, cs.ID)
	}
	if err := active(x); err != nil {
		return err
	}
	if x.Disposal != nil {
		return rule("disposal.already-authorised", "exhibit_id", "exhibit %s already has disposal order %s", x.ID, x.Disposal.OrderRef)
	}
	d.emit(x.Stream(), x.Revision(), DisposalAuthorised{
		ExhibitRef: ref(x), AuthorisationID: d.newID("disposal"), Authority: d.p.Agency, OrderRef: c.OrderRef,
		Method: c.Method, NotifiedAt: utc(c.NotifiedAt), ChallengeDeadline: utc(c.ChallengeDeadline), RetainSample: c.RetainSample,
	})
	return nil
}

// disposable checks what every disposal needs: a custodian of the custodian
// agency, an order for this method, its challenge deadline passed (both on
// the server clock and in occurred_at), no hold on the exhibit or its case,
// no open discrepancy, nothing pending or checked out.
func (d *decision) disposable(id uuid.UUID, method string) (*Exhibit, *Case, error) {
	if err := d.as(RoleCustodian); err != nil {
		return nil, nil, err
	}
	x, cs, err := d.exhibit(id)
	if err != nil {
		return nil, nil, err
	}
	if err := first(d.custodian(x), active(x), notPending(x), notCheckedOut(x), notMissing(x)); err != nil {
		return nil, nil, err
	}
	if x.Disposal == nil || x.Disposal.Method != method {
		return nil, nil, rule("disposal.not-authorised", "exhibit_id", "exhibit %s has no %s order", x.ID, method)
	}
	if d.now.Before(x.Disposal.ChallengeDeadline) || d.at.Before(x.Disposal.ChallengeDeadline) {
		return nil, nil, rule("disposal.challenge-pending", "occurred_at", "order %s can be challenged until %s",
			x.Disposal.OrderRef, x.Disposal.ChallengeDeadline.Format(time.RFC3339))
	}
	if x.OnHold() || len(cs.Holds) > 0 {
		return nil, nil, rule("disposal.on-hold", "exhibit_id", "exhibit %s or its case is on hold", x.ID)
	}
	if len(x.Discrepancies) > 0 {
		return nil, nil, rule("disposal.open-discrepancy", "exhibit_id", "exhibit %s has %d open discrepancies", x.ID, len(x.Discrepancies))
	}
	return x, cs, nil
}

// DestroyExhibit records the destruction (invariant 3): on top of every
// disposal condition, a pre-destruction weighing witnessed by the holder or
// two witnesses from outside the custodian's agency, at least two
// witnesses at destruction, none of them the custodian; and, under a
// judicial information (while the case is open) or when the order retains
// a sample, a sealed sub-sample that survives.
type DestroyExhibit struct {
	At
	ExhibitID uuid.UUID `json:"exhibit_id" validate:"required"`
	Method    string    `json:"method" validate:"required,max=200"`
	Site      string    `json:"site" validate:"required,max=200"`
	Witnesses []Witness `json:"witnesses" validate:"required,max=20,dive"`
}

func (DestroyExhibit) Name() string       { return "DestroyExhibit" }
func (c DestroyExhibit) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c DestroyExhibit) decide(d *decision) error {
	x, cs, err := d.disposable(c.ExhibitID, DisposalDestruction)
	if err != nil {
		return err
	}
	if x.PreDestruction == nil {
		return rule("disposal.no-pre-weighing", "exhibit_id", "exhibit %s has no witnessed pre-destruction weighing since the order", x.ID)
	}
	if err := d.checkWitnesses(x, "witnesses", c.Witnesses); err != nil {
		return err
	}
	if len(c.Witnesses) < 2 {
		return rule("disposal.witnesses", "witnesses", "a destruction needs at least two witnesses, got %d", len(c.Witnesses))
	}
	if (cs.LegalFramework == FrameworkJudicialInformation && !cs.Closed) || x.Disposal.RetainSample {
		if !d.retainedSample(x) {
			return rule("disposal.no-retained-sample", "exhibit_id", "exhibit %s has no sealed sub-sample to retain", x.ID)
		}
	}
	d.emit(x.Stream(), x.Revision(), ExhibitDestroyed{
		ExhibitRef: ref(x), AuthorisationID: x.Disposal.AuthorisationID, Method: c.Method, Site: c.Site,
		Witnesses: c.Witnesses, PreWeightMg: x.PreDestruction.NetMg,
	})
	return nil
}

// retainedSample: a sub-sample of x, loaded in the view, sealed shut with
// an unbroken seal and not terminal.
func (d *decision) retainedSample(x *Exhibit) bool {
	for _, id := range x.SubSamples {
		s, ok := d.v.Exhibits[id]
		if ok && s != nil && s.Seal != "" && !s.SealOpen && !s.SealBroken && !s.Status().Terminal() {
			return true
		}
	}
	return false
}

// ReturnExhibit records that the exhibit was returned to its owner under a
// return order; every disposal condition applies.
type ReturnExhibit struct {
	At
	ExhibitID  uuid.UUID `json:"exhibit_id" validate:"required"`
	ReturnedTo string    `json:"returned_to" validate:"required,max=200"`
	Remarks    string    `json:"remarks,omitempty" validate:"max=2000"`
}

func (ReturnExhibit) Name() string       { return "ReturnExhibit" }
func (c ReturnExhibit) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c ReturnExhibit) decide(d *decision) error {
	x, _, err := d.disposable(c.ExhibitID, DisposalReturn)
	if err != nil {
		return err
	}
	d.emit(x.Stream(), x.Revision(), ExhibitReturned{ExhibitRef: ref(x), AuthorisationID: x.Disposal.AuthorisationID, ReturnedTo: c.ReturnedTo, Remarks: c.Remarks})
	return nil
}

// ReleaseExhibit records that the exhibit left judicial custody under a
// release order; every disposal condition applies.
type ReleaseExhibit struct {
	At
	ExhibitID  uuid.UUID `json:"exhibit_id" validate:"required"`
	ReleasedTo string    `json:"released_to" validate:"required,max=200"`
	Reason     string    `json:"reason" validate:"required,max=2000"`
}

func (ReleaseExhibit) Name() string       { return "ReleaseExhibit" }
func (c ReleaseExhibit) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c ReleaseExhibit) decide(d *decision) error {
	x, _, err := d.disposable(c.ExhibitID, DisposalRelease)
	if err != nil {
		return err
	}
	d.emit(x.Stream(), x.Revision(), ExhibitReleased{ExhibitRef: ref(x), AuthorisationID: x.Disposal.AuthorisationID, ReleasedTo: c.ReleasedTo, Reason: c.Reason})
	return nil
}
