package eventstore

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/ledger"
)

// MaxEventSize is the largest event an adapter accepts: KurrentDB's default
// limit of 1 MiB, counted over the payload and the envelope's strings.
const MaxEventSize = 1 << 20

// Store is the port every event store adapter implements.
type Store interface {
	// Append writes events to the end of stream if its current revision
	// matches expected. It returns the revision and global position of the
	// last event written.
	Append(ctx context.Context, stream string, expected ExpectedRevision, events ...EventData) (AppendResult, error)
	// ReadStream reads one stream from a revision (inclusive), forwards or
	// backwards. A stream that has no event fails with ErrStreamNotFound.
	ReadStream(ctx context.Context, stream string, opts ReadOptions) ([]RecordedEvent, error)
	// ReadAll reads the global order from a position (inclusive), forwards
	// or backwards, keeping only events that match opts.Filter.
	ReadAll(ctx context.Context, opts ReadOptions) ([]RecordedEvent, error)
	// SubscribeAll starts a catch-up subscription to the global order after
	// opts.From (exclusive; Start means from the first event). It delivers
	// history, then live events, with no gap and no duplicate, until ctx is
	// done or the subscription is closed.
	SubscribeAll(ctx context.Context, opts SubscribeOptions) (Subscription, error)
	// Close releases the store. Calls after Close fail with ErrClosed.
	Close() error
}

// EventData is an event as its writer proposes it. The store adds the
// stream, revision, recorded_at, payload digest and hash chain.
type EventData struct {
	// ID MUST be set (never the nil UUID) and derived deterministically from
	// the command's idempotency key, so that a retry reuses it.
	ID            uuid.UUID
	Type          string
	SchemaVersion uint32
	// Payload is a JSON object (or array); it is stored byte for byte.
	Payload       []byte
	OccurredAt    time.Time
	Actor         ledger.Actor
	CorrelationID uuid.UUID
	CausationID   uuid.UUID
}

// RecordedEvent is a stored event: its envelope, its hash, its payload and
// its place in the global order.
type RecordedEvent struct {
	ledger.Envelope
	// Hash is the event's link in its stream's hash chain (ledger.Link).
	Hash    ledger.Hash
	Payload []byte
	// Position is the event's place in the global order.
	Position uint64
}

// AppendResult is what a successful append reports: the revision and global
// position of the last event of the append.
type AppendResult struct {
	Revision uint64
	Position uint64
}

// Direction is the direction of a read.
type Direction int

const (
	Forwards Direction = iota
	Backwards
)

// From says where a read or a subscription starts. For ReadStream its value
// is a stream revision, for ReadAll and SubscribeAll a global position. The
// zero value is Start.
type From struct {
	kind  fromKind
	value uint64
}

type fromKind uint8

const (
	fromStart fromKind = iota
	fromEnd
	fromAt
)

// Start is the first event (or, for a subscription, before the first event).
var Start = From{kind: fromStart}

// End is the last event (for backwards reads; a subscription from End only
// receives live events).
var End = From{kind: fromEnd}

// At is a revision (ReadStream) or a position (ReadAll, inclusive;
// SubscribeAll, exclusive).
func At(v uint64) From { return From{kind: fromAt, value: v} }

// IsStart, IsEnd and Value describe f for adapters.
func (f From) IsStart() bool { return f.kind == fromStart }
func (f From) IsEnd() bool   { return f.kind == fromEnd }

// Value returns the revision or position of an At value, and false for Start
// and End.
func (f From) Value() (uint64, bool) { return f.value, f.kind == fromAt }

// ReadOptions shape a read. Count 0 means no limit.
type ReadOptions struct {
	Direction Direction
	From      From
	Count     uint64
	// Filter applies to ReadAll only.
	Filter Filter
}

// Filter keeps the events whose stream starts with one of StreamPrefixes (if
// any are given) and whose type is one of EventTypes (if any are given).
type Filter struct {
	StreamPrefixes []string
	EventTypes     []string
}

// Match reports whether e passes f.
func (f Filter) Match(stream, eventType string) bool {
	if len(f.StreamPrefixes) > 0 {
		ok := false
		for _, p := range f.StreamPrefixes {
			if len(stream) >= len(p) && stream[:len(p)] == p {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(f.EventTypes) > 0 {
		for _, t := range f.EventTypes {
			if t == eventType {
				return true
			}
		}
		return false
	}
	return true
}

// SubscribeOptions shape a catch-up subscription.
type SubscribeOptions struct {
	From   From
	Filter Filter
}

// Subscription delivers events in global order.
type Subscription interface {
	// Recv blocks until the next event. It returns the subscription's
	// context error once that is done, and ErrClosed after Close.
	Recv() (RecordedEvent, error)
	Close() error
}
