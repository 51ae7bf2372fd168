package ledger_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/scelle-ledger/scelle/ledger"
)

// seededKey builds a key pair from a fixed seed, so that the fuzz corpus
// committed in testdata stays valid from one run to the next.
func seededKey(t testing.TB, name string, kind ledger.KeyKind, seed byte) keyPair {
	t.Helper()
	alg := ledger.AlgEd25519
	if kind == ledger.WitnessKey {
		alg = ledger.AlgCosignatureV1
	}
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)
	id := ledger.KeyID(name, alg, pub)
	skey := fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, id, base64.StdEncoding.EncodeToString(append([]byte{alg}, priv.Seed()...)))
	vkey := fmt.Sprintf("%s+%08x+%s", name, id, base64.StdEncoding.EncodeToString(append([]byte{alg}, pub...)))
	s, err := ledger.NewSigner(skey, func() time.Time { return time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	v, err := ledger.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{skey: skey, vkey: vkey, signer: s, verifier: v}
}

type fuzzFixture struct {
	log      *memLog
	key      keyPair
	witness  keyPair
	encoded  []byte
	original map[uint64]ledger.StoredEvent
}

var (
	fuzzOnce sync.Once
	fuzzFix  fuzzFixture
)

// deterministicBundle is the reference exhibit's bundle, built the same way
// on every run.
func deterministicBundle(t testing.TB) fuzzFixture {
	fuzzOnce.Do(func() {
		m := newMemLog()
		m.deterministic = true
		for _, e := range seizureLog(t).events {
			m.append(t, e.Stream, e.Type, string(e.Payload))
		}
		k := seededKey(t, testOrigin, ledger.LogKey, 1)
		wk := seededKey(t, "witness.example/DGDDI", ledger.WitnessKey, 2)
		msg := signedAt(t, m, k)
		text, _, _ := ledger.SplitNote(msg)
		cosig, err := note.Sign(&note.Note{Text: string(text)}, wk.signer)
		if err != nil {
			t.Fatal(err)
		}
		if msg, err = ledger.AddSignatureLines(msg, cosig[len(text)+1:]); err != nil {
			t.Fatal(err)
		}
		b, err := ledger.BuildBundle(context.Background(), exhibitEvents(m), m, msg, ledger.BuildOptions{
			Redact: func(e ledger.StoredEvent) bool { return e.Type == "AnalysisReported" },
			LogKey: k.vkey, WitnessKeys: []string{wk.vkey}, Now: time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC),
		})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := b.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		orig := map[uint64]ledger.StoredEvent{}
		for _, e := range m.events {
			orig[e.Position] = e
		}
		fuzzFix = fuzzFixture{log: m, key: k, witness: wk, encoded: buf.Bytes(), original: orig}
	})
	return fuzzFix
}

