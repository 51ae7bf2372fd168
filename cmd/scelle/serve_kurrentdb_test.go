package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/kurrentdb/kurrentdbtest"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
	"github.com/scelle-ledger/scelle/projections"
)

func TestStorePath_kurrentDB(t *testing.T) {
	for _, store := range []string{"esdb://admin:changeit@n1:2113,n2:2113?tls=true", "kurrentdb://localhost:2113?tls=false", "esdb+discover://cluster.example:2113"} {
		c := serveConfig{data: "/srv/scelle", store: store}
		p, err := storePath(c)
		if err != nil || p != filepath.Join("/srv/scelle", replicaFile) {
			t.Errorf("storePath(%q): got %q, %v, want the replica in the data directory", store, p, err)
		}
		if u, ok := primaryURL(c); !ok || u != store {
			t.Errorf("primaryURL(%q): got %q, %v, want the URL", store, u, ok)
		}
	}
	if _, ok := primaryURL(serveConfig{store: "sqlite:///x/events.db"}); ok {
		t.Error("primaryURL(sqlite:///x/events.db): got a KurrentDB URL")
	}
	if _, err := storePath(serveConfig{store: "postgres://x"}); err == nil {
		t.Error("storePath(postgres://x): got no error")
	}
	if got := redactURL("esdb://admin:changeit@n1:2113?tls=true"); strings.Contains(got, "changeit") {
		t.Errorf("redactURL: got %q, want the password hidden", got)
	}
}

// TestServe_kurrentDBUnreachable checks that serve in KurrentDB mode fails
// at start-up, naming the store without its password, when the cluster
// does not answer.
func TestServe_kurrentDBUnreachable(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--log-level", "error",
		"--store", "esdb://admin:changeit@127.0.0.1:1?tls=false&maxDiscoverAttempts=1&discoveryInterval=10&gossipTimeout=1"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "open event store") || strings.Contains(errb.String(), "changeit") {
		t.Fatalf("serve against no KurrentDB: got exit %d, stderr %q; want 1, naming the store without its password", code, errb.String())
	}
}

// TestServe_kurrentDB runs serve on a real KurrentDB (a container): a case
// is opened through the API and its bundle, whose proofs come from the
// notarised replica's Merkle log, passes scelle verify. Without a
// container engine it is skipped.
func TestServe_kurrentDB(t *testing.T) {
	url := kurrentdbtest.Start(t)
	data := filepath.Join(t.TempDir(), "data")
	serveCaseAndVerify(t, data, "--store", url, "--store-namespace", "serve-test-")
}

