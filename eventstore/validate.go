package eventstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// MaxStreamNameLength bounds a stream name in bytes.
const MaxStreamNameLength = 255

// ValidateStreamName checks a stream name: non-empty, valid UTF-8, at most
// MaxStreamNameLength bytes, no control or space characters, not starting
// with '$' (reserved for KurrentDB's system streams).
func ValidateStreamName(stream string) error {
	switch {
	case stream == "":
		return &InvalidError{Field: "stream", Reason: "must not be empty"}
	case len(stream) > MaxStreamNameLength:
		return &InvalidError{Field: "stream", Reason: fmt.Sprintf("is %d bytes long, at most %d allowed", len(stream), MaxStreamNameLength)}
	case !utf8.ValidString(stream):
		return &InvalidError{Field: "stream", Reason: "is not valid UTF-8"}
	case strings.HasPrefix(stream, "$"):
		return &InvalidError{Field: "stream", Reason: fmt.Sprintf("%q: names starting with '$' are reserved", stream)}
	}
	for _, r := range stream {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return &InvalidError{Field: "stream", Reason: fmt.Sprintf("%q contains a space or control character", stream)}
		}
	}
	return nil
}

// ValidateAppend checks an append's input the same way for every adapter.
// It returns an *InvalidError naming the first bad field.
func ValidateAppend(stream string, expected ExpectedRevision, events []EventData) error {
	if err := ValidateStreamName(stream); err != nil {
		return err
	}
	if !expected.Valid() {
		return &InvalidError{Field: "expected_revision", Reason: "unknown value: use Any, NoStream, StreamExists or Exact(n)"}
	}
	if len(events) == 0 {
		return &InvalidError{Field: "events", Reason: "an append needs at least one event"}
	}
	seen := make(map[uuid.UUID]int, len(events))
	for i := range events {
		if err := validateEvent(&events[i]); err != nil {
			err.Field = fmt.Sprintf("events[%d].%s", i, err.Field)
			return err
		}
		if j, dup := seen[events[i].ID]; dup {
			return &InvalidError{Field: fmt.Sprintf("events[%d].id", i), Reason: fmt.Sprintf("%s is also the id of events[%d]", events[i].ID, j)}
		}
		seen[events[i].ID] = i
	}
	return nil
}

func validateEvent(e *EventData) *InvalidError {
	switch {
	case e.ID == uuid.Nil:
		return &InvalidError{Field: "id", Reason: "must not be the nil UUID"}
	case e.Type == "":
		return &InvalidError{Field: "type", Reason: "must not be empty"}
	case !utf8.ValidString(e.Type) || strings.ContainsFunc(e.Type, unicode.IsControl):
		return &InvalidError{Field: "type", Reason: "must be printable UTF-8"}
	case strings.HasPrefix(e.Type, "$"):
		return &InvalidError{Field: "type", Reason: fmt.Sprintf("%q: types starting with '$' are reserved", e.Type)}
	case e.SchemaVersion == 0:
		return &InvalidError{Field: "schema_version", Reason: "must be at least 1"}
	case e.OccurredAt.IsZero():
		return &InvalidError{Field: "occurred_at", Reason: "must be set"}
	case e.OccurredAt.Year() < 1900 || e.OccurredAt.Year() > 2200:
		return &InvalidError{Field: "occurred_at", Reason: fmt.Sprintf("%v is out of range", e.OccurredAt)}
	}
	for _, f := range []struct{ name, v string }{{"actor.user", e.Actor.User}, {"actor.agency", e.Actor.Agency}, {"actor.role", e.Actor.Role}} {
		if !utf8.ValidString(f.v) {
			return &InvalidError{Field: f.name, Reason: "is not valid UTF-8"}
		}
	}
	if size := len(e.Payload) + len(e.Type) + len(e.Actor.User) + len(e.Actor.Agency) + len(e.Actor.Role); size > MaxEventSize {
		return &InvalidError{Field: "payload", Reason: fmt.Sprintf("event is %d bytes, at most %d allowed", size, MaxEventSize)}
	}
	if !json.Valid(e.Payload) {
		return &InvalidError{Field: "payload", Reason: "is not valid JSON"}
	}
	if p := strings.TrimLeft(string(e.Payload[:min(len(e.Payload), 64)]), " \t\r\n"); p == "" || (p[0] != '{' && p[0] != '[') {
		return &InvalidError{Field: "payload", Reason: "must be a JSON object or array"}
	}
	return nil
}

// SameContent reports whether a stored event carries exactly the content of
// a proposed one: the test behind deterministic idempotency.
func SameContent(stored *RecordedEvent, proposed *EventData) bool {
	return stored.EventID == proposed.ID &&
		stored.Type == proposed.Type &&
		stored.SchemaVersion == proposed.SchemaVersion &&
		string(stored.Payload) == string(proposed.Payload) &&
		stored.OccurredAt.Equal(proposed.OccurredAt) &&
		stored.Actor == proposed.Actor &&
		stored.CorrelationID == proposed.CorrelationID &&
		stored.CausationID == proposed.CausationID
}
