package projections

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/domain"
)

// Custody is the main read model: cases and their participants, seizures,
// the current custody of every exhibit (status, custodian, location, seal,
// last weights, flags, pending transfer, checkout), holds, discrepancies
// and lab jobs. Holdings, the lab queue, open discrepancies, pending
// transfers and overdue checkouts are queries over its tables.
//
// A seizure and its exhibits are shown only once SeizureRecorded exists; a
// sub-sample only once SubSampleTaken exists in its parent's stream
// (exhibits.recorded, fed by {commits}).
type Custody struct{}

// CustodyVersion is bumped whenever the custody tables or their meaning
// change; a new version is rebuilt from zero at start.
const CustodyVersion = 1

func (Custody) Name() string { return "custody" }
func (Custody) Version() int { return CustodyVersion }
func (Custody) Tables() []string {
	return []string{"participants", "cases", "seizures", "exhibits", "commits", "holds", "discrepancies", "lab_jobs"}
}

func (Custody) Schema() []string {
	return append(participantsSchema(),
		`CREATE TABLE {cases} (
			case_id            TEXT PRIMARY KEY,
			reference          TEXT NOT NULL,
			owner_agency       TEXT NOT NULL,
			country            TEXT NOT NULL,
			legal_framework    TEXT NOT NULL,
			supervising_agency TEXT NOT NULL,
			summary            TEXT NOT NULL,
			opened_at          INTEGER NOT NULL,
			closed_at          INTEGER,
			outcome            TEXT NOT NULL DEFAULT '',
			holds              INTEGER NOT NULL DEFAULT 0,
			revision           INTEGER NOT NULL
		) WITHOUT ROWID, STRICT`,
		`CREATE TABLE {seizures} (
			seizure_id        TEXT PRIMARY KEY,
			case_id           TEXT NOT NULL,
			record_number     TEXT NOT NULL,
			legal_framework   TEXT NOT NULL,
			seized_at         INTEGER NOT NULL,
			closed_at         INTEGER NOT NULL,
			place_name        TEXT NOT NULL,
			place_country     TEXT NOT NULL,
			place_code        TEXT NOT NULL,
			cause             TEXT NOT NULL,
			detection_method  TEXT NOT NULL,
			holder_present    INTEGER NOT NULL,
			custodian_agency  TEXT NOT NULL,
			recording_agency  TEXT NOT NULL,
			exhibit_count     INTEGER NOT NULL
		) WITHOUT ROWID, STRICT`,
		`CREATE TABLE {exhibits} (
			exhibit_id        TEXT PRIMARY KEY,
			case_id           TEXT NOT NULL,
			seizure_id        TEXT NOT NULL,
			parent_id         TEXT,
			recorded          INTEGER NOT NULL DEFAULT 0,
			label             TEXT NOT NULL,
			reference         TEXT NOT NULL,
			description       TEXT NOT NULL,
			category          TEXT NOT NULL,
			presumed_substance TEXT NOT NULL,
			identified_substance TEXT NOT NULL DEFAULT '',
			unit_count        INTEGER NOT NULL,
			registered_at     INTEGER NOT NULL,
			status            TEXT NOT NULL,
			prev_status       TEXT NOT NULL DEFAULT '',
			custodian_agency  TEXT NOT NULL,
			custodian_person  TEXT NOT NULL,
			location          TEXT NOT NULL,
			seal              TEXT NOT NULL DEFAULT '',
			seal_state        TEXT NOT NULL DEFAULT 'none',
			seal_broken       INTEGER NOT NULL DEFAULT 0,
			missing           INTEGER NOT NULL DEFAULT 0,
			holds             INTEGER NOT NULL DEFAULT 0,
			open_discrepancies INTEGER NOT NULL DEFAULT 0,
			gross_mg          INTEGER,
			net_mg            INTEGER,
			tare_mg           INTEGER,
			uncertainty_mg    INTEGER,
			weighed_at        INTEGER,
			subsampled_mg     INTEGER NOT NULL DEFAULT 0,
			transfer_id       TEXT,
			transfer_to_agency TEXT,
			transfer_to_person TEXT,
			transfer_to_location TEXT,
			transfer_purpose  TEXT,
			transfer_offered_at INTEGER,
			checkout_id       TEXT,
			checkout_to_agency TEXT,
			checkout_purpose  TEXT,
			checkout_due_at   INTEGER,
			checked_out_at    INTEGER,
			disposal_method   TEXT,
			disposal_deadline INTEGER,
			revision          INTEGER NOT NULL,
			updated_at        INTEGER NOT NULL,
			position          INTEGER NOT NULL
		) WITHOUT ROWID, STRICT`,
		`CREATE TABLE {commits} (exhibit_id TEXT PRIMARY KEY) WITHOUT ROWID, STRICT`,
		`CREATE TABLE {holds} (
			hold_id    TEXT PRIMARY KEY,
			case_id    TEXT NOT NULL,
			exhibit_id TEXT
		) WITHOUT ROWID, STRICT`,
		`CREATE TABLE {discrepancies} (
			discrepancy_id TEXT PRIMARY KEY,
			exhibit_id     TEXT NOT NULL,
			case_id        TEXT NOT NULL,
			kind           TEXT NOT NULL,
			automatic      INTEGER NOT NULL,
			detail         TEXT NOT NULL,
			expected_mg    INTEGER NOT NULL,
			observed_mg    INTEGER NOT NULL,
			expected_seal  TEXT NOT NULL,
			observed_seal  TEXT NOT NULL,
			raised_at      INTEGER NOT NULL,
			raised_by      TEXT NOT NULL,
			resolved_at    INTEGER,
			resolution     TEXT NOT NULL DEFAULT ''
		) WITHOUT ROWID, STRICT`,
		`CREATE INDEX {discrepancies}_by_exhibit ON {discrepancies}(exhibit_id)`,
		`CREATE TABLE {lab_jobs} (
			exhibit_id      TEXT NOT NULL,
			lab             TEXT NOT NULL,
			seq             INTEGER NOT NULL,
			case_id         TEXT NOT NULL,
			submitted_at    INTEGER NOT NULL,
			received_at     INTEGER,
			lab_case_number TEXT NOT NULL DEFAULT '',
			reported_at     INTEGER,
			report_id       TEXT,
			substance       TEXT NOT NULL DEFAULT '',
			purity_bp       INTEGER,
			PRIMARY KEY (exhibit_id, lab, seq)
		) WITHOUT ROWID, STRICT`,
	)
}

