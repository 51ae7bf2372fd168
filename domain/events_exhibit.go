package domain

import (
	"time"

	"github.com/google/uuid"
)

// Exhibit events (stream exhibit-<id>). Every one carries the exhibit's ID
// and its case's ID (ExhibitRef), so a read model needs no other stream.
const (
	TypeExhibitRegistered = "ExhibitRegistered"
	TypeExhibitSealed     = "ExhibitSealed"
	TypeExhibitWeighed    = "ExhibitWeighed"
	TypeSubSampleTaken    = "SubSampleTaken"
	TypeTransferOffered   = "TransferOffered"
	TypeTransferAccepted  = "TransferAccepted"
	TypeTransferRejected  = "TransferRejected"
	TypeTransferCancelled = "TransferCancelled"
	TypeExhibitStored     = "ExhibitStored"
	TypeSealInspected     = "SealInspected"
	TypeSealOpened        = "SealOpened"
	TypeExhibitResealed   = "ExhibitResealed"
	TypeCheckedOut        = "CheckedOut"
	TypeCheckedIn         = "CheckedIn"
)

// ExhibitRef names the exhibit an event concerns and its case.
type ExhibitRef struct {
	ExhibitID uuid.UUID `json:"exhibit_id"`
	CaseID    uuid.UUID `json:"case_id"`
}

// ExhibitRegistered is the first event of an exhibit's stream. A seizure's
// exhibit has SeizureID and no ParentID; a sub-sample has ParentID (and its
// parent's SeizureID). RegisteredAt is when the exhibit came into being (the
// seizure time, or when the sub-sample was taken): no later event may occur
// before it. Custodian is who holds it from then on.
type ExhibitRegistered struct {
	ExhibitRef
	SeizureID         uuid.UUID    `json:"seizure_id"`
	ParentID          *uuid.UUID   `json:"parent_id,omitempty"`
	RegisteredAt      time.Time    `json:"registered_at"`
	Label             string       `json:"label"`
	Reference         string       `json:"reference,omitempty"`
	Description       string       `json:"description,omitempty"`
	Category          string       `json:"category"`
	PresumedSubstance string       `json:"presumed_substance,omitempty"`
	UnitCount         int64        `json:"unit_count"`
	Packaging         string       `json:"packaging,omitempty"`
	FieldTest         *FieldTest   `json:"field_test,omitempty"`
	Attachments       []Attachment `json:"attachments,omitempty"`
	Custodian         Party        `json:"custodian"`
}

// ExhibitSealed applies the exhibit's first seal.
type ExhibitSealed struct {
	ExhibitRef
	SealNumber string `json:"seal_number"`
}

// ExhibitWeighed is a weighing with a calibrated scale. Purpose is
// "initial", "control", "sub-sample" or "pre-destruction"; Witnesses and
// HolderPresent say who saw it. Gross = net + tare.
type ExhibitWeighed struct {
	ExhibitRef
	GrossMg        int64     `json:"gross_mg"`
	NetMg          int64     `json:"net_mg"`
	TareMg         int64     `json:"tare_mg"`
	UncertaintyMg  int64     `json:"uncertainty_mg"`
	ScaleID        string    `json:"scale_id"`
	CalibrationRef string    `json:"calibration_ref"`
	Purpose        string    `json:"purpose"`
	HolderPresent  bool      `json:"holder_present,omitempty"`
	Witnesses      []Witness `json:"witnesses,omitempty"`
}

// SubSampleTaken is the commit record of a sub-sample, in the parent's
// stream: it is appended after the sub-sample's own stream was written.
// Read models MUST show a sub-sample only once this event exists. NetMg
// leaves the parent.
type SubSampleTaken struct {
	ExhibitRef
	SubSampleID   uuid.UUID `json:"sub_sample_id"`
	Label         string    `json:"label"`
	NetMg         int64     `json:"net_mg"`
	UncertaintyMg int64     `json:"uncertainty_mg"`
	SealNumber    string    `json:"seal_number"`
	Purpose       string    `json:"purpose"`
}

// TransferOffered offers custody to To; custody moves only on
// TransferAccepted. AuthorityRef is required across borders (for example a
// mutual legal assistance request number).
type TransferOffered struct {
	ExhibitRef
	TransferID   uuid.UUID `json:"transfer_id"`
	From         Party     `json:"from"`
	To           Party     `json:"to"`
	Purpose      string    `json:"purpose"`
	AuthorityRef string    `json:"authority_ref,omitempty"`
	CrossBorder  bool      `json:"cross_border,omitempty"`
	SealNumber   string    `json:"seal_number"` // the last seal applied, as handed over
}

