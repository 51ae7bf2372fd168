package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAuthz_matrix: operations × roles × own / supervising / shared /
// foreign agency. A foreign agency gets 404 (never a hint that the case
// exists) and sees nothing of it in lists, bundles, attachments or the
// feed; an admin manages users, never cases (403).
func TestAuthz_matrix(t *testing.T) {
	e := newEnv(t)
	caseID := openCase(e, "nadia", "MA-TGM-2026-0412")
	ex := exhibitsOf(recordSeizure(e, caseID, 1))[0]
	shared := e.result(e.cmd("idriss", "share-case", map[string]any{"case_id": caseID, "agency": "FR-JI-MRS", "country": "FR", "legal_basis": "EIM-2026-FR-MA-0088"}, 200))
	up := e.do("nadia", "POST", "/v1/cases/"+caseID+"/attachments?filename=pv.txt", []byte("PV-2026-0412 scanned\n"), "Content-Type", "text/plain")
	if up.Status != 200 {
		t.Fatalf("upload: %d %s", up.Status, up.Body)
	}
	var att struct {
		SHA256 string `json:"sha256"`
	}
	up.json(t, &att)

	// who: own agency (officer, custodian, auditor), supervising magistrate,
	// shared magistrate, foreign analyst and officer, admin.
	users := []string{"nadia", "karim", "audrey", "idriss", "helene", "julien", "claire", "admin"}
	const (
		ok  = 200
		nf  = 404
		fb  = 403
		rul = 409
	)
	reads := []struct {
		name, path string
		want       []int // per user, in users' order
	}{
		{"get-case", "/v1/cases/" + caseID, []int{ok, ok, ok, ok, ok, nf, nf, fb}},
		{"case-history", "/v1/cases/" + caseID + "/history", []int{ok, ok, ok, ok, ok, nf, nf, fb}},
		{"get-exhibit", "/v1/exhibits/" + ex, []int{ok, ok, ok, ok, ok, nf, nf, fb}},
		{"exhibit-history", "/v1/exhibits/" + ex + "/history", []int{ok, ok, ok, ok, ok, nf, nf, fb}},
		{"exhibit-bundle", "/v1/exhibits/" + ex + "/bundle", []int{ok, ok, ok, ok, ok, nf, nf, fb}},
		{"case-bundle", "/v1/cases/" + caseID + "/bundle", []int{ok, ok, ok, ok, ok, nf, nf, fb}},
		{"attachment", "/v1/cases/" + caseID + "/attachments/" + att.SHA256, []int{ok, ok, ok, ok, ok, nf, nf, fb}},
	}
	for _, rd := range reads {
		for i, u := range users {
			r := e.do(u, "GET", rd.path+"?min_position="+itoa(shared.Position), nil)
			if r.Status != rd.want[i] {
				t.Errorf("%s as %s: got %d, want %d: %.200s", rd.name, u, r.Status, rd.want[i], r.Body)
			}
			if r.Status == nf && strings.Contains(string(r.Body), caseID) {
				t.Errorf("%s as %s: the 404 names the case", rd.name, u)
			}
		}
	}
	// Lists and the feed: the foreign agencies see nothing of the case.
	for _, path := range []string{"/v1/cases", "/v1/exhibits", "/v1/feed", "/v1/holdings?agency=MA-DOUANE-TGM", "/v1/discrepancies?include_resolved=true"} {
		for _, u := range []string{"julien", "claire"} {
			r := e.do(u, "GET", path, nil)
			if r.Status != 200 || strings.Contains(string(r.Body), caseID) || strings.Contains(string(r.Body), ex) {
				t.Errorf("%s as %s: %d, leaks the case: %.300s", path, u, r.Status, r.Body)
			}
		}
		if r := e.do("nadia", "GET", path, nil); path != "/v1/discrepancies?include_resolved=true" && !strings.Contains(string(r.Body), caseID) && !strings.Contains(string(r.Body), ex) {
			t.Errorf("%s as nadia: the owner does not see the case: %.300s", path, r.Body)
		}
	}
	// Commands: an annotation (every case role may annotate in the domain),
	// a hold (magistrates only), a storage (the custodian's agency).
	cmds := []struct {
		name string
		body map[string]any
		want []int
	}{
		{"add-annotation", map[string]any{"exhibit_id": ex, "kind": "note", "text": "seen"}, []int{ok, ok, ok, ok, ok, nf, nf, fb}},
		{"place-hold", map[string]any{"case_id": caseID, "reason": "appeal pending", "authority_ref": "ORD-1"}, []int{fb, fb, fb, ok, ok, nf, nf, fb}},
	}
	for _, c := range cmds {
		for i, u := range users {
			r := e.do(u, "POST", "/v1/commands/"+c.name, c.body, "Idempotency-Key", key())
			if r.Status != c.want[i] && !(c.want[i] == ok && r.Status == rul) {
				t.Errorf("%s as %s: got %d, want %d: %.300s", c.name, u, r.Status, c.want[i], r.Body)
			}
		}
	}
	// Anonymous: 401 everywhere but the public integrity endpoints.
	if r := e.do("", "GET", "/v1/cases/"+caseID, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous get-case: %d", r.Status)
	}
	for _, p := range []string{"/v1/log/keys", "/v1/log/proofs/consistency?from=1&to=2"} {
		if r := e.do("", "GET", p, nil); r.Status != 200 {
			t.Errorf("anonymous %s: %d %s", p, r.Status, r.Body)
		}
	}
}

// TestAuthz_everyOperation: every operation that needs an account answers
// 401 without a token and 403 to an admin (admins manage accounts, never
// cases), before looking at the request's body or parameters.
func TestAuthz_everyOperation(t *testing.T) {
	e := newEnv(t)
	raw, err := json.Marshal(e.srv.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string             `json:"operationId"`
			Security    []map[string][]any `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for path, methods := range doc.Paths {
		for method, op := range methods {
			if len(op.Security) == 0 {
				continue
			}
			checked++
			p := strings.NewReplacer("{id}", "00000000-0000-0000-0000-000000000001", "{sha256}", strings.Repeat("a", 64)).Replace(path)
			m := strings.ToUpper(method)
			if r := e.do("", m, p, []byte(`{"not":"valid"}`)); r.Status != http.StatusUnauthorized {
				t.Errorf("%s %s anonymous: got %d, want 401", m, p, r.Status)
			}
			if op.OperationID == "whoami" {
				continue
			}
			if r := e.do("admin", m, p, []byte(`{"not":"valid"}`)); r.Status != http.StatusForbidden {
				t.Errorf("%s %s as admin: got %d, want 403", m, p, r.Status)
			}
		}
	}
	if checked < 45 {
		t.Fatalf("only %d authenticated operations checked", checked)
	}
}
