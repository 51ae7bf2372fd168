package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestOperations_health(t *testing.T) {
	e := newEnv(t)
	if r := e.do("", "GET", "/healthz", nil); r.Status != 200 {
		t.Fatalf("healthz: got %d, want 200: %s", r.Status, r.Body)
	}
	r := e.do("", "GET", "/readyz", nil)
	if r.Status != 200 {
		t.Fatalf("readyz: got %d, want 200: %s", r.Status, r.Body)
	}
	var ready struct {
		Ready bool   `json:"ready"`
		Store string `json:"store"`
	}
	r.json(t, &ready)
	if !ready.Ready || ready.Store != "ok" {
		t.Fatalf("readyz: got %+v", ready)
	}
	if id := r.Header.Get("X-Request-ID"); id == "" {
		t.Fatal("no X-Request-ID on the response")
	}
	m := e.do("", "GET", "/metrics", nil)
	for _, name := range []string{"scelle_http_requests_total", "scelle_http_request_duration_seconds", "scelle_projection_lag_events"} {
		if !strings.Contains(string(m.Body), name) {
			t.Errorf("metrics: %s missing", name)
		}
	}
	for _, p := range []string{"/openapi.json", "/openapi.yaml", "/docs"} {
		if r := e.do("", "GET", p, nil); r.Status != 200 {
			t.Errorf("%s: got %d, want 200", p, r.Status)
		}
	}
}

func TestAuth_tokens(t *testing.T) {
	e := newEnv(t)
	r := e.do("", "GET", "/v1/whoami", nil)
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("anonymous whoami: got %d, want 401", r.Status)
	}
	if p := r.problem(t); p.Status != 401 || !strings.HasSuffix(p.Type, "/unauthenticated") {
		t.Fatalf("anonymous whoami: got %+v", p)
	}
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	r = e.do("nadia", "GET", "/v1/whoami", nil)
	var who struct {
		User, Agency string
		Roles        []string
	}
	r.json(t, &who)
	if r.Status != 200 || who.User != "nadia" || who.Agency != "MA-DOUANE-TGM" {
		t.Fatalf("whoami: got %d %+v", r.Status, who)
	}
	e.tokens["bogus"] = "sct_notatoken"
	if r := e.do("bogus", "GET", "/v1/whoami", nil); r.Status != 401 {
		t.Fatalf("bogus token: got %d, want 401", r.Status)
	}
	// Revocation takes effect on the next request.
	toks, err := e.auth.Tokens(t.Context(), "nadia")
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens: %v %v", toks, err)
	}
	if err := e.auth.RevokeToken(t.Context(), toks[0].ID, toks[0].Created); err != nil {
		t.Fatal(err)
	}
	if r := e.do("nadia", "GET", "/v1/whoami", nil); r.Status != 401 {
		t.Fatalf("revoked token: got %d, want 401", r.Status)
	}
}

func TestProblems_unknownRoute(t *testing.T) {
	e := newEnv(t)
	r := e.do("nadia", "GET", "/v1/nothing-here", nil)
	if p := r.problem(t); r.Status != 404 || p.Status != 404 {
		t.Fatalf("got %d %+v, want a 404 problem", r.Status, p)
	}
}
