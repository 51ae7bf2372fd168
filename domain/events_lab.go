package domain

import (
	"time"

	"github.com/google/uuid"
)

// Lab, discrepancy, inventory, disposal and annotation events (stream
// exhibit-<id>).
const (
	TypeLabReceiptRecorded  = "LabReceiptRecorded"
	TypeAnalysisReported    = "AnalysisReported"
	TypeReportAmended       = "ReportAmended"
	TypeDiscrepancyRaised   = "DiscrepancyRaised"
	TypeDiscrepancyResolved = "DiscrepancyResolved"
	TypeInventoryAudited    = "InventoryAudited"
	TypeDisposalAuthorised  = "DisposalAuthorised"
	TypeExhibitDestroyed    = "ExhibitDestroyed"
	TypeExhibitReturned     = "ExhibitReturned"
	TypeExhibitReleased     = "ExhibitReleased"
	TypeAnnotationAdded     = "AnnotationAdded"
)

// LabReceiptRecorded is a lab's receipt of an exhibit it holds, with the
// seal, packaging and weight as received (ISO/IEC 17025 §7.4).
type LabReceiptRecorded struct {
	ExhibitRef
	Lab                string      `json:"lab"`
	LabCaseNumber      string      `json:"lab_case_number"`
	Seal               SealSeen    `json:"seal"`
	PackagingCondition string      `json:"packaging_condition"`
	Weight             *WeightSeen `json:"weight,omitempty"`
}

// Report is the content of an analysis report (SWGDRUG): substances with
// purity ± uncertainty, net weight ± uncertainty, techniques, sampling
// statement, analyst, reviewer and the digest of the signed report.
type Report struct {
	LabCaseNumber     string      `json:"lab_case_number"`
	Substances        []Substance `json:"substances"`
	NetMg             int64       `json:"net_mg"`
	NetUncertaintyMg  int64       `json:"net_uncertainty_mg"`
	Techniques        []string    `json:"techniques"`
	SamplingStatement string      `json:"sampling_statement,omitempty"`
	Analyst           string      `json:"analyst"`
	Reviewer          string      `json:"reviewer"`
	ReportDigest      string      `json:"report_digest"`
	ConsumedMg        int64       `json:"consumed_mg,omitempty"`
}

// AnalysisReported is an analysis result by the lab holding the exhibit.
type AnalysisReported struct {
	ExhibitRef
	ReportID uuid.UUID `json:"report_id"`
	Lab      string    `json:"lab"`
	Report
}

// ReportAmended supersedes an earlier report (or amendment) by a complete
// new version; the original stays in the history.
type ReportAmended struct {
	ExhibitRef
	AmendmentID uuid.UUID `json:"amendment_id"`
	ReportID    uuid.UUID `json:"report_id"`
	Lab         string    `json:"lab"`
	Reason      string    `json:"reason"`
	Report
}

// Discrepancy kinds.
const (
	DiscrepancyWeight   = "weight-mismatch"
	DiscrepancySeal     = "seal-mismatch"
	DiscrepancyLocation = "location-mismatch"
	DiscrepancyMissing  = "missing"
	DiscrepancyOther    = "other"
)

// DiscrepancyRaised opens a discrepancy. Automatic ones are raised by the
// domain in the same decision as the observation that caused them
// (CauseEventID); they carry what was expected and what was observed.
type DiscrepancyRaised struct {
	ExhibitRef
	DiscrepancyID uuid.UUID  `json:"discrepancy_id"`
	Kind          string     `json:"kind"`
	Automatic     bool       `json:"automatic,omitempty"`
	CauseEventID  *uuid.UUID `json:"cause_event_id,omitempty"`
	ExpectedMg    int64      `json:"expected_mg,omitempty"`
	ObservedMg    int64      `json:"observed_mg,omitempty"`
	ToleranceMg   int64      `json:"tolerance_mg,omitempty"`
	ExpectedSeal  string     `json:"expected_seal,omitempty"`
	ObservedSeal  string     `json:"observed_seal,omitempty"`
	Detail        string     `json:"detail"`
}

