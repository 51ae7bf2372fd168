package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
	"github.com/scelle-ledger/scelle/ledger/checkpointdb"
)

const testLog = "scelle.example/MA-DOUANE-TGM"

var testNS = uuid.MustParse("6a1c2b8e-4c1d-4d8e-9e61-1f0a7b3c5d22")

// integrityData is a data directory holding a real SQLite store of 60
// events over six streams, a log key, and checkpoints at sizes 20, 40, 60.
type integrityData struct {
	dir      string
	vkeyPath string
}

func newIntegrityData(t *testing.T) integrityData {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	var buf bytes.Buffer
	if code := run(ctx, []string{"keys", "generate", "--name", testLog, "--out", filepath.Join(dir, keysDir)}, &buf, &buf); code != 0 {
		t.Fatalf("keys generate: %d %s", code, buf.String())
	}
	sk, vk := ledger.KeyFileNames(testLog)
	signer, err := ledger.LoadSigner(filepath.Join(dir, keysDir, sk), nil)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := ledger.LoadVerifier(filepath.Join(dir, keysDir, vk))
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	store, err := sqlite.Open(ctx, filepath.Join(dir, eventsFile), sqlite.Options{Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cpdb, err := checkpointdb.Open(ctx, filepath.Join(dir, checkpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer cpdb.Close()
	cpr, err := ledger.NewCheckpointer(ctx, store, cpdb, ledger.CheckpointerConfig{Signer: signer, Verifier: verifier, Every: 20})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		stream := fmt.Sprintf("exhibit-E%d", i%6)
		ev := eventstore.EventData{
			ID: uuid.NewSHA1(testNS, []byte(fmt.Sprint(i))), Type: "CustodyNoted", SchemaVersion: 1,
			Payload:    []byte(fmt.Sprintf(`{"n":%d,"seal":"S-%04d"}`, i, i)),
			OccurredAt: time.Date(2026, 3, 14, 8, 0, i, 0, time.UTC),
			Actor:      ledger.Actor{User: "agent-17", Agency: "MA-DOUANE", Role: "officer"},
		}
		if _, err := store.Append(ctx, stream, eventstore.Any, ev); err != nil {
			t.Fatal(err)
		}
		if _, _, err := cpr.Appended(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return integrityData{dir: dir, vkeyPath: filepath.Join(dir, keysDir, vk)}
}

// tamper runs SQL on the store file directly, as an attacker with file
// access would, after dropping the append-only triggers.
func (d integrityData) tamper(t *testing.T, file string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(d.dir, file))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range append([]string{
		`DROP TRIGGER IF EXISTS events_no_update`, `DROP TRIGGER IF EXISTS events_no_delete`,
		`DROP TRIGGER IF EXISTS merkle_nodes_no_update`, `DROP TRIGGER IF EXISTS merkle_nodes_no_delete`,
		`DROP TRIGGER IF EXISTS checkpoints_no_update`, `DROP TRIGGER IF EXISTS checkpoints_no_delete`,
	}, stmts...) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func (d integrityData) audit(t *testing.T) (int, *ledger.AuditReport, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"audit", "--data", d.dir, "--json", "--page", "16"}, &out, &errb)
	var r ledger.AuditReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("audit output (exit %d, stderr %s): %v\n%s", code, errb.String(), err, out.String())
	}
	return code, &r, errb.String()
}

// bundle builds a bundle of one stream from the store as it is now (read
// through the audit's read-only reader) and writes it to a file.
func (d integrityData) bundle(t *testing.T, stream string) string {
	t.Helper()
	ctx := context.Background()
	src, err := openAuditSource(ctx, filepath.Join(d.dir, eventsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	all, err := src.EventsInRange(ctx, 0, 1<<40, nil)
	if err != nil {
		t.Fatal(err)
	}
	var evs []ledger.StoredEvent
	for _, e := range all {
		if e.Stream == stream {
			evs = append(evs, e)
		}
	}
	cpdb, err := checkpointdb.Open(ctx, filepath.Join(d.dir, checkpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer cpdb.Close()
	last, _, err := cpdb.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ledger.BuildBundle(ctx, evs, src, last.Note, ledger.BuildOptions{Now: time.Now()})
	if err != nil {
		return "build refused: " + err.Error()
	}
	p := filepath.Join(t.TempDir(), "bundle.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := b.Encode(f); err != nil {
		t.Fatal(err)
	}
	return p
}

func (d integrityData) verify(t *testing.T, bundle string) (int, *ledger.Report) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"verify", bundle, "--key", d.vkeyPath, "--json"}, &out, &errb)
	var r ledger.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("verify output (exit %d, stderr %s): %v", code, errb.String(), err)
	}
	return code, &r
}

func TestAudit_CleanStore(t *testing.T) {
	d := newIntegrityData(t)
	code, r, stderr := d.audit(t)
	if code != 0 || !r.OK || r.Events != 60 || r.CheckpointsVerified != 3 {
		t.Fatalf("exit %d, report %+v", code, r)
	}
	if !strings.Contains(stderr, "auditing") {
		t.Errorf("no progress bar on stderr: %q", stderr)
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"audit", "--data", d.dir, "--quiet"}, &out, &out); code != 0 || !strings.Contains(out.String(), "INTACT") {
		t.Fatalf("text audit: %d %s", code, out.String())
	}
}

// TestTamper_SQLiteFile alters a real store file in each way an insider
// could, and checks that audit names the place and that a bundle built from
// the altered store does not verify (or cannot be built).
func TestTamper_SQLiteFile(t *testing.T) {
	// Event at position p belongs to exhibit-E(p%6) at revision p/6.
	for name, tc := range map[string]struct {
		file   string
		stmts  []string
		kind   string
		pos    int // -1: not about one event
		stream string
	}{
		"payload byte": {eventsFile, []string{`UPDATE events SET payload = CAST(replace(CAST(payload AS TEXT), 'S-0013', 'S-0014') AS BLOB) WHERE position = 13`},
			ledger.FindingPayloadAltered, 13, "exhibit-E1"},
		"type": {eventsFile, []string{`UPDATE events SET type = 'CustodyNotee' WHERE position = 26`},
			ledger.FindingAltered, 26, "exhibit-E2"},
		"timestamp": {eventsFile, []string{`UPDATE events SET occurred_at = occurred_at - 1 WHERE position = 33`},
			ledger.FindingAltered, 33, "exhibit-E3"},
		"deleted event": {eventsFile, []string{`DELETE FROM events WHERE position = 28`},
			ledger.FindingRemoved, 28, "exhibit-E4"},
		"swapped events": {eventsFile, []string{
			`UPDATE events SET position = -1 WHERE position = 31`,
			`UPDATE events SET position = 31 WHERE position = 37`,
			`UPDATE events SET position = 37 WHERE position = -1`},
			ledger.FindingLeafMismatch, 31, "exhibit-E1"},
		"truncated": {eventsFile, []string{`DELETE FROM events WHERE position >= 50`, `DELETE FROM merkle_nodes WHERE (id >> 6) >= 50`},
			ledger.FindingTruncated, -1, ""},
		"checkpoint replaced": {checkpointsFile, []string{`UPDATE checkpoints SET note = CAST(replace(CAST(note AS TEXT), char(10) || '60' || char(10), char(10) || '59' || char(10)) AS BLOB) WHERE size = 60`},
			ledger.FindingCheckpointInvalid, -1, "exhibit-E0"},
	} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			d := newIntegrityData(t)
			d.tamper(t, tc.file, tc.stmts...)
			code, r, _ := d.audit(t)
			if code != 1 || r.OK {
				t.Fatalf("audit of a tampered store: exit %d", code)
			}
			found := false
			for _, f := range r.Findings {
				if f.Kind == tc.kind && (tc.pos < 0 || f.Position != nil && int(*f.Position) == tc.pos) {
					found = true
				}
			}
			if !found {
				t.Fatalf("audit has no %s finding at %d: %+v", tc.kind, tc.pos, r.Findings)
			}
			if tc.stream == "" {
				return
			}
			b := d.bundle(t, tc.stream)
			if strings.HasPrefix(b, "build refused: ") {
				t.Log(b)
				return
			}
			code, vr := d.verify(t, b)
			if code != 1 || vr.OK {
				t.Fatalf("bundle from a tampered store verifies")
			}
			if tc.pos >= 0 {
				named := false
				for _, c := range vr.Checks {
					if !c.OK && c.Event != nil && (int(c.Event.Position) == tc.pos || c.Event.Stream == tc.stream) {
						named = true
					}
				}
				for _, c := range vr.Checks {
					if !c.OK {
						t.Logf("verify: %s %v: %s", c.What, c.Event, c.Detail)
						break
					}
				}
				if !named {
					t.Fatalf("verify does not name %s at %d: %+v", tc.stream, tc.pos, vr.Checks)
				}
			}
		})
	}
}

