package ledger

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// envelopeFixture is one frozen envelope: its fields, its canonical bytes and
// its hash. Fixtures are contracts: once committed they MUST NOT change.
type envelopeFixture struct {
	Comment   string   `json:"comment"`
	Envelope  Envelope `json:"envelope"`
	Canonical string   `json:"canonical_hex"`
	Hash      Hash     `json:"hash"`
}

func loadEnvelopeFixtures(t *testing.T) map[string]envelopeFixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "envelope-v1", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no envelope fixtures in testdata/envelope-v1")
	}
	out := make(map[string]envelopeFixture, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var f envelopeFixture
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[filepath.Base(p)] = f
	}
	return out
}

// TestEnvelope_FrozenFixtures checks that every committed fixture still
// encodes and hashes to the same bytes, and decodes back to its fields.
func TestEnvelope_FrozenFixtures(t *testing.T) {
	for name, f := range loadEnvelopeFixtures(t) {
		t.Run(name, func(t *testing.T) {
			got, err := f.Envelope.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got) != f.Canonical {
				t.Errorf("canonical bytes:\n got %x\nwant %s", got, f.Canonical)
			}
			h, err := f.Envelope.Hash()
			if err != nil {
				t.Fatal(err)
			}
			if h != f.Hash {
				t.Errorf("hash: got %s, want %s", h, f.Hash)
			}
			raw, _ := hex.DecodeString(f.Canonical)
			back, err := DecodeCanonical(raw)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !sameEnvelope(back, f.Envelope) {
				t.Errorf("decode: got %+v, want %+v", back, f.Envelope)
			}
		})
	}
}

// TestEnvelope_FixtureChain checks that the fixture stream chains: each
// revision's prev_hash is the previous fixture's hash.
func TestEnvelope_FixtureChain(t *testing.T) {
	fx := loadEnvelopeFixtures(t)
	names := []string{"01-exhibit-registered.json", "02-exhibit-sealed.json", "03-transfer-offered.json"}
	var envs []Envelope
	var hashes []Hash
	for _, n := range names {
		f, ok := fx[n]
		if !ok {
			t.Fatalf("fixture %s missing", n)
		}
		envs = append(envs, f.Envelope)
		hashes = append(hashes, f.Hash)
	}
	if err := VerifyChain(envs, hashes); err != nil {
		t.Fatal(err)
	}
}

func sameEnvelope(a, b Envelope) bool {
	ta, tb := a, b
	ta.OccurredAt, tb.OccurredAt = time.Time{}, time.Time{}
	ta.RecordedAt, tb.RecordedAt = time.Time{}, time.Time{}
	return ta == tb && a.OccurredAt.Equal(b.OccurredAt) && a.RecordedAt.Equal(b.RecordedAt)
}

func sampleEnvelope() Envelope {
	return Envelope{
		EventID:       uuid.MustParse("6f1c2b8e-3a4d-5e6f-8a9b-0c1d2e3f4a5b"),
		Stream:        "exhibit-0b7e4f52-9c1a-5d3e-8f2b-6a4c9e1d7b30",
		Revision:      3,
		Type:          "TransferOffered",
		SchemaVersion: 1,
		OccurredAt:    time.Date(2026, 4, 12, 9, 41, 7, 123456789, time.UTC),
		RecordedAt:    time.Date(2026, 4, 12, 9, 43, 0, 5, time.UTC),
		Actor:         Actor{User: "nadia", Agency: "MA-DOUANE-TGM", Role: "officer"},
		CorrelationID: uuid.MustParse("1d9a3c44-0e5b-4c2f-9a7d-3b6e8f1c2d40"),
		PayloadDigest: PayloadDigest([]byte(`{"to_agency":"MA-DOUANE-TGM"}`)),
		PrevHash:      Hash{1, 2, 3},
	}
}

