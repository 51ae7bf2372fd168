package domain

import (
	"reflect"
	"sort"

	"github.com/google/uuid"
)

// Case is the state folded from a case's stream.
type Case struct {
	ID                uuid.UUID
	Reference         string
	OwnerAgency       string
	Country           string
	LegalFramework    LegalFramework
	SupervisingAgency string
	// Shares are the agencies the case is shared with (revoked ones removed).
	Shares map[string]CaseShared
	// Holds are the active case-wide holds.
	Holds  map[uuid.UUID]HoldPlaced
	Closed bool
	rev    int64
}

// NewCase folds a case's events, in stream order.
func NewCase(events ...Event) *Case {
	c := &Case{rev: NoStream, Shares: map[string]CaseShared{}, Holds: map[uuid.UUID]HoldPlaced{}}
	for _, e := range events {
		c.Apply(e)
	}
	return c
}

// Stream is "case-<id>".
func (c *Case) Stream() string { return CaseStream(c.ID) }

// Revision is the revision of the last event folded (NoStream if none).
func (c *Case) Revision() int64 { return c.rev }

// Apply folds one event. It never fails; unknown events only advance the
// revision.
func (c *Case) Apply(e Event) {
	c.rev++
	if c.Shares == nil {
		c.Shares = map[string]CaseShared{}
	}
	if c.Holds == nil {
		c.Holds = map[uuid.UUID]HoldPlaced{}
	}
	switch e := deref(e).(type) {
	case CaseOpened:
		c.ID = e.CaseID
		c.Reference = e.Reference
		c.OwnerAgency = e.OwnerAgency
		c.Country = e.Country
		c.LegalFramework = e.LegalFramework
		c.SupervisingAgency = e.SupervisingAgency
	case CaseShared:
		c.Shares[e.Agency] = e
	case CaseSharingRevoked:
		delete(c.Shares, e.Agency)
	case HoldPlaced:
		if e.ExhibitID == nil {
			c.Holds[e.HoldID] = e
		}
	case HoldReleased:
		delete(c.Holds, e.HoldID)
	case CaseClosed:
		c.Closed = true
	}
}

// Participant reports whether agency takes part in the case: its owner, its
// supervising magistrate's office, or an agency it is shared with. Only
// participants see the case and act on it.
func (c *Case) Participant(agency string) bool {
	if agency == "" {
		return false
	}
	if agency == c.OwnerAgency || agency == c.SupervisingAgency {
		return true
	}
	_, ok := c.Shares[agency]
	return ok
}

// CountryOf returns the country of a participant agency.
func (c *Case) CountryOf(agency string) (string, bool) {
	if agency == c.OwnerAgency || agency == c.SupervisingAgency {
		return c.Country, true
	}
	if s, ok := c.Shares[agency]; ok {
		return s.Country, true
	}
	return "", false
}

// Participants lists the participant agencies: owner, supervising office,
// then the agencies it is shared with, sorted.
func (c *Case) Participants() []string {
	out := []string{c.OwnerAgency}
	if c.SupervisingAgency != "" && c.SupervisingAgency != c.OwnerAgency {
		out = append(out, c.SupervisingAgency)
	}
	shared := make([]string, 0, len(c.Shares))
	for a := range c.Shares {
		shared = append(shared, a)
	}
	sort.Strings(shared)
	return append(out, shared...)
}

// OpenCase opens a case owned by the principal's agency. Officers and
// magistrates may open cases.
type OpenCase struct {
	At
	Reference         string         `json:"reference" validate:"required,max=100"`
	Country           string         `json:"country" validate:"required,iso3166_1_alpha2"`
	LegalFramework    LegalFramework `json:"legal_framework" validate:"required,oneof=customs flagrance preliminary-inquiry judicial-information"`
	SupervisingAgency string         `json:"supervising_agency,omitempty" validate:"max=100"`
	Summary           string         `json:"summary,omitempty" validate:"max=2000"`
}

func (OpenCase) Name() string     { return "OpenCase" }
func (OpenCase) Targets() Targets { return Targets{} }

func (c OpenCase) decide(d *decision) error {
	if err := d.as(RoleOfficer, RoleMagistrate); err != nil {
		return err
	}
	id := d.newID("case")
	sup := c.SupervisingAgency
	if sup == d.p.Agency {
		sup = ""
	}
	d.emit(CaseStream(id), NoStream, CaseOpened{
		CaseID: id, Reference: c.Reference, OwnerAgency: d.p.Agency, Country: c.Country,
		LegalFramework: c.LegalFramework, SupervisingAgency: sup, Summary: c.Summary,
	})
	return nil
}

