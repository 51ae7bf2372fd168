package domain

import (
	"github.com/google/uuid"
)

func exhibitTargets(id uuid.UUID) Targets { return Targets{Exhibits: []uuid.UUID{id}} }

// SealExhibit applies the first seal. A handler (custodian, officer,
// analyst) of the agency holding the exhibit seals it; later seals change
// only through OpenSeal then ResealExhibit.
type SealExhibit struct {
	At
	ExhibitID  uuid.UUID `json:"exhibit_id" validate:"required"`
	SealNumber string    `json:"seal_number" validate:"required,max=100"`
}

func (SealExhibit) Name() string       { return "SealExhibit" }
func (c SealExhibit) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c SealExhibit) decide(d *decision) error {
	if err := d.as(handlers...); err != nil {
		return err
	}
	x, _, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	if err := first(d.holder(x), active(x), notPending(x)); err != nil {
		return err
	}
	if x.Seal != "" {
		return rule("seal.already-sealed", "seal_number", "exhibit %s is already sealed with %s: open and reseal instead", x.ID, x.Seal)
	}
	d.emit(x.Stream(), x.Revision(), ExhibitSealed{ExhibitRef: ref(x), SealNumber: c.SealNumber})
	return nil
}

// WeighExhibit records a weighing by a handler of the holding agency. A
// weight that does not reconcile with the expected mass (last weighing
// minus sub-samples and consumption, within the combined uncertainty) is
// recorded and raises a discrepancy. Purpose "pre-destruction" needs a
// destruction order and the holder or two witnesses from outside the
// custodian's agency.
type WeighExhibit struct {
	At
	ExhibitID uuid.UUID `json:"exhibit_id" validate:"required"`
	Purpose   string    `json:"purpose" validate:"required,oneof=initial control pre-destruction"`
	Weighing  Weighing  `json:"weighing"`
}

func (WeighExhibit) Name() string       { return "WeighExhibit" }
func (c WeighExhibit) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c WeighExhibit) decide(d *decision) error {
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
	if err := first(d.holder(x), active(x), notPending(x), d.checkWitnesses(x, "weighing.witnesses", c.Weighing.Witnesses)); err != nil {
		return err
	}
	if c.Purpose == PurposePreDestruction {
		if x.Disposal == nil || x.Disposal.Method != DisposalDestruction {
			return rule("disposal.not-authorised", "purpose", "exhibit %s has no destruction order", x.ID)
		}
		if !witnessedOutside(x, c.Weighing) {
			return rule("disposal.weighing-witnesses", "weighing.witnesses",
				"a pre-destruction weighing is witnessed by the holder or by two witnesses from outside %s", x.Custodian.Agency)
		}
	}
	id := d.emit(x.Stream(), x.Revision(), c.Weighing.event(ref(x), c.Purpose))
	o := observation{netMg: c.Weighing.NetMg, netUncMg: c.Weighing.UncertaintyMg}
	if !x.Mass.Known { // no net reference yet: compare the gross with a gross seen earlier
		o.gross = &WeightSeen{GrossMg: c.Weighing.GrossMg, UncertaintyMg: c.Weighing.UncertaintyMg}
	}
	d.observe(x, id, o)
	return nil
}

// witnessedOutside: the holder was present, or two distinct witnesses not
// from the custodian's agency saw the weighing.
func witnessedOutside(x *Exhibit, w Weighing) bool {
	if w.HolderPresent {
		return true
	}
	outside := map[string]bool{}
	for _, wi := range w.Witnesses {
		if wi.Kind == "holder" {
			return true
		}
		if wi.Agency != x.Custodian.Agency {
			outside[wi.Ref] = true
		}
	}
	return len(outside) >= 2
}

// InspectSeal records the seal as seen. A handler of the holding agency or
// an auditor of a participant agency inspects. A seal that is not intact or
// not the last one applied raises a discrepancy and flags the seal broken.
type InspectSeal struct {
	At
	ExhibitID uuid.UUID `json:"exhibit_id" validate:"required"`
	Seal      SealSeen  `json:"seal"`
	Remarks   string    `json:"remarks,omitempty" validate:"max=2000"`
}

