package ledger

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestWriteEnvelopeFixtures writes the frozen fixtures that do not exist yet.
// It runs only with SCELLE_WRITE_FIXTURES=1 and never overwrites a file:
// a committed fixture is a contract.
func TestWriteEnvelopeFixtures(t *testing.T) {
	if os.Getenv("SCELLE_WRITE_FIXTURES") != "1" {
		t.Skip("set SCELLE_WRITE_FIXTURES=1 to write missing envelope fixtures")
	}
	stream := "exhibit-0b7e4f52-9c1a-5d3e-8f2b-6a4c9e1d7b30"
	corr := uuid.MustParse("1d9a3c44-0e5b-4c2f-9a7d-3b6e8f1c2d40")
	specs := []struct {
		name, comment, typ, payload string
		actor                       Actor
		at                          time.Time
	}{
		{"01-exhibit-registered.json", "revision 0: no predecessor, prev_hash is 32 zero bytes", "ExhibitRegistered",
			`{"exhibit_id":"0b7e4f52-9c1a-5d3e-8f2b-6a4c9e1d7b30","label":"7 of 40"}`,
			Actor{User: "nadia", Agency: "MA-DOUANE-TGM", Role: "officer"}, time.Date(2026, 4, 12, 6, 15, 0, 0, time.UTC)},
		{"02-exhibit-sealed.json", "revision 1: prev_hash is the hash of revision 0; non-ASCII UTF-8 in a string", "ExhibitSealed",
			`{"seal":"MA-S-0091207"}`,
			Actor{User: "youssef-é", Agency: "MA-DOUANE-TGM", Role: "officer"}, time.Date(2026, 4, 12, 6, 20, 30, 500000000, time.UTC)},
		{"03-transfer-offered.json", "revision 2: nanosecond occurred_at, causation id set", "TransferOffered",
			`{"to_agency":"MA-DOUANE-TGM","to_location":"TGM/MAGASIN-2/R3"}`,
			Actor{User: "nadia", Agency: "MA-DOUANE-TGM", Role: "officer"}, time.Date(2026, 4, 12, 9, 41, 7, 123456789, time.UTC)},
	}
	var prev Hash
	for i, s := range specs {
		e := Envelope{
			EventID:       uuid.NewSHA1(uuid.NameSpaceURL, []byte("scelle-fixture/"+s.name)),
			Stream:        stream,
			Revision:      uint64(i),
			Type:          s.typ,
			SchemaVersion: 1,
			OccurredAt:    s.at,
			RecordedAt:    s.at.Add(90 * time.Second),
			Actor:         s.actor,
			CorrelationID: corr,
			PayloadDigest: PayloadDigest([]byte(s.payload)),
		}
		if i == 2 {
			e.CausationID = uuid.NewSHA1(uuid.NameSpaceURL, []byte("scelle-fixture/"+specs[1].name))
		}
		h, err := Link(&e, prev)
		if err != nil {
			t.Fatal(err)
		}
		prev = h
		c, _ := e.Canonical()
		path := filepath.Join("testdata", "envelope-v1", s.name)
		if _, err := os.Stat(path); err == nil {
			continue
		}
		b, _ := json.MarshalIndent(envelopeFixture{Comment: s.comment + "; payload: " + s.payload, Envelope: e, Canonical: hex.EncodeToString(c), Hash: h}, "", "  ")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
}
