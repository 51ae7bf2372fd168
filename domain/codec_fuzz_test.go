package domain

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode: Decode never panics, and whatever it accepts re-encodes to a
// payload that decodes to the same event and re-encodes to the same bytes.
// Seeds: every frozen fixture, plus the committed corpus in
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		typ, _, _ := strings.Cut(strings.TrimSuffix(filepath.Base(file), ".json"), ".v")
		f.Add(typ, uint32(1), bytes.TrimSpace(raw))
	}
	f.Fuzz(func(t *testing.T, typ string, version uint32, payload []byte) {
		e, err := Decode(typ, version, payload)
		if err != nil {
			return
		}
		typ2, v2, p2, err := Encode(e)
		if err != nil {
			t.Fatalf("decoded %s but cannot encode it: %v", typ, err)
		}
		if typ2 != typ {
			t.Fatalf("type %s re-encoded as %s", typ, typ2)
		}
		e2, err := Decode(typ2, v2, p2)
		if err != nil {
			t.Fatalf("re-encoded payload does not decode: %v\n%s", err, p2)
		}
		_, _, p3, err := Encode(e2)
		if err != nil || !bytes.Equal(p2, p3) {
			t.Fatalf("decode-encode is not stable:\n%s\n%s (%v)", p2, p3, err)
		}
		// Folding a decoded event never panics.
		NewCase(e)
		NewSeizure(e)
		NewExhibit(e)
	})
}