// Interest: custody reads the payload of every domain event but those
// whose exhibit (from the stream) and envelope are enough.
func (Custody) Interest(eventType string) Interest {
	switch eventType {
	case domain.TypeSealOpened, domain.TypeExhibitDestroyed, domain.TypeExhibitReturned, domain.TypeExhibitReleased,
		domain.TypeAnnotationAdded:
		return Envelope
	}
	if domain.Events.SchemaVersion(eventType) == 0 {
		return Skip
	}
	return Payload
}

// QueryIndexes are the custody indexes Apply does not use: a rebuild
// creates them once the rows are in.
func (Custody) QueryIndexes() []string {
	return append(participantsIndexes(),
		`CREATE INDEX {seizures}_by_case ON {seizures}(case_id, seized_at, seizure_id)`,
		`CREATE INDEX {exhibits}_by_case ON {exhibits}(case_id, label, exhibit_id)`,
		`CREATE INDEX {exhibits}_by_seizure ON {exhibits}(seizure_id, label, exhibit_id)`,
		`CREATE INDEX {exhibits}_by_custodian ON {exhibits}(custodian_agency, exhibit_id)`,
		`CREATE INDEX {exhibits}_by_person ON {exhibits}(custodian_agency, custodian_person, exhibit_id) WHERE custodian_person != ''`,
		`CREATE INDEX {exhibits}_by_location ON {exhibits}(custodian_agency, location, exhibit_id) WHERE location != ''`,
		`CREATE INDEX {exhibits}_transfers ON {exhibits}(transfer_to_agency, exhibit_id) WHERE transfer_id IS NOT NULL`,
		`CREATE INDEX {exhibits}_checkouts ON {exhibits}(checkout_due_at, exhibit_id) WHERE checkout_id IS NOT NULL`,
		`CREATE INDEX {discrepancies}_open ON {discrepancies}(raised_at, discrepancy_id) WHERE resolved_at IS NULL`,
		`CREATE INDEX {lab_jobs}_open ON {lab_jobs}(lab, submitted_at) WHERE reported_at IS NULL`,
		`CREATE INDEX {lab_jobs}_done ON {lab_jobs}(lab, reported_at) WHERE reported_at IS NOT NULL`,
	)
}

