package ledger

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sort"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"
)

// Policy is what a verifier demands beyond the cryptographic checks.
type Policy struct {
	// MinWitnesses is the number of distinct trusted witnesses whose valid
	// cosignature the checkpoint MUST carry.
	MinWitnesses int
	// AllowPartialStreams accepts a stream whose events in the bundle do
	// not start at revision 0 or skip revisions. By default every stream in
	// a bundle must be complete from its first event: a court sees the
	// whole history, not a selection.
	AllowPartialStreams bool
	// RefuseRedacted fails a bundle with any redacted payload.
	RefuseRedacted bool
}

// EventRef names an event in a report.
type EventRef struct {
	Position uint64 `json:"position"`
	Stream   string `json:"stream,omitempty"`
	Revision uint64 `json:"revision"`
}

func (r *EventRef) String() string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("#%d %s@%d", r.Position, r.Stream, r.Revision)
}

// Check is one verification step and its outcome.
type Check struct {
	What   string    `json:"what"`
	Event  *EventRef `json:"event,omitempty"`
	Key    string    `json:"key,omitempty"`
	OK     bool      `json:"ok"`
	Detail string    `json:"detail"`
}

// TimelineEntry is one event of the custody timeline a report shows.
type TimelineEntry struct {
	Position   uint64    `json:"position"`
	Stream     string    `json:"stream"`
	Revision   uint64    `json:"revision"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
	RecordedAt time.Time `json:"recorded_at"`
	Actor      Actor     `json:"actor"`
	Redacted   bool      `json:"redacted,omitempty"`
	OK         bool      `json:"ok"`
}

// Report is the outcome of verifying a bundle.
type Report struct {
	OK         bool            `json:"ok"`
	Origin     string          `json:"origin,omitempty"`
	TreeSize   uint64          `json:"tree_size"`
	Root       Hash            `json:"root"`
	Witnesses  int             `json:"witnesses"`
	Timeline   []TimelineEntry `json:"timeline"`
	Checks     []Check         `json:"checks"`
	Failed     int             `json:"failed"`
	Passed     int             `json:"passed"`
	Redactions int             `json:"redactions"`
}

func (r *Report) add(c Check) {
	r.Checks = append(r.Checks, c)
	if c.OK {
		r.Passed++
	} else {
		r.Failed++
	}
}

// Verify checks a bundle offline against the log keys and witness keys the
// verifier trusts (never the keys the bundle carries) and policy. It never
// stops at the first failure: the report lists every check.
func Verify(b *Bundle, logKeys, witnessKeys []note.Verifier, policy Policy) *Report {
	r := &Report{}
	cp, trusted := verifyCheckpoint(r, b, logKeys, witnessKeys, policy)
	verifyEvents(r, b, cp, trusted, policy)
	r.OK = r.Failed == 0 && r.Passed > 0
	return r
}

func verifyCheckpoint(r *Report, b *Bundle, logKeys, witnessKeys []note.Verifier, policy Policy) (Checkpoint, bool) {
	if len(logKeys) == 0 {
		r.add(Check{What: "log key", Detail: "no trusted log key given"})
	}
	if b.LogKey != "" {
		c := Check{What: "log key", Key: b.LogKey, Detail: "the bundle names a log key that is not among the trusted keys"}
		if v, err := NewVerifier(b.LogKey); err == nil {
			for _, k := range logKeys {
				if k.Name() == v.Name() && k.KeyHash() == v.KeyHash() {
					c.OK, c.Detail = true, "the bundle's log key is trusted"
				}
			}
		} else {
			c.Detail = "the bundle's log key does not parse: " + err.Error()
		}
		r.add(c)
	}
	text, sigs, err := SplitNote([]byte(b.Checkpoint))
	if err != nil {
		r.add(Check{What: "checkpoint", Detail: err.Error()})
		return Checkpoint{}, false
	}
	cp, err := ParseCheckpoint(text)
	if err != nil {
		r.add(Check{What: "checkpoint", Detail: err.Error()})
		return Checkpoint{}, false
	}
	r.Origin, r.TreeSize, r.Root = cp.Origin, cp.Size, cp.Root
	r.add(Check{What: "checkpoint", OK: true, Detail: fmt.Sprintf("origin %s, size %d, root %s", cp.Origin, cp.Size, cp.Root)})
	trusted := false
	for _, k := range logKeys {
		if k.Name() != cp.Origin {
			continue
		}
		sc := CheckSignature(text, sigs, k)
		c := Check{What: "checkpoint signature", Key: fmt.Sprintf("%s+%08x", k.Name(), k.KeyHash()), OK: sc.Valid}
		switch {
		case sc.Valid:
			c.Detail = "signed by the trusted log key"
			trusted = true
		case sc.Found:
			c.Detail = "a signature line for this key is present but does not verify: the checkpoint was altered or signed by another key"
		default:
			c.Detail = "no signature by this key"
		}
		r.add(c)
	}
	if !trusted {
		r.add(Check{What: "checkpoint signature", Detail: fmt.Sprintf("no valid signature by a trusted key for origin %q", cp.Origin)})
	}
	valid := 0
	for _, k := range witnessKeys {
		sc := CheckSignature(text, sigs, k)
		c := Check{What: "witness cosignature", Key: fmt.Sprintf("%s+%08x", k.Name(), k.KeyHash()), OK: sc.Valid}
		switch {
		case sc.Valid:
			valid++
			c.Detail = "cosigned"
			if t, ok := CosignatureTime(sc.Sig); ok {
				c.Detail = "cosigned at " + t.Format(time.RFC3339)
			}
		case sc.Found:
			c.Detail = "a cosignature line for this witness is present but does not verify"
		default:
			c.Detail = "no cosignature by this witness"
		}
		r.add(c)
	}
	r.Witnesses = valid
	if policy.MinWitnesses > 0 || len(witnessKeys) > 0 {
		r.add(Check{What: "witness quorum", OK: valid >= policy.MinWitnesses,
			Detail: fmt.Sprintf("%d valid cosignatures from trusted witnesses, policy requires %d", valid, policy.MinWitnesses)})
	}
	return cp, trusted
}

type chainKey struct {
	stream   string
	revision uint64
}

func verifyEvents(r *Report, b *Bundle, cp Checkpoint, trusted bool, policy Policy) {
	if len(b.Events) == 0 {
		r.add(Check{What: "events", Detail: "the bundle has no event"})
		return
	}
	if len(b.Manifest) != len(b.Events) {
		r.add(Check{What: "manifest", Detail: fmt.Sprintf("%d manifest entries for %d events", len(b.Manifest), len(b.Events))})
	}
	hashes := make(map[chainKey]Hash, len(b.Events))
	envs := make([]*Envelope, len(b.Events))
	var last uint64
	for i := range b.Events {
		be := &b.Events[i]
		ref := &EventRef{Position: be.Position}
		if i > 0 && be.Position <= last {
			r.add(Check{What: "order", Event: ref, Detail: fmt.Sprintf("position %d does not follow %d: events must be in strictly increasing position order", be.Position, last)})
		}
		last = be.Position
		env, err := DecodeCanonical(be.Canonical)
		if err != nil {
			r.add(Check{What: "envelope", Event: ref, Detail: err.Error()})
			continue
		}
		envs[i] = &env
		ref.Stream, ref.Revision = env.Stream, env.Revision
		h := Hash(sha256.Sum256(be.Canonical))
		entry := TimelineEntry{Position: be.Position, Stream: env.Stream, Revision: env.Revision, Type: env.Type,
			OccurredAt: env.OccurredAt, RecordedAt: env.RecordedAt, Actor: env.Actor, Redacted: be.Redacted}
		before := r.Failed
		checkManifest(r, b, i, ref, &env, h, be.Redacted)
		checkPayload(r, be, ref, &env, policy)
		checkInclusion(r, be, ref, h, cp, trusted)
		k := chainKey{env.Stream, env.Revision}
		if _, dup := hashes[k]; dup {
			r.add(Check{What: "chain link", Event: ref, Detail: "two events of the bundle have this stream and revision"})
		}
		hashes[k] = h
		entry.OK = r.Failed == before
		r.Timeline = append(r.Timeline, entry)
		if be.Redacted {
			r.Redactions++
		}
	}
	// Chain links, stream by stream in revision order.
	order := make([]int, 0, len(envs))
	for i := range envs {
		if envs[i] != nil {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, c int) bool {
		ea, ec := envs[order[a]], envs[order[c]]
		if ea.Stream != ec.Stream {
			return ea.Stream < ec.Stream
		}
		return ea.Revision < ec.Revision
	})
	for n, i := range order {
		env := envs[i]
		ref := &EventRef{Position: b.Events[i].Position, Stream: env.Stream, Revision: env.Revision}
		c := Check{What: "chain link", Event: ref}
		prev, have := hashes[chainKey{env.Stream, env.Revision - 1}]
		switch {
		case env.Revision == 0:
			c.OK = env.PrevHash.IsZero()
			c.Detail = "first event of the stream, prev_hash is zero"
			if !c.OK {
				c.Detail = "revision 0 has a non-zero prev_hash " + env.PrevHash.String()
			}
		case have:
			c.OK = env.PrevHash == prev
			c.Detail = fmt.Sprintf("prev_hash is the hash of revision %d", env.Revision-1)
			if !c.OK {
				c.Detail = fmt.Sprintf("prev_hash %s, but revision %d hashes to %s", env.PrevHash, env.Revision-1, prev)
			}
		default:
			c.OK = policy.AllowPartialStreams
			c.Detail = fmt.Sprintf("revision %d of the stream is not in the bundle", env.Revision-1)
		}
		if n > 0 && envs[order[n-1]].Stream == env.Stream && b.Events[order[n-1]].Position > b.Events[i].Position {
			c.OK = false
			c.Detail = fmt.Sprintf("revision %d is logged after revision %d", env.Revision-1, env.Revision)
		}
		r.add(c)
	}
}

func checkManifest(r *Report, b *Bundle, i int, ref *EventRef, env *Envelope, h Hash, redacted bool) {
	if i >= len(b.Manifest) {
		r.add(Check{What: "manifest", Event: ref, Detail: "no manifest entry for this event"})
		return
	}
	m := b.Manifest[i]
	var diffs []string
	if m.Position != ref.Position {
		diffs = append(diffs, fmt.Sprintf("position %d", m.Position))
	}
	if m.Stream != env.Stream || m.Revision != env.Revision {
		diffs = append(diffs, fmt.Sprintf("stream %s@%d", m.Stream, m.Revision))
	}
	if m.Type != env.Type {
		diffs = append(diffs, fmt.Sprintf("type %q", m.Type))
	}
	if m.EventHash != h {
		diffs = append(diffs, "event_hash "+m.EventHash.String())
	}
	if m.PayloadDigest != env.PayloadDigest {
		diffs = append(diffs, "payload_digest "+m.PayloadDigest.String())
	}
	if m.Redacted != redacted {
		diffs = append(diffs, fmt.Sprintf("redacted %v", m.Redacted))
	}
	c := Check{What: "manifest", Event: ref, OK: len(diffs) == 0, Detail: "entry matches the event (hash " + h.String() + ")"}
	if !c.OK {
		c.Detail = fmt.Sprintf("entry says %v, the event's canonical bytes say otherwise (hash %s)", diffs, h)
	}
	r.add(c)
}

func checkPayload(r *Report, be *BundleEvent, ref *EventRef, env *Envelope, policy Policy) {
	c := Check{What: "payload digest", Event: ref}
	switch {
	case be.Redacted && len(be.Payload) > 0:
		c.Detail = "marked redacted but carries a payload"
	case be.Redacted:
		c.OK = !policy.RefuseRedacted
		c.Detail = "payload redacted; the envelope still commits to its digest " + env.PayloadDigest.String()
		if !c.OK {
			c.Detail = "payload redacted and the policy refuses redactions"
		}
	default:
		d := PayloadDigest(be.Payload)
		c.OK = d == env.PayloadDigest
		c.Detail = "SHA-256 of the payload matches the envelope"
		if !c.OK {
			c.Detail = fmt.Sprintf("SHA-256 of the payload is %s, the envelope says %s: the payload was altered", d, env.PayloadDigest)
		}
	}
	r.add(c)
}

func checkInclusion(r *Report, be *BundleEvent, ref *EventRef, h Hash, cp Checkpoint, trusted bool) {
	c := Check{What: "inclusion proof", Event: ref}
	if !trusted {
		c.Detail = "no trusted checkpoint to prove inclusion against"
		r.add(c)
		return
	}
	p := make([][]byte, len(be.Inclusion))
	for j, s := range be.Inclusion {
		raw, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || len(raw) != sha256.Size {
			c.Detail = fmt.Sprintf("proof hash %d is not 32 bytes of base64", j)
			r.add(c)
			return
		}
		p[j] = raw
	}
	leaf := LeafHash(h)
	if err := proof.VerifyInclusion(Hasher, be.Position, cp.Size, leaf[:], p, cp.Root[:]); err != nil {
		c.Detail = fmt.Sprintf("leaf %d (hash %s) is not proven in the tree of size %d: %v", be.Position, leaf, cp.Size, err)
	} else {
		c.OK = true
		c.Detail = fmt.Sprintf("leaf %d is in the signed tree of size %d (%d proof hashes)", be.Position, cp.Size, len(p))
	}
	r.add(c)
}