func TestEnvelope_DecodeRejects(t *testing.T) {
	e := sampleEnvelope()
	good, err := e.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]byte{
		"empty":           nil,
		"truncated":       good[:len(good)-1],
		"trailing byte":   append(append([]byte(nil), good...), 0),
		"wrong tag":       bytes.Replace(good, []byte("scelle/event"), []byte("scelle/evenT"), 1),
		"unknown version": func() []byte { b := append([]byte(nil), good...); b[4+len(encodingTag)+1] = 2; return b }(),
		"huge length":     append([]byte{0xff, 0xff, 0xff, 0xff}, good[4:]...),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeCanonical(b)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

// TestEnvelope_EveryFieldIsCovered changes each field in turn and checks
// that the hash changes: no field escapes the hash.
func TestEnvelope_EveryFieldIsCovered(t *testing.T) {
	base := sampleEnvelope()
	h0, err := base.Hash()
	if err != nil {
		t.Fatal(err)
	}
	muts := map[string]func(e *Envelope){
		"event_id":       func(e *Envelope) { e.EventID[15] ^= 1 },
		"stream":         func(e *Envelope) { e.Stream += "x" },
		"revision":       func(e *Envelope) { e.Revision++ },
		"type":           func(e *Envelope) { e.Type = "TransferAccepted" },
		"schema_version": func(e *Envelope) { e.SchemaVersion++ },
		"occurred_at":    func(e *Envelope) { e.OccurredAt = e.OccurredAt.Add(time.Nanosecond) },
		"recorded_at":    func(e *Envelope) { e.RecordedAt = e.RecordedAt.Add(time.Nanosecond) },
		"actor.user":     func(e *Envelope) { e.Actor.User = "youssef" },
		"actor.agency":   func(e *Envelope) { e.Actor.Agency = "FR-DOUANE-MRS" },
		"actor.role":     func(e *Envelope) { e.Actor.Role = "custodian" },
		"correlation_id": func(e *Envelope) { e.CorrelationID[0] ^= 1 },
		"causation_id":   func(e *Envelope) { e.CausationID[0] ^= 1 },
		"payload_digest": func(e *Envelope) { e.PayloadDigest[31] ^= 1 },
		"prev_hash":      func(e *Envelope) { e.PrevHash[0] ^= 1 },
		// Moving a byte between adjacent strings must change the hash too:
		// the length prefixes make the encoding unambiguous.
		"user/agency boundary": func(e *Envelope) { e.Actor.User, e.Actor.Agency = "nadiaM", "A-DOUANE-TGM" },
	}
	for name, mut := range muts {
		t.Run(name, func(t *testing.T) {
			e := base
			mut(&e)
			h, err := e.Hash()
			if err != nil {
				t.Fatal(err)
			}
			if h == h0 {
				t.Fatalf("hash unchanged after changing %s", name)
			}
		})
	}
}

func TestEnvelope_RefusesUnencodable(t *testing.T) {
	tests := map[string]func(e *Envelope){
		"invalid utf-8 stream": func(e *Envelope) { e.Stream = "exhibit-\xff" },
		"zero occurred_at":     func(e *Envelope) { e.OccurredAt = time.Time{} },
		"far future":           func(e *Envelope) { e.RecordedAt = time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	for name, mut := range tests {
		t.Run(name, func(t *testing.T) {
			e := sampleEnvelope()
			mut(&e)
			if _, err := e.Canonical(); err == nil {
				t.Fatal("got nil error, want an encoding error")
			}
		})
	}
}

func TestLink_ChainBreaks(t *testing.T) {
	var envs []Envelope
	var hashes []Hash
	var prev Hash
	for i := range 5 {
		e := sampleEnvelope()
		e.Revision = uint64(i)
		e.EventID[0] = byte(i)
		h, err := Link(&e, prev)
		if err != nil {
			t.Fatal(err)
		}
		envs, hashes, prev = append(envs, e), append(hashes, h), h
	}
	if err := VerifyChain(envs, hashes); err != nil {
		t.Fatalf("intact chain: %v", err)
	}
	tamper := map[string]struct {
		mut  func(envs []Envelope, hashes []Hash) ([]Envelope, []Hash)
		want uint64
	}{
		"payload digest changed": {func(e []Envelope, h []Hash) ([]Envelope, []Hash) { e[2].PayloadDigest[0] ^= 1; return e, h }, 2},
		"event removed": {func(e []Envelope, h []Hash) ([]Envelope, []Hash) {
			return append(e[:1], e[2:]...), append(h[:1], h[2:]...)
		}, 1},
		"events swapped": {func(e []Envelope, h []Hash) ([]Envelope, []Hash) {
			e[1], e[2], h[1], h[2] = e[2], e[1], h[2], h[1]
			return e, h
		}, 1},
		"stored hash replaced": {func(e []Envelope, h []Hash) ([]Envelope, []Hash) { h[4][3] ^= 1; return e, h }, 4},
	}
	for name, tc := range tamper {
		t.Run(name, func(t *testing.T) {
			e, h := tc.mut(append([]Envelope(nil), envs...), append([]Hash(nil), hashes...))
			var ce *ChainError
			if err := VerifyChain(e, h); !errors.As(err, &ce) {
				t.Fatalf("got %v, want *ChainError", err)
			}
			if ce.Revision != tc.want {
				t.Errorf("break at revision %d, want %d (%v)", ce.Revision, tc.want, ce)
			}
		})
	}
	if _, err := Link(&envs[0], Hash{9}); err == nil || !strings.Contains(err.Error(), "first event") {
		t.Errorf("link revision 0 to a predecessor: got %v, want an error", err)
	}
}

func FuzzDecodeCanonical(f *testing.F) {
	e := sampleEnvelope()
	good, _ := e.Canonical()
	f.Add(good)
	f.Add([]byte{})
	f.Add(good[:40])
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := DecodeCanonical(b)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to exactly the same bytes: the
		// encoding has one form per envelope.
		again, err := env.Canonical()
		if err != nil {
			t.Fatalf("decoded envelope does not re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, again)
		}
	})
}