// Apply folds one event into the custody tables.
func (Custody) Apply(tx *Tx, ev *Event) error {
	if _, err := applyAccess(tx, ev); err != nil {
		return err
	}
	at := nanos(ev.OccurredAt)
	switch e := ev.Data.(type) {
	case domain.CaseOpened:
		_, err := tx.Exec(`INSERT INTO {cases}(case_id, reference, owner_agency, country, legal_framework, supervising_agency, summary, opened_at, revision)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.CaseID.String(), e.Reference, e.OwnerAgency, e.Country, string(e.LegalFramework),
			e.SupervisingAgency, e.Summary, at, ev.Revision)
		return err
	case domain.CaseShared, domain.CaseSharingRevoked:
		return caseRevision(tx, ev)
	case domain.CaseClosed:
		_, err := tx.Exec(`UPDATE {cases} SET closed_at = ?, outcome = ?, revision = ? WHERE case_id = ?`, at, e.Outcome, ev.Revision, e.CaseID.String())
		return err
	case domain.HoldPlaced:
		var ex any
		if e.ExhibitID != nil {
			ex = e.ExhibitID.String()
		}
		if _, err := tx.Exec(`INSERT OR IGNORE INTO {holds}(hold_id, case_id, exhibit_id) VALUES (?, ?, ?)`, e.HoldID.String(), e.CaseID.String(), ex); err != nil {
			return err
		}
		return adjustHold(tx, ev, e.CaseID, e.ExhibitID, 1)
	case domain.HoldReleased:
		res, err := tx.Exec(`DELETE FROM {holds} WHERE hold_id = ?`, e.HoldID.String())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return adjustHold(tx, ev, e.CaseID, e.ExhibitID, -1)
	case domain.SeizureRecorded:
		if _, err := tx.Exec(`INSERT INTO {seizures}(seizure_id, case_id, record_number, legal_framework, seized_at, closed_at,
				place_name, place_country, place_code, cause, detection_method, holder_present, custodian_agency, recording_agency, exhibit_count)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.SeizureID.String(), e.CaseID.String(), e.RecordNumber, string(e.LegalFramework), nanos(e.SeizedAt), nanos(e.ClosedAt),
			e.Place.Name, e.Place.Country, e.Place.Code, e.Cause, e.DetectionMethod, e.HolderPresent, e.Custodian.Agency,
			ev.Actor.Agency, len(e.ExhibitIDs)); err != nil {
			return err
		}
		return commitExhibits(tx, e.ExhibitIDs...)
	case domain.ExhibitRegistered:
		return registerExhibit(tx, ev, e, at)
	}
	return applyExhibit(tx, ev, at)
}

func caseRevision(tx *Tx, ev *Event) error {
	_, id, ok := domain.ParseStream(ev.Stream)
	if !ok {
		return nil
	}
	_, err := tx.Exec(`UPDATE {cases} SET revision = ? WHERE case_id = ?`, ev.Revision, id.String())
	return err
}

func adjustHold(tx *Tx, ev *Event, caseID uuid.UUID, exhibitID *uuid.UUID, d int64) error {
	if exhibitID == nil {
		_, err := tx.Exec(`UPDATE {cases} SET holds = max(0, holds + ?), revision = ? WHERE case_id = ?`, d, ev.Revision, caseID.String())
		return err
	}
	x, err := exhibits(tx).get(tx, exhibitID.String())
	if err != nil || x == nil {
		return err
	}
	x.Holds = max(0, x.Holds+d)
	touch(x, ev)
	return nil
}