// TestServe_replicaOverSQLitePrimary runs serve's KurrentDB mode with a
// SQLite store in place of KurrentDB (same port semantics), so that the
// wiring of the notarised replica is tested end to end without a
// container: the case's bundle verifies, and the replica holds the
// primary's events verbatim at dense positions.
func TestServe_replicaOverSQLitePrimary(t *testing.T) {
	ppath := filepath.Join(t.TempDir(), "primary.db")
	saved := openPrimary
	t.Cleanup(func() { openPrimary = saved })
	var gotURL, gotNS string
	openPrimary = func(ctx context.Context, url, ns string, _ *slog.Logger) (eventstore.Store, error) {
		gotURL, gotNS = url, ns
		return sqlite.Open(ctx, ppath, sqlite.Options{})
	}
	data := filepath.Join(t.TempDir(), "data")
	const url = "esdb://admin:changeit@node1:2113?tls=false"
	serveCaseAndVerify(t, data, "--store", url, "--store-namespace", "ledger-")
	if gotURL != url || gotNS != "ledger-" {
		t.Fatalf("primary opened with %q, %q; want %q, %q", gotURL, gotNS, url, "ledger-")
	}
	ctx := t.Context()
	// scelle audit recomputes the replica's chains and Merkle roots
	// against the checkpoints serve signed over it.
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"audit", "--data", data, "--store", filepath.Join(data, replicaFile), "--quiet"}, &out, &errb); code != 0 {
		t.Fatalf("scelle audit of the replica: exit %d\n%s%s", code, out.String(), errb.String())
	}
	primary, err := sqlite.Open(ctx, ppath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	local, err := sqlite.Open(ctx, filepath.Join(data, replicaFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	want, err := primary.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := local.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("replica: got %d events, want the primary's %d (at least one)", len(got), len(want))
	}
	for i := range want {
		if got[i].EventID != want[i].EventID || got[i].Hash != want[i].Hash || got[i].Position != uint64(i) {
			t.Fatalf("replica event %d: got %s hash %s at %d, want %s hash %s", i, got[i].EventID, got[i].Hash, got[i].Position, want[i].EventID, want[i].Hash)
		}
	}
}

// serveCaseAndVerify runs serve on data with args, opens a case through
// the API, checks that its bundle passes scelle verify, and stops serve.
func serveCaseAndVerify(t *testing.T, data string, args ...string) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	base, done, stderr := serveOnFreePort(t, ctx, append([]string{"--data", data, "--log-level", "warn"}, args...)...)
	var out, errb bytes.Buffer
	var token struct {
		Token string `json:"token"`
	}
	for _, args := range [][]string{
		{"admin", "agency", "add", "--data", data, "--code", "MA-DOUANE-TGM", "--name", "Douane Tanger Med", "--country", "MA", "--kind", "customs"},
		{"admin", "user", "add", "--data", data, "--id", "nadia", "--agency", "MA-DOUANE-TGM", "--roles", "officer"},
		{"admin", "token", "create", "--data", data, "--user", "nadia", "--ttl", "1h", "--json"},
	} {
		out.Reset()
		errb.Reset()
		if code := run(ctx, args, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
	}
	if err := json.Unmarshal(out.Bytes(), &token); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/v1/commands/open-case", strings.NewReader(`{"reference":"MA-TGM-2026-0412","country":"MA","legal_framework":"customs"}`))
	req.Header.Set("Authorization", "Bearer "+token.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "open-case-1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var opened map[string]any
	if err := json.NewDecoder(res.Body).Decode(&opened); err != nil || res.StatusCode != 200 {
		t.Fatalf("open-case: %d %v %v", res.StatusCode, opened, err)
	}
	res.Body.Close()
	caseID := opened["created"].([]any)[0].(map[string]any)["id"].(string)
	// The feed completes its items from the store the runner reads (the
	// replica in KurrentDB mode).
	req, _ = http.NewRequest("GET", fmt.Sprintf("%s/v1/feed?min_position=%.0f", base, opened["position"].(float64)), nil)
	req.Header.Set("Authorization", "Bearer "+token.Token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var feed projections.FeedPage
	if err := json.NewDecoder(res.Body).Decode(&feed); err != nil || res.StatusCode != 200 {
		t.Fatalf("feed: %d %+v %v", res.StatusCode, feed, err)
	}
	res.Body.Close()
	if len(feed.Items) != 1 || feed.Items[0].Type != "CaseOpened" || feed.Items[0].Stream != "case-"+caseID ||
		feed.Items[0].ActorUser != "nadia" || feed.Items[0].EventID == "" {
		t.Fatalf("feed: got %+v, want the CaseOpened of case %s by nadia", feed.Items, caseID)
	}
	verifyCaseBundle(t, ctx, base, token.Token, caseID, data)
	res, err = http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("readyz: got %d %s, want 200", res.StatusCode, ready)
	}
	stop()
	if code := exitStatus(t, done); code != 0 {
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(data, replicaFile)); err != nil {
		t.Fatalf("replica file: %v", err)
	}
}

// TestServe_oneModePerDataDirectory checks that a data directory whose
// read models follow one log is not served in the other mode.
func TestServe_oneModePerDataDirectory(t *testing.T) {
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, replicaFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--log-level", "error"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), replicaFile) {
		t.Fatalf("serve in SQLite mode beside %s: got exit %d, %q; want 1 naming it", replicaFile, code, errb.String())
	}
	if err := os.Rename(filepath.Join(data, replicaFile), filepath.Join(data, eventsFile)); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--log-level", "error", "--store", "esdb://127.0.0.1:1?tls=false"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), eventsFile) {
		t.Fatalf("serve in KurrentDB mode beside %s: got exit %d, %q; want 1 naming it", eventsFile, code, errb.String())
	}
}

// tamperedPrimary delivers, to subscriptions, every event with a flipped
// hash: what a corrupted KurrentDB would send.
type tamperedPrimary struct{ eventstore.Store }

func (p tamperedPrimary) SubscribeAll(ctx context.Context, opts eventstore.SubscribeOptions) (eventstore.Subscription, error) {
	sub, err := p.Store.SubscribeAll(ctx, opts)
	return tamperedSub{sub}, err
}

type tamperedSub struct{ eventstore.Subscription }

func (s tamperedSub) Recv() (eventstore.RecordedEvent, error) {
	e, err := s.Subscription.Recv()
	e.Hash[0] ^= 1
	return e, err
}

// TestServe_readyzReportsAStoppedNotary checks that /readyz answers 503,
// naming the notary, once the notary stopped on an event that does not
// verify.
func TestServe_readyzReportsAStoppedNotary(t *testing.T) {
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	ppath := filepath.Join(t.TempDir(), "primary.db")
	primary, err := sqlite.Open(ctx, ppath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := primary.Append(ctx, "case-1", eventstore.NoStream, eventstore.EventData{
		ID: uuid.New(), Type: "CaseOpened", SchemaVersion: 1, Payload: []byte(`{}`), OccurredAt: time.Now(),
		Actor: ledger.Actor{User: "u", Agency: "a", Role: "officer"}, CorrelationID: uuid.New(),
	}); err != nil {
		t.Fatal(err)
	}
	if err := primary.Close(); err != nil {
		t.Fatal(err)
	}
	saved := openPrimary
	t.Cleanup(func() { openPrimary = saved })
	openPrimary = func(ctx context.Context, _, _ string, _ *slog.Logger) (eventstore.Store, error) {
		s, err := sqlite.Open(ctx, ppath, sqlite.Options{})
		return tamperedPrimary{s}, err
	}
	data := filepath.Join(t.TempDir(), "data")
	base, done, stderr := serveOnFreePort(t, ctx, "--data", data, "--log-level", "error", "--store", "esdb://x:2113")
	// The notary stops at once; readiness reports it from then on.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
	for {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable {
			break
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("readyz: still %d %s, want 503 once the notary stopped", res.StatusCode, body)
		}
	}
	if !strings.Contains(stderr.String(), "the notary stopped") {
		t.Fatalf("serve log: got %q, want the notary's error", stderr.String())
	}
	stop()
	<-done
}
