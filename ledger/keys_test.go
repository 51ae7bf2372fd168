package ledger_test

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/scelle-ledger/scelle/ledger"
)

func TestKeys_LogKeyInteroperatesWithNote(t *testing.T) {
	k := newKey(t, testOrigin, ledger.LogKey)
	// x/mod's own parsers accept our log keys, and its Open verifies our
	// signatures.
	if _, err := note.NewSigner(k.skey); err != nil {
		t.Fatalf("note.NewSigner: %v", err)
	}
	v, err := note.NewVerifier(k.vkey)
	if err != nil {
		t.Fatalf("note.NewVerifier: %v", err)
	}
	msg, err := note.Sign(&note.Note{Text: "hello\n"}, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
		t.Fatalf("note.Open: %v", err)
	}
}

func TestKeys_Cosignature(t *testing.T) {
	w := newKey(t, "witness.example/w1", ledger.WitnessKey)
	if _, ok := w.signer.(*ledger.CosignatureSigner); !ok {
		t.Fatalf("witness signer is %T", w.signer)
	}
	text := []byte("scelle.example/log\n3\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
	sig, err := w.signer.Sign(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 72 {
		t.Fatalf("cosignature is %d bytes, want 8+64", len(sig))
	}
	if tm, ok := ledger.CosignatureTime(sig); !ok || tm.Unix() != 1773532800 {
		t.Fatalf("timestamp: got %v %v", tm, ok)
	}
	if !w.verifier.Verify(text, sig) {
		t.Fatal("cosignature does not verify")
	}
	bad := append([]byte(nil), sig...)
	bad[7]++ // the timestamp is signed
	if w.verifier.Verify(text, bad) {
		t.Fatal("cosignature with altered timestamp verifies")
	}
	if w.verifier.Verify(append(text, 'x'), sig) {
		t.Fatal("cosignature over other text verifies")
	}
	if _, err := note.NewVerifier(w.vkey); err == nil {
		t.Fatal("x/mod accepted a cosignature key as a plain Ed25519 key")
	}
}

func TestKeys_Files(t *testing.T) {
	dir := t.TempDir()
	skey, vkey, err := ledger.GenerateKey(rand.Reader, testOrigin, ledger.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	sp, vp, err := ledger.WriteKeyFiles(dir, testOrigin, skey, vkey)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(sp) != "scelle.example_MA-DOUANE-TGM.key" {
		t.Errorf("signer file name %s", sp)
	}
	for p, want := range map[string]os.FileMode{sp: 0o600, vp: 0o644} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", p, fi.Mode().Perm(), want)
		}
	}
	s, err := ledger.LoadSigner(sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ledger.LoadVerifier(vp)
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyHash() != v.KeyHash() || s.Name() != testOrigin {
		t.Fatalf("loaded %s+%08x and %s+%08x", s.Name(), s.KeyHash(), v.Name(), v.KeyHash())
	}
	if _, _, err := ledger.WriteKeyFiles(dir, testOrigin, skey, vkey); err == nil {
		t.Error("WriteKeyFiles overwrote an existing key")
	}

	t.Run("missing", func(t *testing.T) {
		_, err := ledger.LoadSigner(filepath.Join(dir, "nope.key"), nil)
		if !errors.Is(err, ledger.ErrKeyFile) || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("too_permissive", func(t *testing.T) {
		if err := os.Chmod(sp, 0o640); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(sp, 0o600)
		_, err := ledger.LoadSigner(sp, nil)
		if !errors.Is(err, ledger.ErrKeyFile) || !strings.Contains(err.Error(), "too permissive") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads any file")
		}
		if err := os.Chmod(sp, 0o000); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(sp, 0o600)
		if _, err := ledger.LoadSigner(sp, nil); !errors.Is(err, ledger.ErrKeyFile) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		sub := filepath.Join(dir, "d.key")
		if err := os.Mkdir(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := ledger.LoadSigner(sub, nil); !errors.Is(err, ledger.ErrKeyFile) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		p := filepath.Join(dir, "bad.key")
		if err := os.WriteFile(p, []byte("PRIVATE+KEY+x+00000000+AAAA\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ledger.LoadSigner(p, nil); !errors.Is(err, ledger.ErrKeyFile) {
			t.Fatalf("got %v", err)
		}
		if _, err := ledger.LoadVerifier(p); !errors.Is(err, ledger.ErrKeyFile) {
			t.Fatalf("verifier from a signer file: got %v", err)
		}
	})
	t.Run("tampered_id", func(t *testing.T) {
		parts := strings.Split(vkey, "+")
		parts[1] = "00000000"
		if _, err := ledger.NewVerifier(strings.Join(parts, "+")); !errors.Is(err, ledger.ErrKeyFile) {
			t.Fatalf("got %v", err)
		}
	})
	if _, _, err := ledger.GenerateKey(rand.Reader, "has space", ledger.LogKey); err == nil {
		t.Error("GenerateKey accepted a name with a space")
	}
}
