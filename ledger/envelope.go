package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// EncodingVersion is the version of the canonical envelope encoding. It is
// the first field of the canonical bytes; a verifier MUST refuse a version it
// does not know.
const EncodingVersion = 1

// encodingTag opens every canonical envelope: it separates scelle's event
// hashes from any other SHA-256 use of the same bytes.
const encodingTag = "scelle/event"

// Hash is a SHA-256 digest.
type Hash [sha256.Size]byte

// String returns the lowercase hex form of h.
func (h Hash) String() string { return fmt.Sprintf("%x", h[:]) }

// IsZero reports whether h is all zeros (the prev_hash of a stream's first event).
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText encodes h as lowercase hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes a 64-digit hex string.
func (h *Hash) UnmarshalText(b []byte) error {
	p, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

// ParseHash decodes a 64-digit lowercase or uppercase hex string.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("ledger: hash %q: want %d hex digits, got %d", s, 2*len(h), len(s))
	}
	for i := range h {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return Hash{}, fmt.Errorf("ledger: hash %q: not hexadecimal", s)
		}
		h[i] = hi<<4 | lo
	}
	return h, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// PayloadDigest returns SHA-256 of the payload bytes exactly as stored.
func PayloadDigest(payload []byte) Hash { return sha256.Sum256(payload) }

// Actor is who caused an event: always the authenticated principal, never
// taken from a request body.
type Actor struct {
	User   string `json:"user"`
	Agency string `json:"agency"`
	Role   string `json:"role"`
}

// Envelope is everything about an event that its hash covers. The payload
// itself is covered through PayloadDigest, so a payload can be redacted or
// erased without breaking any hash.
type Envelope struct {
	EventID       uuid.UUID `json:"event_id"`
	Stream        string    `json:"stream"`
	Revision      uint64    `json:"revision"`
	Type          string    `json:"type"`
	SchemaVersion uint32    `json:"schema_version"`
	OccurredAt    time.Time `json:"occurred_at"`
	RecordedAt    time.Time `json:"recorded_at"`
	Actor         Actor     `json:"actor"`
	CorrelationID uuid.UUID `json:"correlation_id"`
	CausationID   uuid.UUID `json:"causation_id"`
	PayloadDigest Hash      `json:"payload_digest"`
	PrevHash      Hash      `json:"prev_hash"`
}

// Canonical returns the canonical bytes of e (docs/VERIFICATION.md, "Canonical
// envelope encoding"). Field order is fixed; strings are a 4-byte big-endian
// length then UTF-8 bytes; integers are big-endian; times are signed 64-bit
// Unix nanoseconds (UTC); UUIDs are their 16 bytes; digests their 32 bytes.
func (e *Envelope) Canonical() ([]byte, error) {
	n := 4 + len(encodingTag) + 2 + 16 + 4 + len(e.Stream) + 8 + 4 + len(e.Type) + 4 + 8 + 8 +
		12 + len(e.Actor.User) + len(e.Actor.Agency) + len(e.Actor.Role) + 16 + 16 + 32 + 32
	return e.AppendCanonical(make([]byte, 0, n))
}

