package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scelle-ledger/scelle/api"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
	"github.com/scelle-ledger/scelle/ledger/checkpointdb"
	"github.com/scelle-ledger/scelle/projections"
)

// env is a real server on a temporary data directory: SQLite store, read
// models, checkpointer, auth database, served over loopback HTTP.
type env struct {
	t      *testing.T
	dir    string
	srv    *api.Server
	http   *httptest.Server
	auth   *api.AuthStore
	store  *sqlite.Store
	runner *projections.Runner
	vkey   string
	tokens map[string]string // user -> bearer token
	// skew is added to the server clock: tests move time forward.
	skew atomic.Int64
	// spec checks that every response status is one the OpenAPI document
	// declares for the operation.
	spec *spec
}

// advance moves the server clock forward.
func (e *env) advance(d time.Duration) { e.skew.Add(int64(d)) }

// scenario users (SCENARIOS.md): user -> agency, roles.
var scenarioAgencies = []api.Agency{
	{Code: "MA-DOUANE-TGM", Name: "Douane Tanger Med", Country: "MA", Kind: "customs"},
	{Code: "MA-LAB-CASA", Name: "Laboratoire national Casablanca", Country: "MA", Kind: "lab"},
	{Code: "MA-PARQUET-TNG", Name: "Parquet de Tanger", Country: "MA", Kind: "prosecutor"},
	{Code: "FR-DOUANE-MRS", Name: "Douane Marseille", Country: "FR", Kind: "customs"},
	{Code: "FR-LAB-MRS", Name: "Laboratoire des douanes Marseille", Country: "FR", Kind: "lab"},
	{Code: "FR-JI-MRS", Name: "Juge d'instruction Marseille", Country: "FR", Kind: "court"},
	{Code: "FR-GREFFE-MRS", Name: "Greffe Marseille", Country: "FR", Kind: "registry"},
	{Code: "SCELLE-ADMIN", Name: "administrators", Country: "MA", Kind: "administration"},
}

var scenarioUsers = []api.User{
	{ID: "nadia", Agency: "MA-DOUANE-TGM", Roles: []string{"officer"}},
	{ID: "youssef", Agency: "MA-DOUANE-TGM", Roles: []string{"officer"}},
	{ID: "karim", Agency: "MA-DOUANE-TGM", Roles: []string{"custodian"}},
	{ID: "salma", Agency: "MA-LAB-CASA", Roles: []string{"analyst"}},
	{ID: "idriss", Agency: "MA-PARQUET-TNG", Roles: []string{"magistrate"}},
	{ID: "claire", Agency: "FR-DOUANE-MRS", Roles: []string{"officer"}},
	{ID: "julien", Agency: "FR-LAB-MRS", Roles: []string{"analyst"}},
	{ID: "helene", Agency: "FR-JI-MRS", Roles: []string{"magistrate"}},
	{ID: "paul", Agency: "FR-GREFFE-MRS", Roles: []string{"custodian"}},
	{ID: "audrey", Agency: "MA-DOUANE-TGM", Roles: []string{"auditor"}},
	{ID: "admin", Agency: "SCELLE-ADMIN", Roles: []string{"admin"}},
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	e := &env{t: t, dir: dir, tokens: map[string]string{}}
	var err error
	if e.store, err = sqlite.Open(ctx, filepath.Join(dir, "events.db"), sqlite.Options{}); err != nil {
		t.Fatal(err)
	}
	rdb, err := projections.OpenDB(ctx, filepath.Join(dir, projections.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if e.runner, err = projections.NewRunner(rdb, e.store, projections.All(), projections.Options{Decode: projections.DomainDecoder}); err != nil {
		t.Fatal(err)
	}
	if err := e.runner.Init(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = e.runner.Run(runCtx) }()

	skey, vkey, err := ledger.GenerateKey(rand.Reader, "scelle-test", ledger.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	e.vkey = vkey
	signer, err := ledger.NewSigner(skey, nil)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := ledger.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cpdb, err := checkpointdb.Open(ctx, filepath.Join(dir, "checkpoints.db"))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ledger.NewCheckpointer(ctx, e.store, cpdb, ledger.CheckpointerConfig{Signer: signer, Verifier: verifier, Every: 50})
	if err != nil {
		t.Fatal(err)
	}
	if e.auth, err = api.OpenAuthStore(ctx, filepath.Join(dir, "auth.db")); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, a := range scenarioAgencies {
		if err := e.auth.AddAgency(ctx, a, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range scenarioUsers {
		if err := e.auth.AddUser(ctx, u, now); err != nil {
			t.Fatal(err)
		}
		_, secret, err := e.auth.IssueToken(ctx, u.ID, "test", 72*time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[u.ID] = secret
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewJSONHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	e.srv, err = api.New(ctx, api.Config{
		Store: e.store, Nodes: e.store, Checkpoints: cp, Progress: e.runner,
		Reads: projections.NewReadModels(rdb, e.runner), Auth: e.auth, DataDir: dir,
		LogVerifierKey: vkey, Logger: log, Version: "test",
		Now: func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.http = httptest.NewServer(e.srv.Handler())
	doc, err := json.Marshal(e.srv.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	e.spec = loadSpec(t, doc)
	t.Cleanup(func() {
		e.srv.BeginShutdown()
		e.http.Close()
		e.srv.Close()
		stop()
		<-done
		rdb.Close()
		cpdb.Close()
		e.auth.Close()
		e.store.Close()
	})
	return e
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(b)))
	return len(b), nil
}

// response is a decoded HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// problem decodes a problem response.
func (r response) problem(t *testing.T) api.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, r.Body)
	}
	var p api.Problem
	r.json(t, &p)
	return p
}

// do sends a request as user ("" for anonymous). body may be nil, []byte
// or a value encoded as JSON.
func (e *env) do(user, method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		tok, ok := e.tokens[user]
		if !ok {
			e.t.Fatalf("no token for %s", user)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ok, known := e.spec.declared(method, path, res.StatusCode); known && !ok {
		e.t.Errorf("%s %s answered %d, which the OpenAPI document does not declare: %s", method, path, res.StatusCode, b)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

var keyCounter atomic.Int64

// key returns a fresh idempotency key.
func key() string {
	return fmt.Sprintf("k-%d-%d", time.Now().UnixNano(), keyCounter.Add(1))
}
