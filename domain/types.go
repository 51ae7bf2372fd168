package domain

import (
	"time"

	"github.com/google/uuid"
)

// LegalFramework is the procedure a case runs under.
type LegalFramework string

const (
	FrameworkCustoms             LegalFramework = "customs"
	FrameworkFlagrance           LegalFramework = "flagrance"
	FrameworkPreliminaryInquiry  LegalFramework = "preliminary-inquiry"
	FrameworkJudicialInformation LegalFramework = "judicial-information"
	frameworkOneOf                              = "customs flagrance preliminary-inquiry judicial-information"
)

// Party is one end of a custody movement: an agency, optionally a named
// person of that agency, or a storage location of that agency.
type Party struct {
	Agency   string `json:"agency" validate:"required,max=100"`
	Person   string `json:"person,omitempty" validate:"max=100"`
	Location string `json:"location,omitempty" validate:"max=200"`
}

// Witness is a person who witnessed a weighing or a destruction, by opaque
// reference (never personal data). Kind "holder" is the person the goods
// were seized from; "official" a public official; "other" anyone else.
// Agency is the witness's agency, empty for people outside any agency.
type Witness struct {
	Ref    string `json:"ref" validate:"required,max=100"`
	Kind   string `json:"kind" validate:"required,oneof=holder official other"`
	Agency string `json:"agency,omitempty" validate:"max=100"`
}

// Attachment is a photo or document, stored in the blob store and named by
// the SHA-256 of its bytes.
type Attachment struct {
	Kind      string `json:"kind" validate:"required,oneof=photo document"`
	Digest    string `json:"digest" validate:"required,len=64,hexadecimal,lowercase"`
	MediaType string `json:"media_type,omitempty" validate:"max=100"`
}

// FieldTest is a presumptive test made on the spot.
type FieldTest struct {
	Kit    string `json:"kit" validate:"required,max=100"`
	Result string `json:"result" validate:"required,oneof=positive negative inconclusive"`
}

// Coordinates in units of 1e-7 degree (integers, like every quantity).
type Coordinates struct {
	LatE7 int64 `json:"lat_e7" validate:"gte=-900000000,lte=900000000"`
	LonE7 int64 `json:"lon_e7" validate:"gte=-1800000000,lte=1800000000"`
}

// Place is where a seizure happened.
type Place struct {
	Name        string       `json:"name" validate:"required,max=200"`
	Country     string       `json:"country" validate:"required,iso3166_1_alpha2"`
	Code        string       `json:"code,omitempty" validate:"max=50"` // border post or port code (UN/LOCODE)
	Coordinates *Coordinates `json:"coordinates,omitempty"`
}

// Substance is one substance an analysis identified, with its purity and
// expanded uncertainty in basis points (27.5 % = 2750).
type Substance struct {
	Name          string `json:"name" validate:"required,max=200"`
	PurityBP      int64  `json:"purity_bp" validate:"gte=0,lte=10000"`
	UncertaintyBP int64  `json:"uncertainty_bp" validate:"gte=0,lte=10000"`
}

// SealCondition is the state of a seal as seen.
type SealCondition string

const (
	SealIntact  SealCondition = "intact"
	SealDamaged SealCondition = "damaged"
	SealBroken  SealCondition = "broken"
	SealMissing SealCondition = "missing"
	sealOneOf                 = "intact damaged broken missing"
)

// SealSeen is a seal as seen by a receiver, an inspector or an auditor.
type SealSeen struct {
	Number    string        `json:"number,omitempty" validate:"required_unless=Condition missing,max=100"`
	Condition SealCondition `json:"condition" validate:"required,oneof=intact damaged broken missing"`
}

// WeightSeen is a gross weight as seen on receipt, check-in or inventory.
// A zero GrossMg means "not weighed".
type WeightSeen struct {
	GrossMg       int64  `json:"gross_mg" validate:"gt=0,lte=1000000000000000"`
	UncertaintyMg int64  `json:"uncertainty_mg" validate:"gte=0,lte=1000000000000"`
	ScaleID       string `json:"scale_id,omitempty" validate:"max=100"`
}

// Status is where an exhibit is in its lifecycle (DESIGN.md, "Domain").
type Status string

const (
	StatusRegistered         Status = "registered"
	StatusSealed             Status = "sealed"
	StatusInCustody          Status = "in-custody"
	StatusInTransfer         Status = "in-transfer"
	StatusCheckedOut         Status = "checked-out"
	StatusDisposalAuthorised Status = "disposal-authorised"
	StatusDestroyed          Status = "destroyed"
	StatusReturned           Status = "returned"
	StatusReleased           Status = "released"
)

// Terminal reports whether s is destroyed, returned or released.
func (s Status) Terminal() bool {
	return s == StatusDestroyed || s == StatusReturned || s == StatusReleased
}

// utc normalises a time for a payload: UTC, no monotonic reading.
func utc(t time.Time) time.Time { return t.UTC().Round(0) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := utc(*t)
	return &u
}

func idPtr(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}
