package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/scelle-ledger/scelle/ledger"
)

func TestCheckpoint_TextRoundTrip(t *testing.T) {
	c := ledger.Checkpoint{Origin: testOrigin, Size: 20852163, Root: ledger.Hash{1, 2, 3}}
	text := c.Text()
	want := testOrigin + "\n20852163\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	if string(text) != want {
		t.Fatalf("text %q, want %q", text, want)
	}
	got, err := ledger.ParseCheckpoint(text)
	if err != nil || got.Origin != c.Origin || got.Size != c.Size || got.Root != c.Root {
		t.Fatalf("parse: %+v, %v", got, err)
	}
	for name, bad := range map[string]string{
		"no_newline":    testOrigin + "\n1\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"leading_zero":  testOrigin + "\n01\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"short_root":    testOrigin + "\n1\nAQID\n",
		"empty_origin":  "\n1\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		"two_lines":     testOrigin + "\n1\n",
		"negative_size": testOrigin + "\n-1\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
	} {
		if _, err := ledger.ParseCheckpoint([]byte(bad)); !errors.Is(err, ledger.ErrCheckpoint) {
			t.Errorf("%s: got %v, want ErrCheckpoint", name, err)
		}
	}
}

func TestCheckpoint_OpenRefusesOtherKeyAndOrigin(t *testing.T) {
	m := seizureLog(t)
	k := newKey(t, testOrigin, ledger.LogKey)
	other := newKey(t, testOrigin, ledger.LogKey)
	msg := signedAt(t, m, k)
	if _, err := ledger.OpenCheckpoint(msg, k.verifier); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.OpenCheckpoint(msg, other.verifier); err == nil {
		t.Fatal("checkpoint opened with another key of the same name")
	}
	forged := bytes.Replace(msg, []byte("\n10\n"), []byte("\n11\n"), 1)
	if _, err := ledger.OpenCheckpoint(forged, k.verifier); err == nil {
		t.Fatal("altered checkpoint opened")
	}
	elsewhere := newKey(t, "elsewhere.example/log", ledger.LogKey)
	cp := ledger.Checkpoint{Origin: testOrigin, Size: 1, Root: ledger.Hash{9}}
	msg2, err := ledger.SignCheckpoint(cp, elsewhere.signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.OpenCheckpoint(msg2, elsewhere.verifier); err == nil || !strings.Contains(err.Error(), "origin") {
		t.Fatalf("origin different from the key name: got %v", err)
	}
}

func openCheckpointDB(t *testing.T) *ledger.MemCheckpoints {
	t.Helper()
	return &ledger.MemCheckpoints{}
}

func TestCheckpointer_EveryNAndInterval(t *testing.T) {
	ctx := context.Background()
	m := newMemLog()
	k := newKey(t, testOrigin, ledger.LogKey)
	db := openCheckpointDB(t)
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	now := t0
	cpr, err := ledger.NewCheckpointer(ctx, m, db, ledger.CheckpointerConfig{
		Signer: k.signer, Verifier: k.verifier, Every: 3, Interval: time.Minute, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	var issued []uint64
	for i := range 7 {
		m.append(t, "exhibit-E1", "Noted", `{}`)
		cp, ok, err := cpr.Appended(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			issued = append(issued, cp.Body.Size)
			if _, err := ledger.OpenCheckpoint(cp.Note, k.verifier); err != nil {
				t.Fatalf("checkpoint %d after event %d: %v", cp.Body.Size, i, err)
			}
		}
	}
	if len(issued) != 2 || issued[0] != 3 || issued[1] != 6 {
		t.Fatalf("count-driven checkpoints at sizes %v, want [3 6]", issued)
	}
	// By time: nothing before the interval, one after, none without growth.
	if _, ok, _ := cpr.Tick(ctx, t0.Add(30*time.Second)); ok {
		t.Fatal("tick before the interval issued a checkpoint")
	}
	cp, ok, err := cpr.Tick(ctx, t0.Add(2*time.Minute))
	if err != nil || !ok || cp.Body.Size != 7 {
		t.Fatalf("tick after the interval: %+v %v %v", cp.Body, ok, err)
	}
	now = t0.Add(2 * time.Minute)
	if _, ok, _ := cpr.Tick(ctx, t0.Add(10*time.Minute)); ok {
		t.Fatal("tick without growth issued a checkpoint")
	}
	all, err := db.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[2].Body.Size != 7 || all[2].Seq <= all[1].Seq {
		t.Fatalf("stored checkpoints: %+v", all)
	}
	// A new checkpointer resumes from the stored one.
	again, err := ledger.NewCheckpointer(ctx, m, db, ledger.CheckpointerConfig{Signer: k.signer, Verifier: k.verifier, Every: 3})
	if err != nil {
		t.Fatal(err)
	}
	if last, ok := again.Latest(); !ok || last.Body.Size != 7 {
		t.Fatalf("resumed at %+v", last.Body)
	}
}

func TestCheckpointer_RefusesInconsistentTree(t *testing.T) {
	ctx := context.Background()
	k := newKey(t, testOrigin, ledger.LogKey)
	db := openCheckpointDB(t)
	a := seizureLog(t)
	cpr, err := ledger.NewCheckpointer(ctx, a, db, ledger.CheckpointerConfig{Signer: k.signer, Verifier: k.verifier})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cpr.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	// Another history: the same checkpoint store, a log whose first ten
	// leaves differ (someone rewrote the store).
	b := seizureLog(t)
	b.append(t, "exhibit-E1", "Noted", `{}`)
	cpr2, err := ledger.NewCheckpointer(ctx, b, db, ledger.CheckpointerConfig{Signer: k.signer, Verifier: k.verifier})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cpr2.Checkpoint(ctx)
	if !errors.Is(err, ledger.ErrInconsistent) {
		t.Fatalf("got %v, want ErrInconsistent", err)
	}
	all, _ := db.All(ctx)
	if len(all) != 1 {
		t.Fatalf("an inconsistent checkpoint was stored: %d checkpoints", len(all))
	}
}

func TestCheckpointer_RefusesMismatchedKeysAndReplacedLatest(t *testing.T) {
	ctx := context.Background()
	k := newKey(t, testOrigin, ledger.LogKey)
	other := newKey(t, testOrigin, ledger.LogKey)
	db := openCheckpointDB(t)
	m := seizureLog(t)
	if _, err := ledger.NewCheckpointer(ctx, m, db, ledger.CheckpointerConfig{Signer: k.signer, Verifier: other.verifier}); err == nil {
		t.Fatal("signer and verifier of different keys accepted")
	}
	// A checkpoint signed by another key in the store is refused at start.
	msg := signedAt(t, m, other)
	if err := db.Add(ctx, &ledger.SignedCheckpoint{Body: ledger.Checkpoint{Origin: testOrigin, Size: 10}, Note: msg}); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.NewCheckpointer(ctx, m, db, ledger.CheckpointerConfig{Signer: k.signer, Verifier: k.verifier}); err == nil {
		t.Fatal("latest checkpoint signed by another key accepted")
	}
}

func TestAddSignatureLines_RefusesGarbage(t *testing.T) {
	m := seizureLog(t)
	k := newKey(t, testOrigin, ledger.LogKey)
	msg := signedAt(t, m, k)
	for _, bad := range []string{"— name !!!\n", "— bad name AAAAAAA=\n", "x witness AAAAAAA=\n", "— w AA==\n"} {
		if _, err := ledger.AddSignatureLines(msg, []byte(bad)); !errors.Is(err, ledger.ErrCheckpoint) {
			t.Errorf("%q: got %v", bad, err)
		}
	}
	out, err := ledger.AddSignatureLines(msg, []byte("— witness.example/w1 AAAAAAAA\n"))
	if err != nil {
		t.Fatal(err)
	}
	// The note still opens with the log key (unknown lines are ignored).
	if _, err := ledger.OpenCheckpoint(out, k.verifier); err != nil {
		t.Fatal(err)
	}
}
