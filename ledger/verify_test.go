package ledger_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"

	"github.com/scelle-ledger/scelle/ledger"
)

type bundleFixture struct {
	log     *memLog
	key     keyPair
	witness keyPair
	bundle  *ledger.Bundle
}

// newBundleFixture builds the reference exhibit's bundle, cosigned by one
// witness, with the analysis report's payload redacted.
func newBundleFixture(t testing.TB) bundleFixture {
	t.Helper()
	ctx := context.Background()
	m := seizureLog(t)
	k := newKey(t, testOrigin, ledger.LogKey)
	wk := newKey(t, "witness.example/DGDDI", ledger.WitnessKey)
	msg := signedAt(t, m, k)
	sig, err := note.Sign(&note.Note{Text: string(msg[:bytes.Index(msg, []byte("\n\n"))+1])}, wk.signer)
	if err != nil {
		t.Fatal(err)
	}
	msg, err = ledger.AddSignatureLines(msg, sig[bytes.Index(sig, []byte("\n\n"))+2:])
	if err != nil {
		t.Fatal(err)
	}
	b, err := ledger.BuildBundle(ctx, exhibitEvents(m), m, msg, ledger.BuildOptions{
		Description: "exhibit E1 with sub-samples",
		Redact:      func(e ledger.StoredEvent) bool { return e.Type == "AnalysisReported" },
		LogKey:      k.vkey, WitnessKeys: []string{wk.vkey}, Now: time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	return bundleFixture{log: m, key: k, witness: wk, bundle: b}
}

func (f bundleFixture) verify(b *ledger.Bundle) *ledger.Report {
	return ledger.Verify(b, []note.Verifier{f.key.verifier}, []note.Verifier{f.witness.verifier}, ledger.Policy{MinWitnesses: 1})
}

// roundTrip encodes and decodes b, as a verifier reads it from a file.
func roundTrip(t testing.TB, b *ledger.Bundle) *ledger.Bundle {
	t.Helper()
	var buf bytes.Buffer
	if err := b.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	out, err := ledger.DecodeBundle(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func failures(r *ledger.Report) []ledger.Check {
	var out []ledger.Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

func TestVerify_GoodBundle(t *testing.T) {
	f := newBundleFixture(t)
	b := roundTrip(t, f.bundle)
	if len(b.Events) != 7 {
		t.Fatalf("bundle has %d events, want 7 (exhibit, two sub-samples)", len(b.Events))
	}
	r := f.verify(b)
	if !r.OK {
		t.Fatalf("good bundle fails: %+v", failures(r))
	}
	if r.Redactions != 1 || r.Witnesses != 1 || len(r.Timeline) != 7 {
		t.Fatalf("report: redactions %d witnesses %d timeline %d", r.Redactions, r.Witnesses, len(r.Timeline))
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"VERIFIED", "TransferAccepted", "exhibit-E1-S1", "payload redacted"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	// Every proof renders as a c2sp.org/tlog-proof@v1 text.
	if p := b.TLogProof(0); !strings.HasPrefix(p, "c2sp.org/tlog-proof@v1\nindex 1\n") || !strings.HasSuffix(p, b.Checkpoint) {
		t.Errorf("tlog-proof: %q", p)
	}
}

// failsAt asserts that r fails and that some failing check is about what,
// at the event at position pos (-1: not about an event).
func failsAt(t *testing.T, r *ledger.Report, what string, pos int) {
	t.Helper()
	if r.OK {
		t.Fatalf("tampered bundle verifies")
	}
	for _, c := range failures(r) {
		if c.What != what {
			continue
		}
		if pos < 0 && c.Event == nil || c.Event != nil && int(c.Event.Position) == pos {
			return
		}
	}
	t.Fatalf("no failing %q check at position %d; failures: %+v", what, pos, failures(r))
}

func TestVerify_Tampering(t *testing.T) {
	for name, tc := range map[string]struct {
		tamper func(f bundleFixture, b *ledger.Bundle)
		what   string
		pos    int
	}{
		"payload byte": {func(f bundleFixture, b *ledger.Bundle) { b.Events[1].Payload[2] ^= 1 }, "payload digest", 3},
		"type in canonical bytes": {func(f bundleFixture, b *ledger.Bundle) {
			i := bytes.Index(b.Events[2].Canonical, []byte("TransferAccepted"))
			b.Events[2].Canonical[i] = 'X'
		}, "inclusion proof", 4},
		"timestamp": {func(f bundleFixture, b *ledger.Bundle) {
			e, _ := ledger.DecodeCanonical(b.Events[0].Canonical)
			e.OccurredAt = e.OccurredAt.Add(-time.Hour)
			b.Events[0].Canonical, _ = e.Canonical()
		}, "inclusion proof", 1},
		"event removed": {func(f bundleFixture, b *ledger.Bundle) {
			b.Events = append(b.Events[:1], b.Events[2:]...)
			b.Manifest = append(b.Manifest[:1], b.Manifest[2:]...)
		}, "chain link", 4},
		"events swapped": {func(f bundleFixture, b *ledger.Bundle) {
			b.Events[1].Payload, b.Events[2].Payload = b.Events[2].Payload, b.Events[1].Payload
		}, "payload digest", 3},
		"position changed": {func(f bundleFixture, b *ledger.Bundle) { b.Events[3].Position = 6 }, "inclusion proof", 6},
		"proof hash": {func(f bundleFixture, b *ledger.Bundle) {
			raw, _ := base64.StdEncoding.DecodeString(b.Events[0].Inclusion[1])
			raw[0] ^= 1
			b.Events[0].Inclusion[1] = base64.StdEncoding.EncodeToString(raw)
		}, "inclusion proof", 1},
		"checkpoint root": {func(f bundleFixture, b *ledger.Bundle) {
			lines := strings.SplitN(b.Checkpoint, "\n", 4)
			lines[2] = base64.StdEncoding.EncodeToString(make([]byte, 32))
			b.Checkpoint = strings.Join(lines, "\n")
		}, "checkpoint signature", -1},
		"checkpoint signed by another key": {func(f bundleFixture, b *ledger.Bundle) {
			other := newKey(t, testOrigin, ledger.LogKey)
			b.Checkpoint = string(signedAt(t, f.log, other))
		}, "checkpoint signature", -1},
		"cosignature dropped": {func(f bundleFixture, b *ledger.Bundle) {
			b.Checkpoint = string(signedAt(t, f.log, f.key))
		}, "witness quorum", -1},
		"manifest digest": {func(f bundleFixture, b *ledger.Bundle) { b.Manifest[5].PayloadDigest[0] ^= 1 }, "manifest", 8},
		"redacted flag with payload": {func(f bundleFixture, b *ledger.Bundle) {
			b.Events[6].Redacted, b.Manifest[6].Redacted = true, true
		}, "payload digest", 9},
	} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			f := newBundleFixture(t)
			b := roundTrip(t, f.bundle)
			tc.tamper(f, b)
			failsAt(t, f.verify(roundTrip(t, b)), tc.what, tc.pos)
		})
	}
}

func TestVerify_PolicyAndKeys(t *testing.T) {
	f := newBundleFixture(t)
	b := roundTrip(t, f.bundle)
	// Only the sub-sample S1: its stream is complete, so it verifies alone.
	sub := *b
	sub.Events, sub.Manifest = nil, nil
	for i, m := range b.Manifest {
		if m.Stream == "exhibit-E1-S1" {
			sub.Events, sub.Manifest = append(sub.Events, b.Events[i]), append(sub.Manifest, m)
		}
	}
	if r := f.verify(&sub); !r.OK {
		t.Fatalf("complete sub-sample stream: %+v", failures(r))
	}
	// The exhibit without its first event: refused unless partial streams
	// are allowed.
	part := *b
	part.Events, part.Manifest = b.Events[1:], b.Manifest[1:]
	failsAt(t, f.verify(&part), "chain link", 3)
	r := ledger.Verify(&part, []note.Verifier{f.key.verifier}, []note.Verifier{f.witness.verifier}, ledger.Policy{MinWitnesses: 1, AllowPartialStreams: true})
	if !r.OK {
		t.Fatalf("partial streams allowed: %+v", failures(r))
	}
	// Redactions refused by policy.
	r = ledger.Verify(b, []note.Verifier{f.key.verifier}, nil, ledger.Policy{RefuseRedacted: true})
	failsAt(t, r, "payload digest", 8)
	// No trusted key: nothing verifies.
	if r := ledger.Verify(b, nil, nil, ledger.Policy{}); r.OK {
		t.Fatal("bundle verified without a trusted log key")
	}
	// Quorum of two with one witness.
	r = ledger.Verify(b, []note.Verifier{f.key.verifier}, []note.Verifier{f.witness.verifier}, ledger.Policy{MinWitnesses: 2})
	failsAt(t, r, "witness quorum", -1)
}

func TestDecodeBundle_Strict(t *testing.T) {
	f := newBundleFixture(t)
	var buf bytes.Buffer
	if err := f.bundle.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(map[string]any){
		"unknown field": func(m map[string]any) { m["extra"] = 1 },
		"version 2":     func(m map[string]any) { m["version"] = 2 },
		"format":        func(m map[string]any) { m["format"] = "other" },
	} {
		c := map[string]any{}
		for k, v := range m {
			c[k] = v
		}
		mut(c)
		data, _ := json.Marshal(c)
		if _, err := ledger.DecodeBundle(data); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	if _, err := ledger.DecodeBundle(append(buf.Bytes(), []byte("{}")...)); err == nil {
		t.Error("trailing data: decoded")
	}
}

func TestTLogProof_Single(t *testing.T) {
	f := newBundleFixture(t)
	text, err := ledger.TLogProof(context.Background(), f.log, 4, []byte(f.bundle.Checkpoint))
	if err != nil {
		t.Fatal(err)
	}
	// Parse it as a tlog-proof reader would and check the inclusion.
	head, cpText, ok := strings.Cut(text, "\n\n")
	lines := strings.Split(head, "\n")
	if !ok || lines[0] != "c2sp.org/tlog-proof@v1" || lines[1] != "index 4" || !strings.HasPrefix(cpText, testOrigin+"\n10\n") {
		t.Fatalf("tlog-proof layout:\n%s", text)
	}
	var hs [][]byte
	for _, l := range lines[2:] {
		h, err := base64.StdEncoding.DecodeString(l)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	leaf := ledger.LeafHash(f.log.events[4].Hash)
	root := f.log.tree.Root()
	if err := proof.VerifyInclusion(ledger.Hasher, 4, 10, leaf[:], hs, root[:]); err != nil {
		t.Fatalf("tlog-proof does not prove inclusion: %v", err)
	}
	// The bundle's proof for position 4 renders to the same text.
	for i, e := range f.bundle.Events {
		if e.Position == 4 && f.bundle.TLogProof(i) != text {
			t.Fatalf("single proof differs from the bundle's:\n%s\n%s", text, f.bundle.TLogProof(i))
		}
	}
	if _, err := ledger.TLogProof(context.Background(), f.log, 10, []byte(f.bundle.Checkpoint)); err == nil {
		t.Fatal("proof of a position beyond the checkpoint")
	}
}