func registerExhibit(tx *Tx, ev *Event, e domain.ExhibitRegistered, at int64) error {
	c := exhibits(tx)
	id := e.ExhibitID.String()
	if x, err := c.get(tx, id); err != nil || x != nil {
		if err == nil {
			err = fmt.Errorf("exhibit %s registered twice", id)
		}
		return err
	}
	x := &exhibitRow{ExhibitID: id, CaseID: e.CaseID.String(), SeizureID: e.SeizureID.String(), Label: e.Label, Reference: e.Reference,
		Description: e.Description, Category: e.Category, PresumedSubstance: e.PresumedSubstance, UnitCount: e.UnitCount,
		RegisteredAt: nanos(e.RegisteredAt), Status: string(domain.StatusRegistered), CustodianAgency: e.Custodian.Agency,
		CustodianPerson: e.Custodian.Person, Location: e.Custodian.Location, SealState: "none"}
	if e.ParentID != nil {
		x.ParentID = sql.NullString{String: e.ParentID.String(), Valid: true}
	}
	rec, err := c.isCommitted(tx, id)
	if err != nil {
		return err
	}
	x.Recorded = rec
	touch(x, ev)
	x.UpdatedAt = at
	c.put(id, x)
	return nil
}

// commitExhibits records that ids were committed (listed by a seizure or a
// sub-sample record): they become visible. The {commits} rows are written
// at Flush, many per statement; until then the batch reads them from
// c.committed, as isCommitted does.
func commitExhibits(tx *Tx, ids ...uuid.UUID) error {
	c := exhibits(tx)
	for _, id := range ids {
		sid := id.String()
		if !c.committed[sid] {
			c.committed[sid] = true
			c.newCommits = append(c.newCommits, []any{sid})
		}
		x, err := c.get(tx, sid)
		if err != nil {
			return err
		}
		if x != nil {
			x.Recorded = true
		}
	}
	return nil
}

// touch records that an event of the exhibit's own stream was applied.
func touch(x *exhibitRow, ev *Event) {
	x.Revision, x.UpdatedAt, x.Position = int64(ev.Revision), nanos(ev.OccurredAt), int64(ev.Position)
}

// isLabPurpose: a transfer or checkout whose purpose is an analysis opens a
// lab job (the lab queue's "submitted").
func isLabPurpose(purpose string) bool {
	return strings.Contains(strings.ToLower(purpose), "analys")
}

func sealTrouble(s domain.SealSeen, expected string) bool {
	return s.Condition != domain.SealIntact || (expected != "" && s.Number != expected)
}

