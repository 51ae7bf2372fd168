package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/domain"
	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
)

func TestRebuild_AllProjections(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, eventsFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	caseID := uuid.New()
	typ, ver, payload, err := domain.Encode(domain.CaseOpened{CaseID: caseID, Reference: "R-1", OwnerAgency: "MA-DOUANE-TGM",
		Country: "MA", LegalFramework: domain.FrameworkCustoms})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, domain.CaseStream(caseID), eventstore.NoStream, eventstore.EventData{ID: uuid.New(), Type: typ,
		SchemaVersion: ver, Payload: payload, OccurredAt: time.Now(), Actor: ledger.Actor{User: "nadia", Agency: "MA-DOUANE-TGM", Role: "officer"}}); err != nil {
		t.Fatal(err)
	}
	store.Close()

	var out, errb bytes.Buffer
	if code := run(ctx, []string{"rebuild", "--data", dir, "--quiet"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, name := range []string{"custody", "stats", "feed"} {
		if !regexp.MustCompile(`(?m)^` + name + `: generation \d+, 1 events up to position 0 `).MatchString(out.String()) {
			t.Errorf("output %q: want a line for %s", out.String(), name)
		}
	}
	if code := run(ctx, []string{"rebuild", "--data", dir, "nope"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown projection "nope"`) {
		t.Errorf("unknown projection: exit %d, stderr %q", code, errb.String())
	}
}