// AppendCanonical appends the canonical bytes of e to b, so that a caller
// hashing many envelopes (audit) reuses one buffer.
func (e *Envelope) AppendCanonical(b []byte) ([]byte, error) {
	if err := e.checkEncodable(); err != nil {
		return nil, err
	}
	b = appendString(b, encodingTag)
	b = binary.BigEndian.AppendUint16(b, EncodingVersion)
	b = append(b, e.EventID[:]...)
	b = appendString(b, e.Stream)
	b = binary.BigEndian.AppendUint64(b, e.Revision)
	b = appendString(b, e.Type)
	b = binary.BigEndian.AppendUint32(b, e.SchemaVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(e.OccurredAt.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(e.RecordedAt.UnixNano()))
	b = appendString(b, e.Actor.User)
	b = appendString(b, e.Actor.Agency)
	b = appendString(b, e.Actor.Role)
	b = append(b, e.CorrelationID[:]...)
	b = append(b, e.CausationID[:]...)
	b = append(b, e.PayloadDigest[:]...)
	b = append(b, e.PrevHash[:]...)
	return b, nil
}

// Hash returns SHA-256 over the canonical bytes of e: the event's link in its
// stream's hash chain.
func (e *Envelope) Hash() (Hash, error) {
	b, err := e.Canonical()
	if err != nil {
		return Hash{}, err
	}
	return sha256.Sum256(b), nil
}

// minTime and maxTime bound the times that fit in signed 64-bit nanoseconds.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

func (e *Envelope) checkEncodable() error {
	for _, f := range []struct{ name, v string }{
		{"stream", e.Stream}, {"type", e.Type},
		{"actor.user", e.Actor.User}, {"actor.agency", e.Actor.Agency}, {"actor.role", e.Actor.Role},
	} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("ledger: envelope %s is not valid UTF-8", f.name)
		}
		if len(f.v) > math.MaxUint32 {
			return fmt.Errorf("ledger: envelope %s is too long", f.name)
		}
	}
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"occurred_at", e.OccurredAt}, {"recorded_at", e.RecordedAt}} {
		if f.t.Before(minTime) || f.t.After(maxTime) {
			return fmt.Errorf("ledger: envelope %s %v is outside the encodable range", f.name, f.t)
		}
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// ErrMalformed is returned (wrapped) by DecodeCanonical for bytes that are not
// a canonical envelope.
var ErrMalformed = errors.New("ledger: malformed canonical envelope")

// DecodeCanonical parses canonical bytes back into an envelope. It accepts
// exactly the bytes Canonical produces: re-encoding the result gives b back.
func DecodeCanonical(b []byte) (Envelope, error) {
	d := decoder{b: b}
	var e Envelope
	if tag := d.string("tag"); d.err == nil && tag != encodingTag {
		return e, fmt.Errorf("%w: tag %q, want %q", ErrMalformed, tag, encodingTag)
	}
	if v := d.uint16("version"); d.err == nil && v != EncodingVersion {
		return e, fmt.Errorf("%w: encoding version %d is not supported (want %d)", ErrMalformed, v, EncodingVersion)
	}
	e.EventID = d.uuid("event_id")
	e.Stream = d.string("stream")
	e.Revision = d.uint64("revision")
	e.Type = d.string("type")
	e.SchemaVersion = d.uint32("schema_version")
	e.OccurredAt = time.Unix(0, int64(d.uint64("occurred_at"))).UTC()
	e.RecordedAt = time.Unix(0, int64(d.uint64("recorded_at"))).UTC()
	e.Actor.User = d.string("actor.user")
	e.Actor.Agency = d.string("actor.agency")
	e.Actor.Role = d.string("actor.role")
	e.CorrelationID = d.uuid("correlation_id")
	e.CausationID = d.uuid("causation_id")
	e.PayloadDigest = d.hash("payload_digest")
	e.PrevHash = d.hash("prev_hash")
	if d.err != nil {
		return Envelope{}, d.err
	}
	if len(d.b) != 0 {
		return Envelope{}, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(d.b))
	}
	for _, s := range []string{e.Stream, e.Type, e.Actor.User, e.Actor.Agency, e.Actor.Role} {
		if !utf8.ValidString(s) {
			return Envelope{}, fmt.Errorf("%w: string field is not valid UTF-8", ErrMalformed)
		}
	}
	return e, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(field string, n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if uint64(len(d.b)) < n {
		d.err = fmt.Errorf("%w: %s: truncated", ErrMalformed, field)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) uuid(field string) (id uuid.UUID) {
	copy(id[:], d.take(field, uint64(len(id))))
	return id
}

func (d *decoder) hash(field string) (h Hash) {
	copy(h[:], d.take(field, uint64(len(h))))
	return h
}

func (d *decoder) uint16(field string) uint16 {
	if v := d.take(field, 2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *decoder) uint32(field string) uint32 {
	if v := d.take(field, 4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) uint64(field string) uint64 {
	if v := d.take(field, 8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) string(field string) string {
	n := d.uint32(field)
	return string(d.take(field, uint64(n)))
}
