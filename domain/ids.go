package domain

import (
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Namespace is the fixed UUIDv5 namespace of every ID the domain derives.
// It MUST never change: retried commands must reproduce the same IDs.
var Namespace = uuid.MustParse("6f0d3c52-8a1e-5b7f-9c4d-2e1a7b3f5d60")

// Stream name prefixes.
const (
	casePrefix    = "case-"
	seizurePrefix = "seizure-"
	exhibitPrefix = "exhibit-"
)

// CaseStream is the stream of a case: "case-<uuid>".
func CaseStream(id uuid.UUID) string { return casePrefix + id.String() }

// SeizureStream is the stream of a seizure: "seizure-<uuid>".
func SeizureStream(id uuid.UUID) string { return seizurePrefix + id.String() }

// ExhibitStream is the stream of an exhibit (sub-samples included):
// "exhibit-<uuid>".
func ExhibitStream(id uuid.UUID) string { return exhibitPrefix + id.String() }

// ParseStream splits a stream name into its kind ("case", "seizure",
// "exhibit") and ID. ok is false for any other name.
func ParseStream(stream string) (kind string, id uuid.UUID, ok bool) {
	for _, k := range []string{casePrefix, seizurePrefix, exhibitPrefix} {
		if rest, found := strings.CutPrefix(stream, k); found {
			u, err := uuid.Parse(rest)
			if err != nil || u.String() != rest {
				return "", uuid.Nil, false
			}
			return strings.TrimSuffix(k, "-"), u, true
		}
	}
	return "", uuid.Nil, false
}

// deriveID is UUIDv5(Namespace, purpose | agency | user | key | slot). The
// principal is part of the name so that two agencies choosing the same
// idempotency key never collide; the same principal retrying the same key
// gets the same IDs.
func deriveID(purpose string, p Principal, key, slot string) uuid.UUID {
	var b strings.Builder
	for i, s := range []string{"scelle/domain/v1", purpose, p.Agency, p.User, key, slot} {
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return uuid.NewSHA1(Namespace, []byte(b.String()))
}

// EventID is the ID of the index-th event (0-based, counted across all the
// appends of a decision, in order) of the decision taken for principal p
// under idempotency key. The application layer can use EventID(p, key, 0)
// to find out whether a command was already applied.
func EventID(p Principal, key string, index int) uuid.UUID {
	return deriveID("event", p, key, strconv.Itoa(index))
}

// EntityID is the ID of a case, seizure, exhibit, transfer, report, hold,
// discrepancy or any other entity a command creates; slot names it within
// the command ("case", "seizure", "exhibit/3", ...).
func EntityID(p Principal, key, slot string) uuid.UUID {
	return deriveID("entity", p, key, slot)
}
