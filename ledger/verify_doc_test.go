package ledger_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/scelle-ledger/scelle/ledger"
)

// TestDocVectors checks the values docs/VERIFICATION.md quotes, so that the
// document cannot drift from the code.
func TestDocVectors(t *testing.T) {
	var hashes []ledger.Hash
	for _, f := range []string{"01-exhibit-registered.json", "02-exhibit-sealed.json", "03-transfer-offered.json"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "envelope-v1", f))
		if err != nil {
			t.Fatal(err)
		}
		var fx struct {
			Hash ledger.Hash `json:"hash"`
		}
		if err := json.Unmarshal(raw, &fx); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, fx.Hash)
	}
	tree := ledger.NewTree()
	want := []string{
		"24cda8faa9a4b1efc5a71595d6d45102de7c6d33396626f2935bcdd317034579",
		"aedd82422549dcbb9966fecf1e63e03e9cf2bab9819558db69b9985babc4a9fb",
	}
	if got := ledger.LeafHash(hashes[0]).String(); got != "6fab300de39bec9fba9f7988f4401b3dd51439f639ba8cd0c570925ab789d3ce" {
		t.Errorf("leaf 0: %s", got)
	}
	for i, h := range hashes {
		if _, err := tree.Append(ledger.LeafHash(h)); err != nil {
			t.Fatal(err)
		}
		if i > 0 && tree.Root().String() != want[i-1] {
			t.Errorf("root of size %d: %s, want %s", i+1, tree.Root(), want[i-1])
		}
	}
}

// TestDocCorpusVerdicts: the corpus's valid bundle verifies with the keys
// the document describes (seeds 0x01 and 0x02), and every altered copy
// fails.
func TestDocCorpusVerdicts(t *testing.T) {
	k := seededKey(t, testOrigin, ledger.LogKey, 1)
	w := seededKey(t, "witness.example/DGDDI", ledger.WitnessKey, 2)
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzVerifyBundle", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus: %v", err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, lit, _ := strings.Cut(strings.TrimSpace(string(raw)), "[]byte(")
		data, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		ok := false
		if b, err := ledger.DecodeBundle([]byte(data)); err == nil {
			ok = ledger.Verify(b, []note.Verifier{k.verifier}, []note.Verifier{w.verifier}, ledger.Policy{MinWitnesses: 1}).OK
		}
		if want := filepath.Base(f) == "valid"; ok != want {
			t.Errorf("%s: verifies %v, want %v", filepath.Base(f), ok, want)
		}
	}
}