// DiscrepancyResolved closes a discrepancy with an explanation.
type DiscrepancyResolved struct {
	ExhibitRef
	DiscrepancyID uuid.UUID `json:"discrepancy_id"`
	Resolution    string    `json:"resolution"`
}

// InventoryAudited is one exhibit checked during an inventory campaign.
type InventoryAudited struct {
	ExhibitRef
	InventoryRef string      `json:"inventory_ref"`
	Agency       string      `json:"agency"`
	Found        bool        `json:"found"`
	Location     string      `json:"location,omitempty"`
	Seal         *SealSeen   `json:"seal,omitempty"`
	Weight       *WeightSeen `json:"weight,omitempty"`
}

// Disposal methods.
const (
	DisposalDestruction = "destruction"
	DisposalReturn      = "return"
	DisposalRelease     = "release"
	disposalOneOf       = "destruction return release"
)

// DisposalAuthorised is a magistrate's order to destroy, return or release
// the exhibit, challengeable until ChallengeDeadline.
type DisposalAuthorised struct {
	ExhibitRef
	AuthorisationID   uuid.UUID `json:"authorisation_id"`
	Authority         string    `json:"authority"` // the magistrate's agency
	OrderRef          string    `json:"order_ref"`
	Method            string    `json:"method"`
	NotifiedAt        time.Time `json:"notified_at"`
	ChallengeDeadline time.Time `json:"challenge_deadline"`
	RetainSample      bool      `json:"retain_sample"`
}

// ExhibitDestroyed is terminal.
type ExhibitDestroyed struct {
	ExhibitRef
	AuthorisationID uuid.UUID `json:"authorisation_id"`
	Method          string    `json:"method"`
	Site            string    `json:"site"`
	Witnesses       []Witness `json:"witnesses"`
	PreWeightMg     int64     `json:"pre_weight_mg"`
}

// ExhibitReturned is terminal: the exhibit was handed back to its owner.
type ExhibitReturned struct {
	ExhibitRef
	AuthorisationID uuid.UUID `json:"authorisation_id"`
	ReturnedTo      string    `json:"returned_to"` // opaque reference
	Remarks         string    `json:"remarks,omitempty"`
}

// ExhibitReleased is terminal: the exhibit left judicial custody otherwise
// (for example handed to a customs sale or a health authority).
type ExhibitReleased struct {
	ExhibitRef
	AuthorisationID uuid.UUID `json:"authorisation_id"`
	ReleasedTo      string    `json:"released_to"`
	Reason          string    `json:"reason"`
}

// AnnotationAdded is a note or a correction of earlier events; nothing is
// ever edited or deleted.
type AnnotationAdded struct {
	ExhibitRef
	AnnotationID uuid.UUID   `json:"annotation_id"`
	Kind         string      `json:"kind"` // note or correction
	Text         string      `json:"text"`
	Refers       []uuid.UUID `json:"refers,omitempty"` // event IDs
}

func (LabReceiptRecorded) EventType() string  { return TypeLabReceiptRecorded }
func (AnalysisReported) EventType() string    { return TypeAnalysisReported }
func (ReportAmended) EventType() string       { return TypeReportAmended }
func (DiscrepancyRaised) EventType() string   { return TypeDiscrepancyRaised }
func (DiscrepancyResolved) EventType() string { return TypeDiscrepancyResolved }
func (InventoryAudited) EventType() string    { return TypeInventoryAudited }
func (DisposalAuthorised) EventType() string  { return TypeDisposalAuthorised }
func (ExhibitDestroyed) EventType() string    { return TypeExhibitDestroyed }
func (ExhibitReturned) EventType() string     { return TypeExhibitReturned }
func (ExhibitReleased) EventType() string     { return TypeExhibitReleased }
func (AnnotationAdded) EventType() string     { return TypeAnnotationAdded }
