package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"
)

// StoredEvent is an event as a store holds it: the envelope, its hash
// (ledger.Link), its payload and its global position (= Merkle leaf index).
// eventstore.RecordedEvent carries the same fields.
type StoredEvent struct {
	Envelope
	Hash     Hash
	Payload  []byte
	Position uint64
}

// Evidence bundle format identifiers (docs/VERIFICATION.md, "Evidence
// bundle"). A verifier MUST refuse another format or a version it does not
// know.
const (
	BundleFormat  = "scelle/evidence-bundle"
	BundleVersion = 1
	// MaxBundleSize bounds a bundle file the decoder accepts.
	MaxBundleSize = 256 << 20
)

// Bundle is an evidence bundle: a set of events, each with an inclusion
// proof against one signed checkpoint, and the keys that verify it.
type Bundle struct {
	Format      string    `json:"format"`
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	Description string    `json:"description,omitempty"`
	// LogKey is the log's verifier key (informational: a verifier uses the
	// keys it trusts, given out of band, and only compares).
	LogKey string `json:"log_key"`
	// WitnessKeys are the witnesses' verifier keys (informational too).
	WitnessKeys []string `json:"witness_keys,omitempty"`
	// Checkpoint is the signed checkpoint note, verbatim, with its
	// signatures and cosignatures.
	Checkpoint string `json:"checkpoint"`
	// Manifest lists every event with its digests, in position order.
	Manifest []ManifestEntry `json:"manifest"`
	// Events are the events themselves, in the same order.
	Events []BundleEvent `json:"events"`
}

// ManifestEntry summarises one event of a bundle.
type ManifestEntry struct {
	Position      uint64 `json:"position"`
	Stream        string `json:"stream"`
	Revision      uint64 `json:"revision"`
	Type          string `json:"type"`
	EventHash     Hash   `json:"event_hash"`
	PayloadDigest Hash   `json:"payload_digest"`
	Redacted      bool   `json:"redacted,omitempty"`
}

// BundleEvent is one event: its canonical envelope bytes, its payload
// (absent when redacted) and its inclusion proof.
type BundleEvent struct {
	Position  uint64 `json:"position"`
	Canonical []byte `json:"canonical"`
	Payload   []byte `json:"payload,omitempty"`
	Redacted  bool   `json:"redacted,omitempty"`
	// Inclusion is the RFC 6962 inclusion proof of leaf Position in the
	// checkpoint's tree, base64 hashes from the leaf's sibling up.
	Inclusion []string `json:"inclusion"`
}

// BuildOptions shape a bundle.
type BuildOptions struct {
	Description string
	// Redact reports whether an event's payload is left out; its digest,
	// covered by the envelope hash, still verifies.
	Redact      func(StoredEvent) bool
	LogKey      string
	WitnessKeys []string
	Now         time.Time
}

