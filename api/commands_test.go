package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scelle-ledger/scelle/api"
)

// cmd posts a command and fails the test unless the status is want.
func (e *env) cmd(user, name string, body any, want int, headers ...string) response {
	e.t.Helper()
	h := append([]string{"Idempotency-Key", key()}, headers...)
	r := e.do(user, "POST", "/v1/commands/"+name, body, h...)
	if r.Status != want {
		e.t.Fatalf("%s as %s: got %d, want %d: %s", name, user, r.Status, want, r.Body)
	}
	return r
}

func (e *env) result(r response) api.CommandResult {
	e.t.Helper()
	var res api.CommandResult
	r.json(e.t, &res)
	return res
}

func openCase(e *env, user, ref string) string {
	e.t.Helper()
	r := e.cmd(user, "open-case", map[string]any{
		"reference": ref, "country": "MA", "legal_framework": "customs", "supervising_agency": "MA-PARQUET-TNG",
	}, 200)
	res := e.result(r)
	if len(res.Created) != 1 || res.Created[0].Kind != "case" {
		e.t.Fatalf("open-case: created %+v", res.Created)
	}
	return res.Created[0].ID.String()
}

func seizureBody(caseID string, n int) map[string]any {
	now := time.Now().UTC().Add(-time.Hour)
	var exhibits []map[string]any
	for i := 1; i <= n; i++ {
		exhibits = append(exhibits, map[string]any{
			"label": fmt.Sprintf("%d of %d", i, n), "category": "bale", "presumed_substance": "cannabis resin",
			"unit_count": 1, "seal_number": fmt.Sprintf("MA-S-00912%02d", i),
			"weighing": map[string]any{"gross_mg": 31000000, "net_mg": 30500000, "tare_mg": 500000, "uncertainty_mg": 5000,
				"scale_id": "TGM-SC-04", "calibration_ref": "CAL-2026-117"},
		})
	}
	return map[string]any{
		"case_id": caseID, "record_number": "PV-2026-0412", "seized_at": now.Add(-time.Hour), "closed_at": now,
		"place": map[string]any{"name": "Port de Tanger Med", "country": "MA", "code": "MAPTM"},
		"cause": "scanner", "detection_method": "x-ray scan", "officers": []string{"nadia", "youssef"},
		"holder_present": true, "custodian": map[string]any{"agency": "MA-DOUANE-TGM"},
		"exhibits": exhibits,
	}
}

func recordSeizure(e *env, caseID string, n int) api.CommandResult {
	e.t.Helper()
	return e.result(e.cmd("nadia", "record-seizure", seizureBody(caseID, n), 200))
}

func exhibitsOf(res api.CommandResult) []string {
	var out []string
	for _, c := range res.Created {
		if c.Kind == "exhibit" {
			out = append(out, c.ID.String())
		}
	}
	return out
}

func TestCommands_openRecordSeal(t *testing.T) {
	e := newEnv(t)
	caseID := openCase(e, "nadia", "MA-TGM-2026-0412")
	res := recordSeizure(e, caseID, 3)
	ex := exhibitsOf(res)
	if len(ex) != 3 {
		t.Fatalf("record-seizure created %+v, want 3 exhibits", res.Created)
	}
	if res.Position == 0 || len(res.Events) == 0 {
		t.Fatalf("record-seizure: %+v", res)
	}
	// A foreign agency cannot tell the case exists.
	r := e.cmd("claire", "seal-exhibit", map[string]any{"exhibit_id": ex[0], "seal_number": "FR-1"}, 404)
	if p := r.problem(t); p.Status != 404 {
		t.Fatalf("foreign seal: %+v", p)
	}
	// Unknown field, missing field: 422 naming the field.
	r = e.cmd("nadia", "open-case", map[string]any{"reference": "X", "country": "MA", "legal_framework": "customs", "colour": "red"}, 422)
	if p := r.problem(t); len(p.Errors) == 0 || !strings.Contains(p.Errors[0].Location+p.Errors[0].Message, "colour") {
		t.Fatalf("unknown field: %+v", p)
	}
	r = e.cmd("nadia", "open-case", map[string]any{"reference": "X", "country": "MA", "legal_framework": "martial"}, 422)
	if p := r.problem(t); len(p.Errors) == 0 || !strings.Contains(p.Errors[0].Location, "legal_framework") {
		t.Fatalf("bad enum: %+v", p)
	}
	// Role refused by the domain: 403.
	e.cmd("salma", "open-case", map[string]any{"reference": "X", "country": "MA", "legal_framework": "customs"}, 403)
	// No Idempotency-Key: 422 naming the header.
	r = e.do("nadia", "POST", "/v1/commands/open-case", map[string]any{"reference": "X", "country": "MA", "legal_framework": "customs"})
	if p := r.problem(t); r.Status != 422 || !strings.Contains(fmt.Sprint(p.Errors), "Idempotency-Key") {
		t.Fatalf("no key: %d %+v", r.Status, p)
	}
}

func TestCommands_idempotency(t *testing.T) {
	e := newEnv(t)
	caseID := openCase(e, "nadia", "MA-TGM-2026-0412")
	body := seizureBody(caseID, 2)
	k := key()
	const n = 10
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.do("nadia", "POST", "/v1/commands/record-seizure", body, "Idempotency-Key", k)
		}()
	}
	wg.Wait()
	first := e.result(results[0])
	for i, r := range results {
		if r.Status != 200 {
			t.Fatalf("retry %d: got %d: %s", i, r.Status, r.Body)
		}
		if got := e.result(r); got.Position != first.Position || len(got.Events) != len(first.Events) || got.Events[0].ID != first.Events[0].ID {
			t.Fatalf("retry %d: got %+v, want %+v", i, got, first)
		}
	}
	// One set of events: the store holds the case's event plus one seizure's.
	all := e.do("", "GET", "/readyz", nil)
	var ready struct{ Head int64 }
	all.json(t, &ready)
	if want := int64(len(first.Events)); ready.Head != want { // case opened at 0, seizure events 1..n
		t.Fatalf("store head: got %d, want %d", ready.Head, want)
	}
	// Same key, other body: 422.
	body["record_number"] = "PV-OTHER"
	r := e.do("nadia", "POST", "/v1/commands/record-seizure", body, "Idempotency-Key", k)
	if p := r.problem(t); r.Status != http.StatusUnprocessableEntity || !strings.HasSuffix(p.Type, "idempotency-key-reused") {
		t.Fatalf("same key, other body: %d %+v", r.Status, p)
	}
}