// TransferAccepted moves custody to To, with the seal and weight as the
// receiver saw them.
type TransferAccepted struct {
	ExhibitRef
	TransferID uuid.UUID   `json:"transfer_id"`
	From       Party       `json:"from"`
	To         Party       `json:"to"`
	Seal       SealSeen    `json:"seal"`
	Weight     *WeightSeen `json:"weight,omitempty"`
	Remarks    string      `json:"remarks,omitempty"`
}

// TransferRejected ends a pending transfer; custody stays with From.
type TransferRejected struct {
	ExhibitRef
	TransferID uuid.UUID `json:"transfer_id"`
	From       Party     `json:"from"`
	To         Party     `json:"to"`
	Reason     string    `json:"reason"`
}

// TransferCancelled withdraws a pending transfer.
type TransferCancelled struct {
	ExhibitRef
	TransferID uuid.UUID `json:"transfer_id"`
	From       Party     `json:"from"`
	To         Party     `json:"to"`
	Reason     string    `json:"reason"`
}

// ExhibitStored puts the exhibit in a storage location of its custodian.
type ExhibitStored struct {
	ExhibitRef
	Agency   string `json:"agency"`
	Location string `json:"location"`
}

// SealInspected records a seal as seen during an inspection.
type SealInspected struct {
	ExhibitRef
	Seal    SealSeen `json:"seal"`
	Remarks string   `json:"remarks,omitempty"`
}

// SealOpened breaks the last seal, with a purpose and an authority.
type SealOpened struct {
	ExhibitRef
	SealNumber   string `json:"seal_number"`
	Purpose      string `json:"purpose"`
	AuthorityRef string `json:"authority_ref,omitempty"`
}

// ExhibitResealed applies a new seal after SealOpened. GrossMg, if not zero,
// is the new gross weight (new packaging).
type ExhibitResealed struct {
	ExhibitRef
	PreviousSeal  string `json:"previous_seal"`
	SealNumber    string `json:"seal_number"`
	GrossMg       int64  `json:"gross_mg,omitempty"`
	UncertaintyMg int64  `json:"uncertainty_mg,omitempty"`
}

// CheckedOut lends the exhibit to To (a lab, a court) until DueAt; custody
// stays with the custodian, who must check it back in.
type CheckedOut struct {
	ExhibitRef
	CheckoutID   uuid.UUID `json:"checkout_id"`
	Custodian    Party     `json:"custodian"`
	To           Party     `json:"to"`
	Purpose      string    `json:"purpose"`
	DueAt        time.Time `json:"due_at"`
	AuthorityRef string    `json:"authority_ref,omitempty"`
}

// CheckedIn ends a checkout, with seal and weight as seen on return.
type CheckedIn struct {
	ExhibitRef
	CheckoutID uuid.UUID   `json:"checkout_id"`
	Seal       SealSeen    `json:"seal"`
	Weight     *WeightSeen `json:"weight,omitempty"`
	Location   string      `json:"location,omitempty"`
	Late       bool        `json:"late,omitempty"`
}

func (ExhibitRegistered) EventType() string { return TypeExhibitRegistered }
func (ExhibitSealed) EventType() string     { return TypeExhibitSealed }
func (ExhibitWeighed) EventType() string    { return TypeExhibitWeighed }
func (SubSampleTaken) EventType() string    { return TypeSubSampleTaken }
func (TransferOffered) EventType() string   { return TypeTransferOffered }
func (TransferAccepted) EventType() string  { return TypeTransferAccepted }
func (TransferRejected) EventType() string  { return TypeTransferRejected }
func (TransferCancelled) EventType() string { return TypeTransferCancelled }
func (ExhibitStored) EventType() string     { return TypeExhibitStored }
func (SealInspected) EventType() string     { return TypeSealInspected }
func (SealOpened) EventType() string        { return TypeSealOpened }
func (ExhibitResealed) EventType() string   { return TypeExhibitResealed }
func (CheckedOut) EventType() string        { return TypeCheckedOut }
func (CheckedIn) EventType() string         { return TypeCheckedIn }
