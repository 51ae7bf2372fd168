package ledger_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/scelle-ledger/scelle/ledger"
)

func newWitness(t *testing.T, logs ...keyPair) (*ledger.Witness, keyPair) {
	t.Helper()
	wk := newKey(t, "witness.example/DGDDI", ledger.WitnessKey)
	var vs []note.Verifier
	for _, l := range logs {
		vs = append(vs, l.verifier)
	}
	w, err := ledger.NewWitness(wk.signer, ledger.NewWitnessFile(filepath.Join(t.TempDir(), "witness.json")), vs...)
	if err != nil {
		t.Fatal(err)
	}
	return w, wk
}

func TestWitness_CosignsConsistentRefusesFork(t *testing.T) {
	ctx := context.Background()
	k := newKey(t, testOrigin, ledger.LogKey)
	w, wk := newWitness(t, k)
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	client := &ledger.WitnessClient{URL: srv.URL}

	m := seizureLog(t)
	cp1 := signedAt(t, m, k)
	lines, err := client.AddCheckpoint(ctx, 0, nil, cp1)
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := ledger.AddSignatureLines(cp1, lines)
	if err != nil {
		t.Fatal(err)
	}
	text, sigs, _ := ledger.SplitNote(cosigned)
	if sc := ledger.CheckSignature(text, sigs, wk.verifier); !sc.Valid {
		t.Fatalf("cosignature does not verify: %+v", sc)
	}

	// Grow the log: consistent, cosigned.
	for range 5 {
		m.append(t, "exhibit-E1", "Noted", `{}`)
	}
	cp2 := signedAt(t, m, k)
	p, err := ledger.ConsistencyProof(ctx, m, 10, 15)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.AddCheckpoint(ctx, 10, p, cp2); err != nil {
		t.Fatalf("consistent checkpoint refused: %v", err)
	}

	// A fork: another history of size 20 signed by the same log key.
	fork := seizureLog(t)
	for range 10 {
		fork.append(t, "exhibit-E1", "Rewritten", `{}`)
	}
	cpFork := signedAt(t, fork, k)
	pf, err := ledger.ConsistencyProof(ctx, fork, 15, 20)
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.AddCheckpoint(ctx, 15, pf, cpFork)
	if !errors.Is(err, ledger.ErrInconsistent) {
		t.Fatalf("forked checkpoint: got %v, want ErrInconsistent (422)", err)
	}
	// The same fork at the witness's own size: 409, never a cosignature.
	fork15 := seizureLog(t)
	for range 5 {
		fork15.append(t, "exhibit-E1", "Rewritten", `{}`)
	}
	_, err = w.AddCheckpoint(ctx, 15, nil, signedAt(t, fork15, k))
	var conflict *ledger.SizeConflictError
	if !errors.As(err, &conflict) || conflict.Size != 15 {
		t.Fatalf("fork at the same size: got %v, want a size conflict", err)
	}

	// Wrong old size: 409 with the witness's size.
	_, err = client.AddCheckpoint(ctx, 3, nil, cp2)
	if !errors.As(err, &conflict) || conflict.Size != 15 {
		t.Fatalf("stale old size: got %v, want conflict at 15", err)
	}
	// Unknown origin: 404. Wrong key: 403.
	stranger := newKey(t, "stranger.example/log", ledger.LogKey)
	if _, err := client.AddCheckpoint(ctx, 0, nil, signedAt(t, m, stranger)); !errors.Is(err, ledger.ErrUnknownLog) {
		t.Fatalf("unknown log: got %v", err)
	}
	impostor := newKey(t, testOrigin, ledger.LogKey)
	if _, err := client.AddCheckpoint(ctx, 15, nil, signedAt(t, m, impostor)); !errors.Is(err, ledger.ErrNotSigned) {
		t.Fatalf("impostor key: got %v", err)
	}
	// Malformed body: 400.
	resp, err := http.Post(srv.URL+"/add-checkpoint", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("empty body: status %d", resp.StatusCode)
	}
}

func TestWitness_CheckpointerCollectsCosignatures(t *testing.T) {
	ctx := context.Background()
	k := newKey(t, testOrigin, ledger.LogKey)
	w, wk := newWitness(t, k)
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	m := seizureLog(t)
	db := openCheckpointDB(t)
	cpr, err := ledger.NewCheckpointer(ctx, m, db, ledger.CheckpointerConfig{
		Signer: k.signer, Verifier: k.verifier, Witnesses: []ledger.Cosigner{&ledger.WitnessClient{URL: srv.URL}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		m.append(t, "exhibit-E1", "Noted", `{}`)
		cp, err := cpr.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		text, sigs, _ := ledger.SplitNote(cp.Note)
		if sc := ledger.CheckSignature(text, sigs, wk.verifier); !sc.Valid {
			t.Fatalf("round %d: stored checkpoint lacks a valid cosignature:\n%s", round, cp.Note)
		}
	}
	// A witness that lost its state (a new one) still cosigns after the
	// 409 retry from size 0.
	w2, wk2 := newWitness(t, k)
	cpr2, err := ledger.NewCheckpointer(ctx, m, db, ledger.CheckpointerConfig{
		Signer: k.signer, Verifier: k.verifier, Witnesses: []ledger.Cosigner{w2},
	})
	if err != nil {
		t.Fatal(err)
	}
	m.append(t, "exhibit-E1", "Noted", `{}`)
	cp, err := cpr2.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	text, sigs, _ := ledger.SplitNote(cp.Note)
	if sc := ledger.CheckSignature(text, sigs, wk2.verifier); !sc.Valid {
		t.Fatalf("fresh witness did not cosign after the conflict retry:\n%s", cp.Note)
	}
}
