package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
)

// ErrUnknownEvent is returned (wrapped) by Decode for an event type or
// schema version the codec does not know.
var ErrUnknownEvent = errors.New("domain: unknown event type or schema version")

// Upcaster turns the JSON payload of schema version n into the payload of
// version n+1.
type Upcaster func(payload []byte) ([]byte, error)

type eventInfo struct {
	version   uint32
	typ       reflect.Type
	upcasters map[uint32]Upcaster // from version -> to version+1
}

// Codec encodes events to versioned JSON payloads and decodes them back,
// upcasting older schema versions to the current struct.
type Codec struct {
	types map[string]*eventInfo
}

// NewCodec returns a codec that knows no event.
func NewCodec() *Codec { return &Codec{types: map[string]*eventInfo{}} }

// Register makes e's type known at schema version (>= 1). It panics on a
// duplicate registration: registrations are static.
func (c *Codec) Register(e Event, version uint32) {
	name := e.EventType()
	if _, dup := c.types[name]; dup || version == 0 {
		panic("domain: event type registered twice or at version 0: " + name)
	}
	t := reflect.TypeOf(e)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	c.types[name] = &eventInfo{version: version, typ: t, upcasters: map[uint32]Upcaster{}}
}

// RegisterUpcaster installs the step from schema version from to from+1 of
// eventType. Every version below the current one needs a step.
func (c *Codec) RegisterUpcaster(eventType string, from uint32, up Upcaster) {
	info, ok := c.types[eventType]
	if !ok || from == 0 || from >= info.version {
		panic(fmt.Sprintf("domain: upcaster %s v%d: no such older version", eventType, from))
	}
	info.upcasters[from] = up
}

// Types lists the registered event types, sorted.
func (c *Codec) Types() []string {
	out := make([]string, 0, len(c.types))
	for t := range c.types {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// SchemaVersion is the current schema version of eventType (0 if unknown).
func (c *Codec) SchemaVersion(eventType string) uint32 {
	if info, ok := c.types[eventType]; ok {
		return info.version
	}
	return 0
}

// New returns a pointer to a zero value of eventType's struct (for tests and
// tools), or nil if the type is unknown.
func (c *Codec) New(eventType string) Event {
	info, ok := c.types[eventType]
	if !ok {
		return nil
	}
	return reflect.New(info.typ).Elem().Interface().(Event)
}

// Encode returns e's type name, current schema version and JSON payload.
// Values and pointers to values encode alike.
func (c *Codec) Encode(e Event) (eventType string, schemaVersion uint32, payload []byte, err error) {
	if e == nil || (reflect.ValueOf(e).Kind() == reflect.Pointer && reflect.ValueOf(e).IsNil()) {
		return "", 0, nil, errors.New("domain: encode: nil event")
	}
	name := e.EventType()
	info, ok := c.types[name]
	if !ok {
		return "", 0, nil, fmt.Errorf("domain: encode %s: %w", name, ErrUnknownEvent)
	}
	payload, err = json.Marshal(e)
	if err != nil {
		return "", 0, nil, fmt.Errorf("domain: encode %s: %w", name, err)
	}
	return name, info.version, payload, nil
}

// Decode parses a payload of eventType at schemaVersion into the current
// struct (a value, not a pointer), running upcasters for older versions.
// Unknown fields and trailing data are refused: a payload is a contract.
func (c *Codec) Decode(eventType string, schemaVersion uint32, payload []byte) (Event, error) {
	info, ok := c.types[eventType]
	if !ok {
		return nil, fmt.Errorf("domain: decode %q: %w", eventType, ErrUnknownEvent)
	}
	if schemaVersion == 0 || schemaVersion > info.version {
		return nil, fmt.Errorf("domain: decode %s v%d (current v%d): %w", eventType, schemaVersion, info.version, ErrUnknownEvent)
	}
	for v := schemaVersion; v < info.version; v++ {
		up, ok := info.upcasters[v]
		if !ok {
			return nil, fmt.Errorf("domain: decode %s: no upcaster from v%d: %w", eventType, v, ErrUnknownEvent)
		}
		var err error
		if payload, err = up(payload); err != nil {
			return nil, fmt.Errorf("domain: decode %s: upcast from v%d: %w", eventType, v, err)
		}
	}
	ptr := reflect.New(info.typ)
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(ptr.Interface()); err != nil {
		return nil, fmt.Errorf("domain: decode %s v%d: %w", eventType, schemaVersion, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("domain: decode %s v%d: trailing data after the payload", eventType, schemaVersion)
	}
	return ptr.Elem().Interface().(Event), nil
}

// Events is the codec of every scelle event at its current schema version.
var Events = newEvents()

func newEvents() *Codec {
	c := NewCodec()
	for _, e := range []Event{
		CaseOpened{}, CaseShared{}, CaseSharingRevoked{}, HoldPlaced{}, HoldReleased{}, CaseClosed{},
		SeizureRecorded{},
		ExhibitRegistered{}, ExhibitSealed{}, ExhibitWeighed{}, SubSampleTaken{},
		TransferOffered{}, TransferAccepted{}, TransferRejected{}, TransferCancelled{},
		ExhibitStored{}, SealInspected{}, SealOpened{}, ExhibitResealed{},
		CheckedOut{}, CheckedIn{},
		LabReceiptRecorded{}, AnalysisReported{}, ReportAmended{},
		DiscrepancyRaised{}, DiscrepancyResolved{}, InventoryAudited{},
		DisposalAuthorised{}, ExhibitDestroyed{}, ExhibitReturned{}, ExhibitReleased{},
		AnnotationAdded{},
	} {
		c.Register(e, 1)
	}
	return c
}

// Encode encodes e with the package codec, Events.
func Encode(e Event) (eventType string, schemaVersion uint32, payload []byte, err error) {
	return Events.Encode(e)
}

// Decode decodes a stored payload with the package codec, Events.
func Decode(eventType string, schemaVersion uint32, payload []byte) (Event, error) {
	return Events.Decode(eventType, schemaVersion, payload)
}