func str(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
func num(n int64) sql.NullInt64   { return sql.NullInt64{Int64: n, Valid: true} }

// applyExhibit folds an exhibit event into the exhibit's row (in the
// batch's cache) and the other tables.
func applyExhibit(tx *Tx, ev *Event, at int64) error {
	var id string
	if (Custody{}).Interest(ev.Type) == Envelope {
		kind, sid, ok := domain.ParseStream(ev.Stream)
		if !ok || kind != "exhibit" {
			return nil
		}
		id = sid.String()
	} else {
		ref, ok := exhibitRef(ev.Data)
		if !ok {
			return nil
		}
		id = ref.ExhibitID.String()
	}
	x, err := exhibits(tx).get(tx, id)
	if err != nil {
		return err
	}
	if x == nil {
		x = &exhibitRow{} // an exhibit never registered: side tables only
	}
	switch ev.Type { // the types custody reads only the envelope of
	case domain.TypeSealOpened:
		x.SealState = "opened"
	case domain.TypeExhibitDestroyed:
		x.terminal(domain.StatusDestroyed)
	case domain.TypeExhibitReturned:
		x.terminal(domain.StatusReturned)
	case domain.TypeExhibitReleased:
		x.terminal(domain.StatusReleased)
	case domain.TypeAnnotationAdded:
	default:
		err = applyExhibitPayload(tx, ev, x, id, at)
	}
	if errors.Is(err, errIgnored) {
		return nil
	}
	if err != nil {
		return err
	}
	touch(x, ev)
	return nil
}

// errIgnored: applyExhibitPayload met an event it does not fold.
var errIgnored = errors.New("ignored")

// applyExhibitPayload folds an exhibit event whose payload custody reads.
func applyExhibitPayload(tx *Tx, ev *Event, x *exhibitRow, id string, at int64) (err error) {
	exec := func(q string, args ...any) {
		if err == nil {
			_, err = tx.Exec(q, args...)
		}
	}
	openDiscrepancies := func() {
		if err == nil {
			err = tx.QueryRow(`SELECT count(*) FROM {discrepancies} WHERE exhibit_id = ? AND resolved_at IS NULL`, id).Scan(&x.OpenDiscrepancies)
		}
	}
	switch e := ev.Data.(type) {
	case domain.ExhibitSealed:
		x.Seal, x.SealState = e.SealNumber, "sealed"
		if x.Status == string(domain.StatusRegistered) {
			x.Status = string(domain.StatusSealed)
		}
	case domain.ExhibitWeighed:
		x.GrossMg, x.NetMg, x.TareMg, x.UncertaintyMg, x.WeighedAt = num(e.GrossMg), num(e.NetMg), num(e.TareMg), num(e.UncertaintyMg), num(at)
		x.SubsampledMg = 0
	case domain.SubSampleTaken:
		x.SubsampledMg += e.NetMg
		err = commitExhibits(tx, e.SubSampleID)
	case domain.TransferOffered:
		x.PrevStatus, x.Status = x.Status, string(domain.StatusInTransfer)
		x.TransferID, x.TransferToAgency, x.TransferToPerson, x.TransferToLocation = str(e.TransferID.String()), str(e.To.Agency), str(e.To.Person), str(e.To.Location)
		x.TransferPurpose, x.TransferOfferedAt = str(e.Purpose), num(at)
		if isLabPurpose(e.Purpose) {
			err = openLabJob(tx, err, id, e.CaseID.String(), e.To.Agency, at)
		}
	case domain.TransferAccepted:
		x.Status, x.PrevStatus = string(domain.StatusInCustody), ""
		x.CustodianAgency, x.CustodianPerson, x.Location = e.To.Agency, e.To.Person, e.To.Location
		x.SealBroken = x.SealBroken || e.Seal.Condition != domain.SealIntact
		x.clearTransfer()
	case domain.TransferRejected:
		x.restore()
		exec(`DELETE FROM {lab_jobs} WHERE exhibit_id = ? AND lab = ? AND received_at IS NULL AND reported_at IS NULL`, id, e.To.Agency)
	case domain.TransferCancelled:
		x.restore()
		exec(`DELETE FROM {lab_jobs} WHERE exhibit_id = ? AND lab = ? AND received_at IS NULL AND reported_at IS NULL`, id, e.To.Agency)
	case domain.ExhibitStored:
		x.Location = e.Location
		if x.Status == string(domain.StatusRegistered) || x.Status == string(domain.StatusSealed) {
			x.Status = string(domain.StatusInCustody)
		}
	case domain.SealInspected:
		x.SealBroken = x.SealBroken || e.Seal.Condition != domain.SealIntact
	case domain.ExhibitResealed:
		x.Seal, x.SealState, x.SealBroken = e.SealNumber, "sealed", false
		if e.GrossMg > 0 {
			x.GrossMg = num(e.GrossMg)
		}
	case domain.CheckedOut:
		x.PrevStatus, x.Status = x.Status, string(domain.StatusCheckedOut)
		x.CheckoutID, x.CheckoutToAgency, x.CheckoutPurpose = str(e.CheckoutID.String()), str(e.To.Agency), str(e.Purpose)
		x.CheckoutDueAt, x.CheckedOutAt = num(nanos(e.DueAt)), num(at)
		if isLabPurpose(e.Purpose) {
			err = openLabJob(tx, err, id, e.CaseID.String(), e.To.Agency, at)
		}
	case domain.CheckedIn:
		x.Status = string(domain.StatusInCustody)
		if x.PrevStatus != "" {
			x.Status = x.PrevStatus
		}
		x.PrevStatus = ""
		if e.Location != "" {
			x.Location = e.Location
		}
		x.SealBroken = x.SealBroken || e.Seal.Condition != domain.SealIntact
		x.clearCheckout()
	case domain.LabReceiptRecorded:
		err = openLabJob(tx, err, id, e.CaseID.String(), e.Lab, at)
		exec(`UPDATE {lab_jobs} SET received_at = ?, lab_case_number = ? WHERE exhibit_id = ? AND lab = ? AND reported_at IS NULL`,
			at, e.LabCaseNumber, id, e.Lab)
		x.SealBroken = x.SealBroken || e.Seal.Condition != domain.SealIntact
	case domain.AnalysisReported:
		sub, purity := mainSubstance(e.Substances)
		err = openLabJob(tx, err, id, e.CaseID.String(), e.Lab, at)
		exec(`UPDATE {lab_jobs} SET reported_at = ?, report_id = ?, substance = ?, purity_bp = ?,
			received_at = coalesce(received_at, ?), lab_case_number = CASE WHEN lab_case_number = '' THEN ? ELSE lab_case_number END
			WHERE exhibit_id = ? AND lab = ? AND reported_at IS NULL`,
			at, e.ReportID.String(), sub, purity, at, e.LabCaseNumber, id, e.Lab)
		x.IdentifiedSubstance = sub
	case domain.ReportAmended:
		sub, purity := mainSubstance(e.Substances)
		exec(`UPDATE {lab_jobs} SET substance = ?, purity_bp = ? WHERE exhibit_id = ? AND report_id = ?`, sub, purity, id, e.ReportID.String())
		x.IdentifiedSubstance = sub
	case domain.DiscrepancyRaised:
		exec(`INSERT OR IGNORE INTO {discrepancies}(discrepancy_id, exhibit_id, case_id, kind, automatic, detail, expected_mg, observed_mg,
				expected_seal, observed_seal, raised_at, raised_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.DiscrepancyID.String(), id, e.CaseID.String(), e.Kind, e.Automatic, e.Detail, e.ExpectedMg, e.ObservedMg,
			e.ExpectedSeal, e.ObservedSeal, at, ev.Actor.Agency)
		openDiscrepancies()
		x.SealBroken = x.SealBroken || e.Kind == domain.DiscrepancySeal
		x.Missing = x.Missing || e.Kind == domain.DiscrepancyMissing
	case domain.DiscrepancyResolved:
		exec(`UPDATE {discrepancies} SET resolved_at = ?, resolution = ? WHERE discrepancy_id = ? AND resolved_at IS NULL`,
			at, e.Resolution, e.DiscrepancyID.String())
		openDiscrepancies()
	case domain.InventoryAudited:
		x.Missing = !e.Found
		x.SealBroken = x.SealBroken || (e.Seal != nil && e.Seal.Condition != domain.SealIntact)
	case domain.DisposalAuthorised:
		x.DisposalMethod, x.DisposalDeadline = str(e.Method), num(nanos(e.ChallengeDeadline))
		switch domain.Status(x.Status) {
		case domain.StatusInCustody, domain.StatusSealed, domain.StatusRegistered:
			x.Status = string(domain.StatusDisposalAuthorised)
		}
	default:
		return errIgnored
	}
	return err
}

// restore ends a pending transfer: the status before the offer comes back.
func (x *exhibitRow) restore() {
	if x.PrevStatus != "" {
		x.Status = x.PrevStatus
	}
	x.PrevStatus = ""
	x.clearTransfer()
}

func (x *exhibitRow) terminal(s domain.Status) {
	x.Status, x.PrevStatus = string(s), ""
	x.clearTransfer()
	x.clearCheckout()
}

// openLabJob opens a job of lab on the exhibit unless one is open.
func openLabJob(tx *Tx, err error, exhibitID, caseID, lab string, at int64) error {
	if err != nil {
		return err
	}
	_, err = tx.Exec(`INSERT INTO {lab_jobs}(exhibit_id, lab, seq, case_id, submitted_at)
		SELECT ?1, ?2, coalesce((SELECT max(seq) FROM {lab_jobs} WHERE exhibit_id = ?1 AND lab = ?2), 0) + 1, ?3, ?4
		WHERE NOT EXISTS (SELECT 1 FROM {lab_jobs} WHERE exhibit_id = ?1 AND lab = ?2 AND reported_at IS NULL)`,
		exhibitID, lab, caseID, at)
	if err != nil {
		return fmt.Errorf("lab job: %w", err)
	}
	return nil
}

// mainSubstance is the substance of highest purity, the one statistics and
// the custody view show.
func mainSubstance(subs []domain.Substance) (string, any) {
	best := -1
	for i, s := range subs {
		if best < 0 || s.PurityBP > subs[best].PurityBP {
			best = i
		}
	}
	if best < 0 {
		return "", nil
	}
	return subs[best].Name, subs[best].PurityBP
}