// BuildBundle assembles a bundle of events (any order; duplicates are
// dropped) with inclusion proofs read from nodes against checkpoint, a
// signed checkpoint note whose tree contains every event.
func BuildBundle(ctx context.Context, events []StoredEvent, nodes NodeReader, checkpoint []byte, opts BuildOptions) (*Bundle, error) {
	text, _, err := SplitNote(checkpoint)
	if err != nil {
		return nil, fmt.Errorf("ledger: build bundle: %w", err)
	}
	cp, err := ParseCheckpoint(text)
	if err != nil {
		return nil, fmt.Errorf("ledger: build bundle: %w", err)
	}
	root, err := RootAt(ctx, nodes, cp.Size)
	if err != nil {
		return nil, fmt.Errorf("ledger: build bundle: %w", err)
	}
	if root != cp.Root {
		return nil, fmt.Errorf("ledger: build bundle: the store's root at size %d is %s, the checkpoint says %s", cp.Size, root, cp.Root)
	}
	evs := append([]StoredEvent(nil), events...)
	sort.Slice(evs, func(i, j int) bool { return evs[i].Position < evs[j].Position })
	b := &Bundle{
		Format: BundleFormat, Version: BundleVersion, CreatedAt: opts.Now.UTC(), Description: opts.Description,
		LogKey: opts.LogKey, WitnessKeys: opts.WitnessKeys, Checkpoint: string(checkpoint),
	}
	for i := range evs {
		e := &evs[i]
		if i > 0 && e.Position == evs[i-1].Position {
			continue
		}
		if e.Position >= cp.Size {
			return nil, fmt.Errorf("ledger: build bundle: event %s@%d at position %d is not in the checkpoint (size %d)", e.Stream, e.Revision, e.Position, cp.Size)
		}
		canon, err := e.Canonical()
		if err != nil {
			return nil, fmt.Errorf("ledger: build bundle: event %s@%d: %w", e.Stream, e.Revision, err)
		}
		p, err := InclusionProof(ctx, nodes, e.Position, cp.Size)
		if err != nil {
			return nil, fmt.Errorf("ledger: build bundle: %w", err)
		}
		redact := opts.Redact != nil && opts.Redact(*e)
		be := BundleEvent{Position: e.Position, Canonical: canon, Redacted: redact, Inclusion: make([]string, len(p))}
		if !redact {
			be.Payload = append([]byte{}, e.Payload...)
		}
		for j := range p {
			be.Inclusion[j] = base64.StdEncoding.EncodeToString(p[j][:])
		}
		b.Events = append(b.Events, be)
		b.Manifest = append(b.Manifest, ManifestEntry{
			Position: e.Position, Stream: e.Stream, Revision: e.Revision, Type: e.Type,
			EventHash: e.Hash, PayloadDigest: e.PayloadDigest, Redacted: redact,
		})
	}
	return b, nil
}

// Encode writes b as indented JSON.
func (b *Bundle) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b); err != nil {
		return fmt.Errorf("ledger: encode bundle: %w", err)
	}
	return nil
}

// ErrBundle is returned (wrapped) for a file that is not a bundle this
// version can read.
var ErrBundle = errors.New("ledger: not a valid evidence bundle")

// DecodeBundle parses a bundle strictly: unknown fields, trailing data, a
// wrong format or an unknown version are refused.
func DecodeBundle(data []byte) (*Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrBundle, len(data), MaxBundleSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var b Bundle
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the bundle", ErrBundle)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the bundle", ErrBundle)
	}
	if b.Format != BundleFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrBundle, b.Format, BundleFormat)
	}
	if b.Version != BundleVersion {
		return nil, fmt.Errorf("%w: version %d is not supported (this verifier reads version %d)", ErrBundle, b.Version, BundleVersion)
	}
	return &b, nil
}

// TLogProof renders event i's proof as a c2sp.org/tlog-proof@v1 text: the
// header, the leaf index, the inclusion proof lines, an empty line and the
// checkpoint.
func (b *Bundle) TLogProof(i int) string {
	e := b.Events[i]
	var s bytes.Buffer
	s.WriteString("c2sp.org/tlog-proof@v1\nindex ")
	s.WriteString(strconv.FormatUint(e.Position, 10))
	s.WriteByte('\n')
	for _, h := range e.Inclusion {
		s.WriteString(h)
		s.WriteByte('\n')
	}
	s.WriteByte('\n')
	s.WriteString(b.Checkpoint)
	return s.String()
}

// TLogProof returns the c2sp.org/tlog-proof@v1 text proving that the event
// at position index is in the tree of the signed checkpoint note: what an
// HTTP API serves for one event. The record hash is the event hash.
func TLogProof(ctx context.Context, nodes NodeReader, index uint64, checkpoint []byte) (string, error) {
	text, _, err := SplitNote(checkpoint)
	if err != nil {
		return "", fmt.Errorf("ledger: tlog proof: %w", err)
	}
	cp, err := ParseCheckpoint(text)
	if err != nil {
		return "", fmt.Errorf("ledger: tlog proof: %w", err)
	}
	p, err := InclusionProof(ctx, nodes, index, cp.Size)
	if err != nil {
		return "", fmt.Errorf("ledger: tlog proof: %w", err)
	}
	b := Bundle{Checkpoint: string(checkpoint), Events: []BundleEvent{{Position: index, Inclusion: make([]string, len(p))}}}
	for i := range p {
		b.Events[0].Inclusion[i] = base64.StdEncoding.EncodeToString(p[i][:])
	}
	return b.TLogProof(0), nil
}
