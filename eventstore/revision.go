package eventstore

import "fmt"

// ExpectedRevision is the optimistic-concurrency condition of an append.
// The zero value is invalid: callers say what they expect.
type ExpectedRevision struct {
	kind revisionKind
	rev  uint64
}

type revisionKind uint8

const (
	revisionInvalid revisionKind = iota
	revisionAny
	revisionNoStream
	revisionStreamExists
	revisionExact
)

var (
	// Any appends whatever the stream's state.
	Any = ExpectedRevision{kind: revisionAny}
	// NoStream appends only if the stream has no event yet.
	NoStream = ExpectedRevision{kind: revisionNoStream}
	// StreamExists appends only if the stream has at least one event.
	StreamExists = ExpectedRevision{kind: revisionStreamExists}
)

// Exact appends only if the stream's last event is at revision n.
func Exact(n uint64) ExpectedRevision { return ExpectedRevision{kind: revisionExact, rev: n} }

// Valid reports whether r is one of Any, NoStream, StreamExists or Exact(n).
func (r ExpectedRevision) Valid() bool { return r.kind >= revisionAny && r.kind <= revisionExact }

// Exact returns n and true for Exact(n).
func (r ExpectedRevision) ExactValue() (uint64, bool) { return r.rev, r.kind == revisionExact }

// Check reports whether a stream whose last revision is current (exists
// false: no event yet) satisfies r.
func (r ExpectedRevision) Check(current uint64, exists bool) bool {
	switch r.kind {
	case revisionAny:
		return true
	case revisionNoStream:
		return !exists
	case revisionStreamExists:
		return exists
	case revisionExact:
		return exists && current == r.rev
	}
	return false
}

func (r ExpectedRevision) String() string {
	switch r.kind {
	case revisionAny:
		return "any"
	case revisionNoStream:
		return "no stream"
	case revisionStreamExists:
		return "stream exists"
	case revisionExact:
		return fmt.Sprintf("revision %d", r.rev)
	}
	return "invalid expected revision"
}
