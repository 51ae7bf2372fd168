package domain

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/google/uuid"
)

// Roles that physically handle exhibits.
var handlers = []Role{RoleCustodian, RoleOfficer, RoleAnalyst}

// exhibit returns the exhibit id and its case from the view, checking that
// the exhibit was committed (listed by its seizure or its parent) and that
// occurred_at does not precede its registration.
func (d *decision) exhibit(id uuid.UUID) (*Exhibit, *Case, error) {
	x, ok := d.v.Exhibits[id]
	if !ok || x == nil || x.Revision() < 0 {
		return nil, nil, notFound(d.cmd, "exhibit %s", id)
	}
	if x.ParentID != uuid.Nil {
		parent, ok := d.v.Exhibits[x.ParentID]
		if !ok || parent == nil || !slices.Contains(parent.SubSamples, x.ID) {
			return nil, nil, notFound(d.cmd, "exhibit %s (its parent does not list it)", id)
		}
	} else {
		s, ok := d.v.Seizures[x.SeizureID]
		if !ok || s == nil || !s.Lists(x.ID) {
			return nil, nil, notFound(d.cmd, "exhibit %s (no seizure record lists it)", id)
		}
	}
	c, ok := d.v.Cases[x.CaseID]
	if !ok || c == nil || c.Revision() < 0 {
		return nil, nil, notFound(d.cmd, "case %s of exhibit %s", x.CaseID, id)
	}
	if d.at.Before(x.RegisteredAt) {
		return nil, nil, rule("time.before-registration", "occurred_at",
			"occurred_at %s precedes the registration of exhibit %s (%s)", d.at.Format("2006-01-02T15:04:05Z07:00"), id, x.RegisteredAt.Format("2006-01-02T15:04:05Z07:00"))
	}
	return x, c, nil
}

// participant: the principal's agency takes part in the case, or holds the
// exhibit (a holder can always hand back what it holds).
func (d *decision) participant(x *Exhibit, c *Case) error {
	if c.Participant(d.p.Agency) || d.p.Agency == x.Custodian.Agency || d.p.Agency == x.Holder() {
		return nil
	}
	return forbidden(d.cmd, "agency %s does not participate in case %s", d.p.Agency, c.ID)
}

// holder: the principal's agency physically holds the exhibit.
func (d *decision) holder(x *Exhibit) error {
	if d.p.Agency != x.Holder() {
		return forbidden(d.cmd, "exhibit %s is held by %s, not by %s", x.ID, x.Holder(), d.p.Agency)
	}
	return nil
}

// heldOrAudited returns the active exhibit id for a command that its
// holder's handlers, or an auditor of an agency taking part in its case,
// may issue (inspecting a seal, raising a discrepancy).
func (d *decision) heldOrAudited(id uuid.UUID) (*Exhibit, error) {
	if err := d.as(RoleCustodian, RoleOfficer, RoleAnalyst, RoleAuditor); err != nil {
		return nil, err
	}
	x, cs, err := d.exhibit(id)
	if err != nil {
		return nil, err
	}
	if d.role == RoleAuditor {
		err = d.participant(x, cs)
	} else {
		err = d.holder(x)
	}
	if err := first(err, active(x)); err != nil {
		return nil, err
	}
	return x, nil
}

// custodian: the principal's agency is the exhibit's custodian.
func (d *decision) custodian(x *Exhibit) error {
	if d.p.Agency != x.Custodian.Agency {
		return forbidden(d.cmd, "the custodian of exhibit %s is %s, not %s", x.ID, x.Custodian.Agency, d.p.Agency)
	}
	return nil
}

func active(x *Exhibit) error {
	if s := x.Status(); s.Terminal() {
		return rule("exhibit.terminal", "exhibit_id", "exhibit %s is %s: only annotations are accepted", x.ID, s)
	}
	return nil
}

func notPending(x *Exhibit) error {
	if x.Pending != nil {
		return rule("custody.pending-transfer", "exhibit_id", "exhibit %s has a pending transfer %s to %s", x.ID, x.Pending.TransferID, x.Pending.To.Agency)
	}
	return nil
}

func notCheckedOut(x *Exhibit) error {
	if x.Checkout != nil {
		return rule("custody.checked-out", "exhibit_id", "exhibit %s is checked out to %s", x.ID, x.Checkout.To.Agency)
	}
	return nil
}

func notMissing(x *Exhibit) error {
	if x.Missing {
		return rule("exhibit.missing", "exhibit_id", "exhibit %s is reported missing", x.ID)
	}
	return nil
}

func sealedShut(x *Exhibit) error {
	if x.Seal == "" {
		return rule("seal.not-sealed", "exhibit_id", "exhibit %s was never sealed", x.ID)
	}
	if x.SealOpen {
		return rule("seal.open", "exhibit_id", "the seal of exhibit %s is open: reseal it first", x.ID)
	}
	return nil
}

func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkWitnesses refuses a witness who is the custodian or the acting user
// (invariant 10) and a witness listed twice.
func (d *decision) checkWitnesses(x *Exhibit, field string, ws []Witness) error {
	seen := map[string]bool{}
	for i, w := range ws {
		f := field + "[" + strconv.Itoa(i) + "].ref"
		if w.Ref == d.p.User || (x.Custodian.Person != "" && w.Ref == x.Custodian.Person) {
			return rule("witness.is-custodian", f, "witness %s is the custodian or the person acting", w.Ref)
		}
		if seen[w.Ref] {
			return rule("witness.duplicate", f, "witness %s is listed twice", w.Ref)
		}
		seen[w.Ref] = true
	}
	return nil
}

// observation is what someone saw of an exhibit: the seal, a gross weight,
// a net weight. observe raises the automatic discrepancies it implies, in
// the same append as the event that recorded it (cause).
type observation struct {
	seal     *SealSeen
	gross    *WeightSeen
	netMg    int64
	netUncMg int64
}

func (d *decision) observe(x *Exhibit, cause uuid.UUID, o observation) {
	ref := ExhibitRef{ExhibitID: x.ID, CaseID: x.CaseID}
	raise := func(e DiscrepancyRaised) {
		e.ExhibitRef = ref
		e.DiscrepancyID = d.newID("discrepancy/" + strconv.Itoa(d.n))
		e.Automatic = true
		e.CauseEventID = idPtr(cause)
		d.emit(x.Stream(), x.Revision(), e)
	}
	if o.seal != nil && !x.sealMatches(*o.seal) {
		raise(DiscrepancyRaised{
			Kind: DiscrepancySeal, ExpectedSeal: x.Seal, ObservedSeal: o.seal.Number,
			Detail: fmt.Sprintf("seal seen %q (%s); last seal applied %q", o.seal.Number, o.seal.Condition, x.Seal),
		})
	}
	if o.gross != nil && x.Mass.GrossKnown {
		tol := d.pol.tolerance(x.Mass.GrossUncertaintyMg, o.gross.UncertaintyMg)
		if absDiff(o.gross.GrossMg, x.Mass.GrossMg) > tol {
			raise(DiscrepancyRaised{
				Kind: DiscrepancyWeight, ExpectedMg: x.Mass.GrossMg, ObservedMg: o.gross.GrossMg, ToleranceMg: tol,
				Detail: fmt.Sprintf("gross weight %d mg seen, %d mg expected (tolerance %d mg)", o.gross.GrossMg, x.Mass.GrossMg, tol),
			})
		}
	}
	if o.netMg > 0 && x.Mass.Known {
		tol := d.pol.tolerance(x.Mass.NetUncertaintyMg, o.netUncMg)
		if absDiff(o.netMg, x.Mass.NetMg) > tol {
			raise(DiscrepancyRaised{
				Kind: DiscrepancyWeight, ExpectedMg: x.Mass.NetMg, ObservedMg: o.netMg, ToleranceMg: tol,
				Detail: fmt.Sprintf("net weight %d mg seen, %d mg expected (tolerance %d mg)", o.netMg, x.Mass.NetMg, tol),
			})
		}
	}
}

func ref(x *Exhibit) ExhibitRef { return ExhibitRef{ExhibitID: x.ID, CaseID: x.CaseID} }