func TestTamper_CheckpointSignedByWrongKey(t *testing.T) {
	ctx := context.Background()
	d := newIntegrityData(t)
	// The insider re-signs the latest checkpoint (same tree) with a key of
	// their own under the log's name, and swaps it in.
	src, err := openAuditSource(ctx, filepath.Join(d.dir, eventsFile))
	if err != nil {
		t.Fatal(err)
	}
	root, err := ledger.RootAt(ctx, src, 60)
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	skey, _, err := ledger.GenerateKey(rand.Reader, testLog, ledger.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := ledger.NewSigner(skey, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := ledger.SignCheckpoint(ledger.Checkpoint{Origin: testLog, Size: 60, Root: root}, wrong)
	if err != nil {
		t.Fatal(err)
	}
	d.tamper(t, checkpointsFile, fmt.Sprintf(`UPDATE checkpoints SET note = X'%x' WHERE size = 60`, msg))

	code, r, _ := d.audit(t)
	if code != 1 || r.CheckpointsVerified != 2 || len(r.Findings) != 1 || r.Findings[0].Kind != ledger.FindingCheckpointInvalid || r.Findings[0].Checkpoint != 3 {
		t.Fatalf("audit: exit %d, %+v", code, r)
	}
	code, vr := d.verify(t, d.bundle(t, "exhibit-E0"))
	if code != 1 {
		t.Fatal("bundle with a checkpoint signed by a wrong key verifies")
	}
	for _, c := range vr.Checks {
		if c.What == "checkpoint signature" && !c.OK {
			return
		}
	}
	t.Fatalf("verify does not fail the checkpoint signature: %+v", vr.Checks)
}
