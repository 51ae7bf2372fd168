package projections

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/scelle-ledger/scelle/domain"
	"github.com/scelle-ledger/scelle/eventstore"
)

// DomainDecoder decodes payloads with the domain's codec. Event types the
// codec does not know are skipped (nil, nil); a known type that fails to
// decode (including a schema version newer than this binary's) stops the
// runner rather than build wrong read models.
//
// A payload at the type's current schema version is decoded straight into
// the event's struct, by fastUnmarshal when it is the plain JSON the domain
// writes, else by json.Unmarshal: the store only holds payloads the domain
// encoded and checked, and decoding is a rebuild's costliest step after
// the writes (encoding/json's strict decoder cost about 10 µs an event,
// json.Unmarshal 8, fastUnmarshal about 2). Either gives what
// json.Unmarshal gives; unlike the strict decoder they accept unknown
// fields. A payload neither decodes goes through the strict decoder, for
// its error; older versions go through its upcasters.
func DomainDecoder(ev *eventstore.RecordedEvent) (any, error) {
	if t, ok := currentTypes[ev.Type]; ok && t.version == ev.SchemaVersion {
		p := reflect.New(t.typ)
		if fastUnmarshal(ev.Payload, p.Elem()) {
			return p.Elem().Interface(), nil
		}
		p = reflect.New(t.typ)
		if err := json.Unmarshal(ev.Payload, p.Interface()); err == nil {
			return p.Elem().Interface(), nil
		}
	}
	d, err := domain.Decode(ev.Type, ev.SchemaVersion, ev.Payload)
	if err != nil {
		if errors.Is(err, domain.ErrUnknownEvent) && domain.Events.SchemaVersion(ev.Type) == 0 {
			return nil, nil
		}
		return nil, err
	}
	return d, nil
}

// currentType is a domain event type's struct and current schema version.
type currentType struct {
	typ     reflect.Type
	version uint32
}

// currentTypes are the domain's event types, for DomainDecoder's direct
// path.
var currentTypes = func() map[string]currentType {
	m := map[string]currentType{}
	for _, name := range domain.Events.Types() {
		m[name] = currentType{reflect.TypeOf(domain.Events.New(name)), domain.Events.SchemaVersion(name)}
	}
	return m
}()

// participantsSchema is the access table each scoped projection keeps for
// itself (so that a projection can be rebuilt alone): which agencies take
// part in which case. role is owner, supervising or shared.
func participantsSchema() []string {
	return []string{
		`CREATE TABLE {participants} (
			case_id TEXT NOT NULL,
			agency  TEXT NOT NULL,
			role    TEXT NOT NULL,
			PRIMARY KEY (case_id, agency)
		) WITHOUT ROWID, STRICT`,
	}
}

// participantsIndexes are the query indexes of {participants}.
func participantsIndexes() []string {
	return []string{`CREATE INDEX {participants}_by_agency ON {participants}(agency, case_id)`}
}

// applyAccess keeps {participants} up to date. It reports whether ev was
// an access event.
func applyAccess(tx *Tx, ev *Event) (bool, error) {
	switch e := ev.Data.(type) {
	case domain.CaseOpened:
		if _, err := tx.Exec(`INSERT OR REPLACE INTO {participants}(case_id, agency, role) VALUES (?, ?, 'owner')`,
			e.CaseID.String(), e.OwnerAgency); err != nil {
			return true, fmt.Errorf("participants: %w", err)
		}
		if e.SupervisingAgency != "" && e.SupervisingAgency != e.OwnerAgency {
			if _, err := tx.Exec(`INSERT OR REPLACE INTO {participants}(case_id, agency, role) VALUES (?, ?, 'supervising')`,
				e.CaseID.String(), e.SupervisingAgency); err != nil {
				return true, fmt.Errorf("participants: %w", err)
			}
		}
		return true, nil
	case domain.CaseShared:
		if _, err := tx.Exec(`INSERT OR IGNORE INTO {participants}(case_id, agency, role) VALUES (?, ?, 'shared')`,
			e.CaseID.String(), e.Agency); err != nil {
			return true, fmt.Errorf("participants: %w", err)
		}
		return true, nil
	case domain.CaseSharingRevoked:
		if _, err := tx.Exec(`DELETE FROM {participants} WHERE case_id = ? AND agency = ? AND role = 'shared'`,
			e.CaseID.String(), e.Agency); err != nil {
			return true, fmt.Errorf("participants: %w", err)
		}
		return true, nil
	}
	return false, nil
}

// visible is the scoping condition: the row's case (alias.case_id) is one
// the asking agency (the next argument) takes part in.
func visible(alias string) string {
	return `EXISTS (SELECT 1 FROM {participants} vp WHERE vp.case_id = ` + alias + `.case_id AND vp.agency = ?)`
}
