package api_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestBadInput_everyOperation sends malformed requests to every operation
// the OpenAPI document lists: each gets a 4xx problem naming what is
// wrong, and nothing is written.
func TestBadInput_everyOperation(t *testing.T) {
	e := newEnv(t)
	caseID := openCase(e, "nadia", "MA-TGM-2026-0412")
	head := func() int64 {
		var ready struct{ Head int64 }
		e.do("", "GET", "/readyz", nil).json(t, &ready)
		return ready.Head
	}
	before := head()
	raw, err := json.Marshal(e.srv.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	expectProblem := func(what string, r response, status int, location string) {
		t.Helper()
		if r.Status != status {
			t.Errorf("%s: got %d, want %d: %.300s", what, r.Status, status, r.Body)
			return
		}
		p := r.problem(t)
		if location == "" {
			return
		}
		found := strings.Contains(p.Detail, location)
		for _, fe := range p.Errors {
			found = found || strings.HasPrefix(fe.Location, location)
		}
		if !found {
			t.Errorf("%s: the problem does not name %s: %+v", what, location, p)
		}
	}
	commands := 0
	for path, methods := range doc.Paths {
		if _, ok := methods["post"]; ok && strings.HasPrefix(path, "/v1/commands/") {
			commands++
			post := func(body []byte, ct string) response {
				return e.do("nadia", "POST", path, body, "Idempotency-Key", key(), "Content-Type", ct)
			}
			expectProblem(path+" malformed JSON", post([]byte(`{"case_id": `), "application/json"), 400, "body")
			expectProblem(path+" wrong type", post([]byte(`{"occurred_at": 12}`), "application/json"), 422, "body")
			expectProblem(path+" unknown field", post([]byte(`{"colour": "red"}`), "application/json"), 422, "body")
			expectProblem(path+" empty object", post([]byte(`{}`), "application/json"), 422, "body")
			expectProblem(path+" content type", post([]byte(`case_id=1`), "application/x-www-form-urlencoded"), 415, "")
			big := bytes.Repeat([]byte("a"), 2<<20)
			expectProblem(path+" oversize", post(append(append([]byte(`{"text":"`), big...), `"}`...), "application/json"), 413, "")
			expectProblem(path+" no key", e.do("nadia", "POST", path, []byte(`{}`)), 422, "header.Idempotency-Key")
		}
		if _, ok := methods["get"]; ok && strings.Contains(path, "{id}") {
			p := strings.Replace(path, "{id}", "not-a-uuid", 1)
			p = strings.Replace(p, "{sha256}", strings.Repeat("a", 64), 1)
			expectProblem("GET "+p, e.do("nadia", "GET", p, nil), 422, "path.id")
		}
	}
	if commands < 30 {
		t.Fatalf("%d commands in the document, want every domain command", commands)
	}
	for _, p := range []string{"/v1/cases", "/v1/exhibits", "/v1/holdings", "/v1/transfers/pending", "/v1/discrepancies", "/v1/feed", "/v1/lab/queue", "/v1/statistics"} {
		expectProblem(p+" bad cursor", e.do("nadia", "GET", p+"?cursor=bm90LWEtY3Vyc29y", nil), 422, "query.cursor")
		expectProblem(p+" limit", e.do("nadia", "GET", p+"?limit=100000", nil), 422, "query.limit")
		expectProblem(p+" min_position", e.do("nadia", "GET", p+"?min_position=-3", nil), 422, "query.min_position")
	}
	expectProblem("exhibits bad case_id", e.do("nadia", "GET", "/v1/exhibits?case_id=nope", nil), 422, "query.case_id")
	expectProblem("inclusion without index", e.do("", "GET", "/v1/log/proofs/inclusion", nil), 422, "query.index")
	expectProblem("verify garbage", e.do("", "POST", "/v1/verify", []byte(`{"format":"nope"}`)), 422, "body")
	expectProblem("upload wrong type", e.do("nadia", "POST", "/v1/cases/"+caseID+"/attachments", []byte("MZ\x90\x00binary"), "Content-Type", "application/x-msdownload"), 422, "header.Content-Type")
	expectProblem("upload lying type", e.do("nadia", "POST", "/v1/cases/"+caseID+"/attachments", []byte("plain text, not a PNG"), "Content-Type", "image/png"), 422, "body")
	expectProblem("If-Match garbage", e.do("nadia", "POST", "/v1/commands/add-annotation", map[string]any{"exhibit_id": caseID, "kind": "note", "text": "x"}, "Idempotency-Key", key(), "If-Match", "W/abc"), 422, "header.If-Match")
	if after := head(); after != before {
		t.Fatalf("bad requests wrote events: head %d -> %d", before, after)
	}
}
