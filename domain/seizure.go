package domain

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Seizure is the state folded from a seizure's stream.
type Seizure struct {
	ID       uuid.UUID
	CaseID   uuid.UUID
	Recorded SeizureRecorded
	rev      int64
}

// NewSeizure folds a seizure's events, in stream order.
func NewSeizure(events ...Event) *Seizure {
	s := &Seizure{rev: NoStream}
	for _, e := range events {
		s.Apply(e)
	}
	return s
}

// Stream is "seizure-<id>".
func (s *Seizure) Stream() string { return SeizureStream(s.ID) }

// Revision is the revision of the last event folded (NoStream if none).
func (s *Seizure) Revision() int64 { return s.rev }

// Apply folds one event; it never fails.
func (s *Seizure) Apply(e Event) {
	s.rev++
	if r, ok := deref(e).(SeizureRecorded); ok {
		s.ID = r.SeizureID
		s.CaseID = r.CaseID
		s.Recorded = r
	}
}

// Lists reports whether the seizure's record lists exhibit id.
func (s *Seizure) Lists(id uuid.UUID) bool { return slices.Contains(s.Recorded.ExhibitIDs, id) }

// ExhibitSpec describes one exhibit of a seizure. A seal number and a
// weighing may be given on the spot; otherwise SealExhibit and WeighExhibit
// follow.
type ExhibitSpec struct {
	Label             string       `json:"label" validate:"required,max=100"`
	Reference         string       `json:"reference,omitempty" validate:"max=100"`
	Description       string       `json:"description,omitempty" validate:"max=2000"`
	Category          string       `json:"category" validate:"required,max=100"`
	PresumedSubstance string       `json:"presumed_substance,omitempty" validate:"max=200"`
	UnitCount         int64        `json:"unit_count" validate:"gte=1,lte=100000000"`
	Packaging         string       `json:"packaging,omitempty" validate:"max=500"`
	FieldTest         *FieldTest   `json:"field_test,omitempty"`
	Attachments       []Attachment `json:"attachments,omitempty" validate:"max=100,dive"`
	SealNumber        string       `json:"seal_number,omitempty" validate:"max=100"`
	Weighing          *Weighing    `json:"weighing,omitempty"`
}

// Weighing is a weighing with a calibrated scale: gross = net + tare, all in
// milligrams, with the expanded uncertainty of the scale.
type Weighing struct {
	GrossMg        int64     `json:"gross_mg" validate:"gt=0,lte=1000000000000000"`
	NetMg          int64     `json:"net_mg" validate:"gt=0,lte=1000000000000000"`
	TareMg         int64     `json:"tare_mg" validate:"gte=0,lte=1000000000000000"`
	UncertaintyMg  int64     `json:"uncertainty_mg" validate:"gte=0,lte=1000000000000"`
	ScaleID        string    `json:"scale_id" validate:"required,max=100"`
	CalibrationRef string    `json:"calibration_ref" validate:"required,max=100"`
	HolderPresent  bool      `json:"holder_present,omitempty"`
	Witnesses      []Witness `json:"witnesses,omitempty" validate:"max=20,dive"`
}

func (w Weighing) check(cmd, field string) error {
	if w.GrossMg != w.NetMg+w.TareMg {
		return invalid(cmd, field+".gross_mg", "must equal net_mg + tare_mg (%d + %d)", w.NetMg, w.TareMg)
	}
	return nil
}

func (w Weighing) event(ref ExhibitRef, purpose string) ExhibitWeighed {
	return ExhibitWeighed{
		ExhibitRef: ref, GrossMg: w.GrossMg, NetMg: w.NetMg, TareMg: w.TareMg, UncertaintyMg: w.UncertaintyMg,
		ScaleID: w.ScaleID, CalibrationRef: w.CalibrationRef, Purpose: purpose,
		HolderPresent: w.HolderPresent, Witnesses: w.Witnesses,
	}
}

// RecordSeizure records a seizure (the PV) with all its exhibits. An officer
// of a participant agency records it, in an open case; the custodian is the
// officer's own agency (custody moves to others only by accepted transfers).
//
// Appends: one per exhibit (ExhibitRegistered, then ExhibitSealed and
// ExhibitWeighed if given), then SeizureRecorded last, listing them. A crash
// half-way is completed by retrying the same command with the same key.
type RecordSeizure struct {
	At
	CaseID          uuid.UUID      `json:"case_id" validate:"required"`
	RecordNumber    string         `json:"record_number" validate:"required,max=100"`
	LegalFramework  LegalFramework `json:"legal_framework,omitempty" validate:"omitempty,oneof=customs flagrance preliminary-inquiry judicial-information"`
	SeizedAt        time.Time      `json:"seized_at" validate:"required"`
	ClosedAt        time.Time      `json:"closed_at" validate:"required"`
	Place           Place          `json:"place"`
	Cause           string         `json:"cause" validate:"required,max=2000"`
	DetectionMethod string         `json:"detection_method" validate:"required,max=200"`
	Conveyance      string         `json:"conveyance,omitempty" validate:"max=500"`
	Concealment     string         `json:"concealment,omitempty" validate:"max=500"`
	Officers        []string       `json:"officers" validate:"required,min=1,max=50,dive,required,max=100"`
	HolderPresent   bool           `json:"holder_present"`
	HolderRef       string         `json:"holder_ref,omitempty" validate:"max=100"`
	Custodian       Party          `json:"custodian"`
	Attachments     []Attachment   `json:"attachments,omitempty" validate:"max=100,dive"`
	Exhibits        []ExhibitSpec  `json:"exhibits" validate:"required,min=1,max=1000,dive"`
}

