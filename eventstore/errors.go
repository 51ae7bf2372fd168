package eventstore

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

var (
	// ErrStreamNotFound: the stream has no event.
	ErrStreamNotFound = errors.New("eventstore: stream not found")
	// ErrClosed: the store or subscription was closed.
	ErrClosed = errors.New("eventstore: closed")
	// ErrWrongRevision is matched by every *WrongRevisionError.
	ErrWrongRevision = errors.New("eventstore: wrong expected revision")
	// ErrIDReused is matched by every *IDReusedError.
	ErrIDReused = errors.New("eventstore: event id reused with different content")
	// ErrInvalid is matched by every *InvalidError.
	ErrInvalid = errors.New("eventstore: invalid input")
)

// WrongRevisionError: the stream's state did not match the expected revision.
// Nothing was written.
type WrongRevisionError struct {
	Stream   string
	Expected ExpectedRevision
	// Actual is the stream's last revision; meaningful only if Exists.
	Actual uint64
	Exists bool
}

func (e *WrongRevisionError) Error() string {
	actual := "no stream"
	if e.Exists {
		actual = fmt.Sprintf("revision %d", e.Actual)
	}
	return fmt.Sprintf("eventstore: append to %s: expected %s, stream is at %s", e.Stream, e.Expected, actual)
}

func (e *WrongRevisionError) Is(target error) bool { return target == ErrWrongRevision }

// IDReusedError: an event ID was already written with other content, in
// another stream, or at another place in the stream. Nothing was written.
type IDReusedError struct {
	ID     uuid.UUID
	Stream string
	Reason string
}

func (e *IDReusedError) Error() string {
	return fmt.Sprintf("eventstore: append to %s: event id %s reused: %s", e.Stream, e.ID, e.Reason)
}

func (e *IDReusedError) Is(target error) bool { return target == ErrIDReused }

// InvalidError: the input is malformed. Field names what is wrong, for
// example "stream", "events[2].payload" or "expected_revision".
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("eventstore: invalid %s: %s", e.Field, e.Reason)
}

func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }
