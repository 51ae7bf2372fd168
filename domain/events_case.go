package domain

import (
	"time"

	"github.com/google/uuid"
)

// Event is the payload of one domain event. Every event type is a struct in
// this package with JSON tags; EventType is its stable, versioned name (the
// schema version travels beside it, see Encode).
type Event interface {
	EventType() string
}

// Case events (stream case-<id>).
const (
	TypeCaseOpened         = "CaseOpened"
	TypeCaseShared         = "CaseShared"
	TypeCaseSharingRevoked = "CaseSharingRevoked"
	TypeHoldPlaced         = "HoldPlaced"
	TypeHoldReleased       = "HoldReleased"
	TypeCaseClosed         = "CaseClosed"
)

// CaseOpened opens a case owned by OwnerAgency. SupervisingAgency is the
// magistrate's office in charge (prosecutor or investigating judge), which
// participates in the case from the start; it may be empty.
type CaseOpened struct {
	CaseID            uuid.UUID      `json:"case_id"`
	Reference         string         `json:"reference"`
	OwnerAgency       string         `json:"owner_agency"`
	Country           string         `json:"country"`
	LegalFramework    LegalFramework `json:"legal_framework"`
	SupervisingAgency string         `json:"supervising_agency,omitempty"`
	Summary           string         `json:"summary,omitempty"`
}

// CaseShared makes Agency a participant of the case, on a legal basis (for
// example a mutual legal assistance request number).
type CaseShared struct {
	CaseID       uuid.UUID `json:"case_id"`
	Agency       string    `json:"agency"`
	Country      string    `json:"country"`
	LegalBasis   string    `json:"legal_basis"`
	AuthorityRef string    `json:"authority_ref,omitempty"`
	GrantedBy    string    `json:"granted_by"` // the sharing magistrate's agency
}

// CaseSharingRevoked ends Agency's participation.
type CaseSharingRevoked struct {
	CaseID uuid.UUID `json:"case_id"`
	Agency string    `json:"agency"`
	Reason string    `json:"reason"`
}

// HoldPlaced forbids disposal of the whole case (ExhibitID absent, event in
// the case stream) or of one exhibit (event in the exhibit stream).
type HoldPlaced struct {
	HoldID       uuid.UUID  `json:"hold_id"`
	CaseID       uuid.UUID  `json:"case_id"`
	ExhibitID    *uuid.UUID `json:"exhibit_id,omitempty"`
	Agency       string     `json:"agency"`
	Reason       string     `json:"reason"`
	AuthorityRef string     `json:"authority_ref,omitempty"`
}

// HoldReleased lifts a hold.
type HoldReleased struct {
	HoldID    uuid.UUID  `json:"hold_id"`
	CaseID    uuid.UUID  `json:"case_id"`
	ExhibitID *uuid.UUID `json:"exhibit_id,omitempty"`
	Reason    string     `json:"reason"`
}

// CaseClosed closes a case: no new seizure, sharing or hold.
type CaseClosed struct {
	CaseID  uuid.UUID `json:"case_id"`
	Reason  string    `json:"reason"`
	Outcome string    `json:"outcome,omitempty"`
}

func (CaseOpened) EventType() string         { return TypeCaseOpened }
func (CaseShared) EventType() string         { return TypeCaseShared }
func (CaseSharingRevoked) EventType() string { return TypeCaseSharingRevoked }
func (HoldPlaced) EventType() string         { return TypeHoldPlaced }
func (HoldReleased) EventType() string       { return TypeHoldReleased }
func (CaseClosed) EventType() string         { return TypeCaseClosed }

// Seizure events (stream seizure-<id>).
const TypeSeizureRecorded = "SeizureRecorded"

// SeizureRecorded is the commit record of a seizure: it is appended last,
// after every exhibit it lists was registered in its own stream. Read models
// MUST show a seizure, and its exhibits, only once this event exists.
type SeizureRecorded struct {
	SeizureID       uuid.UUID      `json:"seizure_id"`
	CaseID          uuid.UUID      `json:"case_id"`
	RecordNumber    string         `json:"record_number"`
	LegalFramework  LegalFramework `json:"legal_framework"`
	SeizedAt        time.Time      `json:"seized_at"`
	ClosedAt        time.Time      `json:"closed_at"`
	Place           Place          `json:"place"`
	Cause           string         `json:"cause"`
	DetectionMethod string         `json:"detection_method"`
	Conveyance      string         `json:"conveyance,omitempty"`
	Concealment     string         `json:"concealment,omitempty"`
	Officers        []string       `json:"officers"`
	HolderPresent   bool           `json:"holder_present"`
	HolderRef       string         `json:"holder_ref,omitempty"`
	Custodian       Party          `json:"custodian"`
	ExhibitIDs      []uuid.UUID    `json:"exhibit_ids"`
	Attachments     []Attachment   `json:"attachments,omitempty"`
}

func (SeizureRecorded) EventType() string { return TypeSeizureRecorded }