func FuzzDecodeBundle(f *testing.F) {
	fx := deterministicBundle(f)
	f.Add(fx.encoded)
	f.Add([]byte(`{"format":"scelle/evidence-bundle","version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ledger.DecodeBundle(data)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes and decodes to the same bundle.
		var buf bytes.Buffer
		if err := b.Encode(&buf); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		b2, err := ledger.DecodeBundle(buf.Bytes())
		if err != nil {
			t.Fatalf("decode of re-encoded bundle: %v", err)
		}
		var buf2 bytes.Buffer
		b2.Encode(&buf2)
		if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
			t.Fatal("decode/encode is not stable")
		}
	})
}

// FuzzVerifyBundle: the verifier never panics, and whatever it accepts is
// the original log's content: every accepted event has the canonical bytes
// and (unless redacted) the payload the log holds at its position.
func FuzzVerifyBundle(f *testing.F) {
	fx := deterministicBundle(f)
	f.Add(fx.encoded)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ledger.DecodeBundle(data)
		if err != nil {
			return
		}
		r := ledger.Verify(b, []note.Verifier{fx.key.verifier}, []note.Verifier{fx.witness.verifier}, ledger.Policy{MinWitnesses: 1})
		if !r.OK {
			return
		}
		for _, e := range b.Events {
			o, ok := fx.original[e.Position]
			if !ok {
				t.Fatalf("accepted an event at position %d, which the log does not have", e.Position)
			}
			canon, _ := o.Canonical()
			if !bytes.Equal(canon, e.Canonical) {
				t.Fatalf("accepted altered canonical bytes at position %d", e.Position)
			}
			if !e.Redacted && !bytes.Equal(o.Payload, e.Payload) {
				t.Fatalf("accepted an altered payload at position %d", e.Position)
			}
		}
	})
}

// TestFuzzCorpus_Write regenerates the committed seed corpus when
// SCELLE_WRITE_FUZZ_CORPUS=1: the valid bundle and targeted mutations.
func TestFuzzCorpus_Write(t *testing.T) {
	if os.Getenv("SCELLE_WRITE_FUZZ_CORPUS") != "1" {
		t.Skip("set SCELLE_WRITE_FUZZ_CORPUS=1 to regenerate testdata/fuzz")
	}
	fx := deterministicBundle(t)
	good := fx.encoded
	seeds := map[string][]byte{
		"valid":          good,
		"truncated":      good[:len(good)/2],
		"payload_byte":   bytes.Replace(good, []byte(`"payload": "ey`), []byte(`"payload": "fy`), 1),
		"position":       bytes.Replace(good, []byte(`"position": 3,`), []byte(`"position": 4,`), 1),
		"redacted_flag":  bytes.Replace(good, []byte(`"inclusion"`), []byte(`"redacted": true, "inclusion"`), 1),
		"checkpoint_sz":  bytes.Replace(good, []byte(`\n10\n`), []byte(`\n11\n`), 1),
		"empty_events":   []byte(`{"format":"scelle/evidence-bundle","version":1,"checkpoint":"","log_key":"","manifest":[],"events":[]}`),
		"unknown_field":  []byte(`{"format":"scelle/evidence-bundle","version":1,"x":1}`),
		"huge_revision":  bytes.Replace(good, []byte(`"revision": 0,`), []byte(`"revision": 18446744073709551615,`), 1),
		"not_json":       []byte("c2sp.org/tlog-proof@v1\nindex 1\n"),
		"bad_inclusion":  bytes.Replace(good, []byte(`"inclusion": [`), []byte(`"inclusion": ["!!", `), 1),
		"no_cosignature": bytes.Replace(good, []byte("— witness.example"), []byte("— witnesz.example"), 1),
	}
	for _, fz := range []string{"FuzzDecodeBundle", "FuzzVerifyBundle"} {
		dir := filepath.Join("testdata", "fuzz", fz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range seeds {
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestFuzzCorpus_ValidSeedVerifies keeps the committed corpus meaningful:
// its valid seed must verify with the seeded keys, so that the fuzzer
// mutates an accepted bundle.
func TestFuzzCorpus_ValidSeedVerifies(t *testing.T) {
	fx := deterministicBundle(t)
	raw, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzVerifyBundle", "valid"))
	if err != nil {
		t.Fatal(err)
	}
	_, lit, _ := strings.Cut(strings.TrimSpace(string(raw)), "[]byte(")
	data, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	if err != nil {
		t.Fatal(err)
	}
	if data != string(fx.encoded) {
		t.Fatal("the committed valid seed is not today's deterministic bundle: regenerate with SCELLE_WRITE_FUZZ_CORPUS=1")
	}
	b, err := ledger.DecodeBundle([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if r := ledger.Verify(b, []note.Verifier{fx.key.verifier}, []note.Verifier{fx.witness.verifier}, ledger.Policy{MinWitnesses: 1}); !r.OK {
		t.Fatalf("valid seed does not verify: %+v", failures(r))
	}
}