// ShareCase makes another agency a participant, on a legal basis. A
// magistrate of a participant agency may share an open case.
type ShareCase struct {
	At
	CaseID       uuid.UUID `json:"case_id" validate:"required"`
	Agency       string    `json:"agency" validate:"required,max=100"`
	Country      string    `json:"country" validate:"required,iso3166_1_alpha2"`
	LegalBasis   string    `json:"legal_basis" validate:"required,max=500"`
	AuthorityRef string    `json:"authority_ref,omitempty" validate:"max=200"`
}

func (ShareCase) Name() string       { return "ShareCase" }
func (c ShareCase) Targets() Targets { return Targets{Cases: []uuid.UUID{c.CaseID}} }

func (c ShareCase) decide(d *decision) error {
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
	if cs.Closed {
		return rule("case.closed", "case_id", "case %s is closed", c.CaseID)
	}
	if cs.Participant(c.Agency) {
		return rule("case.already-participant", "agency", "agency %s already participates in case %s", c.Agency, c.CaseID)
	}
	d.emit(cs.Stream(), cs.Revision(), CaseShared{
		CaseID: c.CaseID, Agency: c.Agency, Country: c.Country, LegalBasis: c.LegalBasis,
		AuthorityRef: c.AuthorityRef, GrantedBy: d.p.Agency,
	})
	return nil
}

// RevokeCaseSharing ends an agency's participation. A magistrate of the
// owner agency, of the supervising office or of the agency that granted the
// share may revoke it. Custody does not move: exhibits the agency holds
// stay with it until it hands them back (a custodian agency may always
// offer a transfer of what it holds).
type RevokeCaseSharing struct {
	At
	CaseID uuid.UUID `json:"case_id" validate:"required"`
	Agency string    `json:"agency" validate:"required,max=100"`
	Reason string    `json:"reason" validate:"required,max=2000"`
}

func (RevokeCaseSharing) Name() string       { return "RevokeCaseSharing" }
func (c RevokeCaseSharing) Targets() Targets { return Targets{Cases: []uuid.UUID{c.CaseID}} }

func (c RevokeCaseSharing) decide(d *decision) error {
	if err := d.as(RoleMagistrate); err != nil {
		return err
	}
	cs, err := d.caseOf(c.CaseID)
	if err != nil {
		return err
	}
	share, ok := cs.Shares[c.Agency]
	if !cs.Participant(d.p.Agency) {
		return forbidden(d.cmd, "agency %s does not participate in case %s", d.p.Agency, c.CaseID)
	}
	if !ok {
		return rule("case.not-shared", "agency", "case %s is not shared with %s", c.CaseID, c.Agency)
	}
	if d.p.Agency != cs.OwnerAgency && d.p.Agency != cs.SupervisingAgency && d.p.Agency != share.GrantedBy {
		return forbidden(d.cmd, "only the owner, the supervising office or %s may revoke this share", share.GrantedBy)
	}
	d.emit(cs.Stream(), cs.Revision(), CaseSharingRevoked{CaseID: c.CaseID, Agency: c.Agency, Reason: c.Reason})
	return nil
}

// CloseCase closes a case. An officer or magistrate of the owner agency, or
// a magistrate of the supervising office, may close it.
type CloseCase struct {
	At
	CaseID  uuid.UUID `json:"case_id" validate:"required"`
	Reason  string    `json:"reason" validate:"required,max=2000"`
	Outcome string    `json:"outcome,omitempty" validate:"max=200"`
}

func (CloseCase) Name() string       { return "CloseCase" }
func (c CloseCase) Targets() Targets { return Targets{Cases: []uuid.UUID{c.CaseID}} }

func (c CloseCase) decide(d *decision) error {
	if err := d.as(RoleMagistrate, RoleOfficer); err != nil {
		return err
	}
	cs, err := d.caseOf(c.CaseID)
	if err != nil {
		return err
	}
	owner := d.p.Agency == cs.OwnerAgency
	sup := d.p.Agency == cs.SupervisingAgency && d.p.Has(RoleMagistrate)
	if !owner && !sup {
		return forbidden(d.cmd, "only the owner agency or the supervising magistrate may close case %s", c.CaseID)
	}
	if cs.Closed {
		return rule("case.closed", "case_id", "case %s is already closed", c.CaseID)
	}
	d.emit(cs.Stream(), cs.Revision(), CaseClosed{CaseID: c.CaseID, Reason: c.Reason, Outcome: c.Outcome})
	return nil
}

// deref turns a pointer to an event into the event value.
func deref(e Event) Event {
	v := reflect.ValueOf(e)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		if ev, ok := v.Elem().Interface().(Event); ok {
			return ev
		}
	}
	return e
}