func (RecordSeizure) Name() string       { return "RecordSeizure" }
func (c RecordSeizure) Targets() Targets { return Targets{Cases: []uuid.UUID{c.CaseID}} }

// when: a seizure record occurs when it is closed, unless said otherwise.
func (c RecordSeizure) when() time.Time {
	if c.OccurredAt.IsZero() {
		return c.ClosedAt
	}
	return c.OccurredAt
}

func (c RecordSeizure) checkShape(d *decision) error {
	ve := &ValidationError{Command: d.cmd}
	add := func(field, format string, args ...any) {
		ve.Fields = append(ve.Fields, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if c.ClosedAt.Before(c.SeizedAt) {
		add("closed_at", "must not precede seized_at")
	}
	if c.ClosedAt.After(d.now.Add(d.pol.MaxClockSkew)) {
		add("closed_at", "is more than %s after the server clock", d.pol.MaxClockSkew)
	}
	labels, seals := map[string]int{}, map[string]int{}
	for i, x := range c.Exhibits {
		f := "exhibits[" + strconv.Itoa(i) + "]"
		if j, dup := labels[x.Label]; dup {
			add(f+".label", "repeats exhibits[%d].label", j)
		}
		labels[x.Label] = i
		if x.SealNumber != "" {
			if j, dup := seals[x.SealNumber]; dup {
				add(f+".seal_number", "repeats exhibits[%d].seal_number", j)
			}
			seals[x.SealNumber] = i
		}
		if x.Weighing != nil {
			if err := x.Weighing.check(d.cmd, f+".weighing"); err != nil {
				ve.Fields = append(ve.Fields, err.(*ValidationError).Fields...)
			}
		}
	}
	if len(ve.Fields) > 0 {
		return ve
	}
	return nil
}

func (c RecordSeizure) decide(d *decision) error {
	if err := d.as(RoleOfficer); err != nil {
		return err
	}
	if err := c.checkShape(d); err != nil {
		return err
	}
	cs, err := d.caseOf(c.CaseID)
	if err != nil {
		return err
	}
	if !cs.Participant(d.p.Agency) {
		return forbidden(d.cmd, "agency %s does not participate in case %s", d.p.Agency, c.CaseID)
	}
	if cs.Closed {
		return rule("case.closed", "case_id", "case %s is closed", c.CaseID)
	}
	if c.Custodian.Agency != d.p.Agency {
		return rule("seizure.custodian-agency", "custodian.agency",
			"the custodian of a new seizure is the recording agency %s; hand exhibits over with a transfer", d.p.Agency)
	}
	if d.at.Before(utc(c.SeizedAt)) {
		return rule("time.before-registration", "occurred_at", "occurred_at precedes seized_at")
	}
	framework := c.LegalFramework
	if framework == "" {
		framework = cs.LegalFramework
	}
	seizureID := d.newID("seizure")
	ids := make([]uuid.UUID, len(c.Exhibits))
	for i, x := range c.Exhibits {
		ids[i] = d.newID("exhibit/" + strconv.Itoa(i))
		ref := ExhibitRef{ExhibitID: ids[i], CaseID: c.CaseID}
		stream := ExhibitStream(ids[i])
		d.emit(stream, NoStream, ExhibitRegistered{
			ExhibitRef: ref, SeizureID: seizureID, RegisteredAt: utc(c.SeizedAt),
			Label: x.Label, Reference: x.Reference, Description: x.Description, Category: x.Category,
			PresumedSubstance: x.PresumedSubstance, UnitCount: x.UnitCount, Packaging: x.Packaging,
			FieldTest: x.FieldTest, Attachments: x.Attachments, Custodian: c.Custodian,
		})
		if x.SealNumber != "" {
			d.emit(stream, NoStream, ExhibitSealed{ExhibitRef: ref, SealNumber: x.SealNumber})
		}
		if x.Weighing != nil {
			d.emit(stream, NoStream, x.Weighing.event(ref, "initial"))
		}
	}
	d.emit(SeizureStream(seizureID), NoStream, SeizureRecorded{
		SeizureID: seizureID, CaseID: c.CaseID, RecordNumber: c.RecordNumber, LegalFramework: framework,
		SeizedAt: utc(c.SeizedAt), ClosedAt: utc(c.ClosedAt), Place: c.Place, Cause: c.Cause,
		DetectionMethod: c.DetectionMethod, Conveyance: c.Conveyance, Concealment: c.Concealment,
		Officers: c.Officers, HolderPresent: c.HolderPresent, HolderRef: c.HolderRef, Custodian: c.Custodian,
		ExhibitIDs: ids, Attachments: c.Attachments,
	})
	return nil
}