func (InspectSeal) Name() string       { return "InspectSeal" }
func (c InspectSeal) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c InspectSeal) decide(d *decision) error {
	x, err := d.heldOrAudited(c.ExhibitID)
	if err != nil {
		return err
	}
	if x.Seal == "" {
		return rule("seal.not-sealed", "exhibit_id", "exhibit %s was never sealed", x.ID)
	}
	id := d.emit(x.Stream(), x.Revision(), SealInspected{ExhibitRef: ref(x), Seal: c.Seal, Remarks: c.Remarks})
	d.observe(x, id, observation{seal: &c.Seal})
	return nil
}

// OpenSeal breaks the last seal, with a purpose and an authority reference.
// A handler of the holding agency opens it, when no transfer is pending.
type OpenSeal struct {
	At
	ExhibitID    uuid.UUID `json:"exhibit_id" validate:"required"`
	Purpose      string    `json:"purpose" validate:"required,max=500"`
	AuthorityRef string    `json:"authority_ref" validate:"required,max=200"`
}

func (OpenSeal) Name() string       { return "OpenSeal" }
func (c OpenSeal) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c OpenSeal) decide(d *decision) error {
	if err := d.as(handlers...); err != nil {
		return err
	}
	x, _, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	if err := first(d.holder(x), active(x), notPending(x), sealedShut(x)); err != nil {
		return err
	}
	d.emit(x.Stream(), x.Revision(), SealOpened{ExhibitRef: ref(x), SealNumber: x.Seal, Purpose: c.Purpose, AuthorityRef: c.AuthorityRef})
	return nil
}

// ResealExhibit applies a new seal after OpenSeal, optionally with the new
// gross weight (new packaging). The new seal differs from the previous one.
type ResealExhibit struct {
	At
	ExhibitID     uuid.UUID `json:"exhibit_id" validate:"required"`
	SealNumber    string    `json:"seal_number" validate:"required,max=100"`
	GrossMg       int64     `json:"gross_mg,omitempty" validate:"gte=0,lte=1000000000000000"`
	UncertaintyMg int64     `json:"uncertainty_mg,omitempty" validate:"gte=0,lte=1000000000000"`
}

func (ResealExhibit) Name() string       { return "ResealExhibit" }
func (c ResealExhibit) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c ResealExhibit) decide(d *decision) error {
	if err := d.as(handlers...); err != nil {
		return err
	}
	x, _, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	if err := first(d.holder(x), active(x)); err != nil {
		return err
	}
	if !x.SealOpen {
		return rule("seal.not-open", "exhibit_id", "exhibit %s has no opened seal: open it first", x.ID)
	}
	if c.SealNumber == x.Seal {
		return rule("seal.reused", "seal_number", "seal %s was already used on exhibit %s", c.SealNumber, x.ID)
	}
	d.emit(x.Stream(), x.Revision(), ExhibitResealed{
		ExhibitRef: ref(x), PreviousSeal: x.Seal, SealNumber: c.SealNumber, GrossMg: c.GrossMg, UncertaintyMg: c.UncertaintyMg,
	})
	return nil
}

// StoreExhibit puts the exhibit in a storage location of its custodian. A
// custodian or officer of the custodian agency stores it, when it is
// neither checked out nor in transfer.
type StoreExhibit struct {
	At
	ExhibitID uuid.UUID `json:"exhibit_id" validate:"required"`
	Location  string    `json:"location" validate:"required,max=200"`
}

func (StoreExhibit) Name() string       { return "StoreExhibit" }
func (c StoreExhibit) Targets() Targets { return exhibitTargets(c.ExhibitID) }

func (c StoreExhibit) decide(d *decision) error {
	if err := d.as(RoleCustodian, RoleOfficer); err != nil {
		return err
	}
	x, _, err := d.exhibit(c.ExhibitID)
	if err != nil {
		return err
	}
	if err := first(d.custodian(x), active(x), notPending(x), notCheckedOut(x), notMissing(x)); err != nil {
		return err
	}
	d.emit(x.Stream(), x.Revision(), ExhibitStored{ExhibitRef: ref(x), Agency: x.Custodian.Agency, Location: c.Location})
	return nil
}
