package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scelle-ledger/scelle/api"
)

// The fixtures of TestAuthzMatrix (authz_matrix_test.go): the server, its
// cases and exhibits, and per operation the request each caller sends.

// matrix holds the server, the cases and the fixtures of the test.
type matrix struct {
	e   *env
	seq atomic.Int64
	pos atomic.Uint64 // highest global position written
	n   atomic.Int64  // requests sent

	readCase, readSeizure, poolCase, attSHA string
	readEx                                  []string
	bundle                                  []byte
	markers                                 []string // what a foreign agency must never see

	sealed, unsealed []string                       // fresh exhibits of the pool case, held by own
	seals            map[string]string              // exhibit -> its seal
	dedicated        map[string]string              // reusable exhibit per purpose
	ghosts           map[string]map[string][]string // per operation and difference, the foreign roles that see it
}

func (m *matrix) uniq(prefix string) string { return fmt.Sprintf("%s-%d", prefix, m.seq.Add(1)) }

func (m *matrix) note(b []byte) {
	var r struct{ Position uint64 }
	if json.Unmarshal(b, &r) == nil {
		for cur := m.pos.Load(); r.Position > cur && !m.pos.CompareAndSwap(cur, r.Position); cur = m.pos.Load() {
		}
	}
}

// call sends one request as user ("" for anonymous) and checks the status
// against the OpenAPI document; failures are reported on t.
func (m *matrix) call(t *testing.T, user, method, path string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	m.n.Add(1)
	req, err := http.NewRequest(method, m.e.http.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+m.e.tokens[user])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ok, known := m.e.spec.declared(method, path, res.StatusCode); known && !ok {
		t.Errorf("%s %s answered %d, which the OpenAPI document does not declare: %.300s", method, path, res.StatusCode, b)
	}
	if res.StatusCode < 300 && method == http.MethodPost {
		m.note(b)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// run posts a setup command, which must succeed.
func (m *matrix) run(t *testing.T, user, name string, body any) api.CommandResult {
	t.Helper()
	r := m.call(t, user, "POST", "/v1/commands/"+name, body, "Idempotency-Key", key())
	if r.Status != 200 {
		t.Fatalf("setup %s as %s: %d %s", name, user, r.Status, r.Body)
	}
	var res api.CommandResult
	r.json(t, &res)
	return res
}

// noTrace fails when a foreign agency's response carries anything of the
// matrix's cases.
func (m *matrix) noTrace(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, mk := range m.markers {
		if bytes.Contains(b, []byte(mk)) {
			t.Errorf("LEAK %s: the foreign agency's response contains %q: %.300s", what, mk, b)
			return
		}
	}
}

func mxWeighing(net int64) map[string]any {
	return map[string]any{"gross_mg": net + 10000, "net_mg": net, "tare_mg": 10000, "uncertainty_mg": 1000,
		"scale_id": "NDR-SC-01", "calibration_ref": "CAL-NDR-2026"}
}

// seizure is a record-seizure body of n exhibits, sealed or not, weighed.
func (m *matrix) seizure(caseID, user, agency, pv string, n int, sealed bool) map[string]any {
	now := time.Now().UTC()
	var xs []map[string]any
	for range n {
		x := map[string]any{"label": m.uniq("bale"), "category": "bale", "presumed_substance": "matrixium resin",
			"unit_count": 1, "weighing": mxWeighing(1000000)}
		if sealed {
			x["seal_number"] = m.uniq("MX-SEAL")
		}
		xs = append(xs, x)
	}
	return map[string]any{
		"case_id": caseID, "record_number": pv, "seized_at": now.Add(-2 * time.Hour), "closed_at": now.Add(-time.Hour),
		"place": map[string]any{"name": "Quai Matrix", "country": "MA", "code": "MANDR"},
		"cause": "targeting", "detection_method": "dog", "officers": []string{user},
		"holder_present": true, "custodian": map[string]any{"agency": agency}, "exhibits": xs,
	}
}

// refill records a seizure of fresh exhibits held by the own agency.
func (m *matrix) refill(t *testing.T, sealed bool) {
	t.Helper()
	body := m.seizure(m.poolCase, "own-officer", mxOwn, "PV-MX-POOL", 40, sealed)
	res := m.run(t, "own-officer", "record-seizure", body)
	ids := exhibitsOf(res)
	for i, id := range ids {
		m.markers = append(m.markers, id)
		if sealed {
			m.seals[id] = body["exhibits"].([]map[string]any)[i]["seal_number"].(string)
			m.sealed = append(m.sealed, id)
		} else {
			m.unsealed = append(m.unsealed, id)
		}
	}
}

// fresh returns an exhibit of the pool case nobody used: sealed and
// weighed, or only weighed.
func (m *matrix) fresh(t *testing.T, sealed bool) string {
	t.Helper()
	pool := &m.unsealed
	if sealed {
		pool = &m.sealed
	}
	if len(*pool) == 0 {
		m.refill(t, sealed)
	}
	x := (*pool)[0]
	*pool = (*pool)[1:]
	return x
}

// reusable returns the exhibit kept for one purpose (a command that may be
// repeated on it), preparing it on first use.
func (m *matrix) reusable(t *testing.T, purpose string, sealed bool, prepare func(x string)) string {
	t.Helper()
	if x, ok := m.dedicated[purpose]; ok {
		return x
	}
	x := m.fresh(t, sealed)
	if prepare != nil {
		prepare(x)
	}
	m.dedicated[purpose] = x
	return x
}

func newMatrix(t *testing.T) *matrix {
	e := newEnv(t)
	m := &matrix{e: e, seals: map[string]string{}, dedicated: map[string]string{}, ghosts: map[string]map[string][]string{}}
	ctx, now := context.Background(), time.Now()
	for _, a := range []api.Agency{
		{Code: mxOwn, Name: "Douane Nador", Country: "MA", Kind: "customs"},
		{Code: mxShared, Name: "OCRTIS Paris", Country: "FR", Kind: "police"},
		{Code: mxForeign, Name: "Guardia Civil Algeciras", Country: "ES", Kind: "customs"},
		{Code: mxRevoked, Name: "Laboratoire Lyon", Country: "FR", Kind: "lab"},
	} {
		if err := e.auth.AddAgency(ctx, a, now); err != nil {
			t.Fatal(err)
		}
	}
	users := []api.User{{ID: "revoked-officer", Agency: mxRevoked, Roles: []string{"officer"}}}
	for _, rel := range mxRelations {
		for _, role := range mxRoles {
			users = append(users, api.User{ID: rel + "-" + role, Agency: mxAgency[rel], Roles: []string{role}})
		}
	}
	for _, u := range users {
		if err := e.auth.AddUser(ctx, u, now); err != nil {
			t.Fatal(err)
		}
		_, secret, err := e.auth.IssueToken(ctx, u.ID, "matrix", time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[u.ID] = secret
	}
	open := func(ref string) string {
		res := m.run(t, "own-officer", "open-case", map[string]any{"reference": ref, "country": "MA",
			"legal_framework": "customs", "supervising_agency": mxSupervising})
		id := res.Created[0].ID.String()
		m.run(t, "own-magistrate", "share-case", map[string]any{"case_id": id, "agency": mxShared, "country": "FR", "legal_basis": "EIM-MX-0001"})
		return id
	}
	// The read case: one seizure of two exhibits, an attachment, an open
	// discrepancy, a pending transfer to the shared agency.
	m.readCase = open("MX-READ-REF")
	res := m.run(t, "own-officer", "record-seizure", m.seizure(m.readCase, "own-officer", mxOwn, "PV-MX-READ", 2, true))
	m.readEx = exhibitsOf(res)
	for _, c := range res.Created {
		if c.Kind == "seizure" {
			m.readSeizure = c.ID.String()
		}
	}
	m.run(t, "own-custodian", "raise-discrepancy", map[string]any{"exhibit_id": m.readEx[0], "kind": "other", "detail": "label torn"})
	m.run(t, "own-custodian", "store-exhibit", map[string]any{"exhibit_id": m.readEx[0], "location": "NDR/READ-SHELF"})
	m.run(t, "own-custodian", "offer-transfer", map[string]any{"exhibit_id": m.readEx[1], "to": map[string]any{"agency": mxShared},
		"purpose": "analysis", "authority_ref": "EIM-MX-0001"})
	up := m.call(t, "own-officer", "POST", "/v1/cases/"+m.readCase+"/attachments?filename=pv.txt", []byte("PV-MX-READ scanned\n"), "Content-Type", "text/plain")
	if up.Status != 200 {
		t.Fatalf("upload: %d %s", up.Status, up.Body)
	}
	var att struct{ SHA256 string }
	up.json(t, &att)
	m.attSHA = att.SHA256
	// The pool case: fresh exhibits for the commands, made as needed.
	m.poolCase = open("MX-POOL-REF")
	m.markers = append(m.markers, m.readCase, m.poolCase, m.readSeizure, m.attSHA, m.readEx[0], m.readEx[1],
		"MX-READ-REF", "MX-POOL-REF", "PV-MX-", "matrixium", "Quai Matrix", "MX-SEAL")
	b := m.call(t, "own-officer", "GET", "/v1/exhibits/"+m.readEx[0]+"/bundle", nil)
	if b.Status != 200 {
		t.Fatalf("bundle: %d %s", b.Status, b.Body)
	}
	m.bundle = b.Body
	return m
}

// seal of an exhibit as seen intact.
func (m *matrix) intact(x string) map[string]any {
	return map[string]any{"number": m.seals[x], "condition": "intact"}
}

// offer offers x to the shared agency, as the own custodian; it returns
// the transfer's ID.
func (m *matrix) offer(t *testing.T, x string) any {
	res := m.run(t, "own-custodian", "offer-transfer", map[string]any{"exhibit_id": x, "to": map[string]any{"agency": mxShared},
		"purpose": "analysis", "authority_ref": "EIM-MX-0001"})
	return payloadOf(t, res, "TransferOffered")["transfer_id"]
}

// authorise orders the disposal of x, its challenge deadline passed.
func (m *matrix) authorise(t *testing.T, x, method string) {
	now := time.Now().UTC()
	m.run(t, "own-magistrate", "authorise-disposal", map[string]any{"exhibit_id": x, "order_ref": m.uniq("ORD-MX"), "method": method,
		"notified_at": now.Add(-2 * time.Hour), "challenge_deadline": now.Add(-time.Minute), "retain_sample": false})
}

func (m *matrix) report() map[string]any {
	return map[string]any{"lab_case_number": "LAB-MX-1", "net_mg": 1000000, "net_uncertainty_mg": 1000,
		"substances": []map[string]any{{"name": "cannabis resin", "purity_bp": 2750, "uncertainty_bp": 150}},
		"techniques": []string{"GC-MS"}, "reviewer": "someone-else", "report_digest": strings.Repeat("ab", 32)}
}

func (m *matrix) receipt(t *testing.T, x string) {
	m.run(t, "own-analyst", "record-lab-receipt", map[string]any{"exhibit_id": x, "lab_case_number": "LAB-MX-1",
		"seal": m.intact(x), "packaging_condition": "intact"})
}

// mxCommands builds, per command, a body that the documented "who" may
// send with success: a fresh exhibit (transfer, hold, share...) when the
// command changes what it acts on, else an exhibit kept for that command.
var mxCommands = map[string]func(m *matrix, t *testing.T, c cell) map[string]any{
	"open-case": func(m *matrix, t *testing.T, c cell) map[string]any {
		return map[string]any{"reference": m.uniq("OPEN-" + c.rel), "country": "MA", "legal_framework": "customs"}
	},
	"share-case": func(m *matrix, t *testing.T, c cell) map[string]any {
		return map[string]any{"case_id": m.poolCase, "agency": m.uniq("XX-THIRD"), "country": "ES", "legal_basis": "MLA-MX-2"}
	},
	"revoke-case-sharing": func(m *matrix, t *testing.T, c cell) map[string]any {
		third := m.uniq("XX-THIRD")
		m.run(t, "own-magistrate", "share-case", map[string]any{"case_id": m.poolCase, "agency": third, "country": "ES", "legal_basis": "MLA-MX-2"})
		return map[string]any{"case_id": m.poolCase, "agency": third, "reason": "mission over"}
	},
	"close-case": func(m *matrix, t *testing.T, c cell) map[string]any {
		res := m.run(t, "own-officer", "open-case", map[string]any{"reference": m.uniq("MX-CLOSE"), "country": "MA",
			"legal_framework": "customs", "supervising_agency": mxSupervising})
		id := res.Created[0].ID.String()
		m.markers = append(m.markers, id)
		m.run(t, "own-magistrate", "share-case", map[string]any{"case_id": id, "agency": mxShared, "country": "FR", "legal_basis": "EIM-MX-0001"})
		return map[string]any{"case_id": id, "reason": "judgment final"}
	},
	"place-hold": func(m *matrix, t *testing.T, c cell) map[string]any {
		return map[string]any{"case_id": m.poolCase, "exhibit_id": m.reusable(t, "hold", true, nil), "reason": "appeal pending"}
	},
	"release-hold": func(m *matrix, t *testing.T, c cell) map[string]any {
		x := m.reusable(t, "release-hold", true, nil)
		res := m.run(t, "own-magistrate", "place-hold", map[string]any{"case_id": m.poolCase, "exhibit_id": x, "reason": "appeal pending"})
		return map[string]any{"case_id": m.poolCase, "exhibit_id": x, "hold_id": payloadOf(t, res, "HoldPlaced")["hold_id"], "reason": "appeal lost"}
	},
	"record-seizure": func(m *matrix, t *testing.T, c cell) map[string]any {
		return m.seizure(m.poolCase, c.user, c.agency, "PV-MX-CELL", 1, false)
	},
	"seal-exhibit": func(m *matrix, t *testing.T, c cell) map[string]any {
		return map[string]any{"exhibit_id": m.fresh(t, false), "seal_number": m.uniq("MX-SEAL")}
	},
	"weigh-exhibit": func(m *matrix, t *testing.T, c cell) map[string]any {
		return map[string]any{"exhibit_id": m.reusable(t, "weigh", true, nil), "purpose": "control", "weighing": mxWeighing(1000000)}
	},
	"inspect-seal": func(m *matrix, t *testing.T, c cell) map[string]any {
		x := m.reusable(t, "inspect", true, nil)
		return map[string]any{"exhibit_id": x, "seal": m.intact(x)}
	},
	"open-seal": func(m *matrix, t *testing.T, c cell) map[string]any {
		return map[string]any{"exhibit_id": m.fresh(t, true), "purpose": "sampling", "authority_ref": "ORD-MX-OPEN"}
	},
	"reseal-exhibit": func(m *matrix, t *testing.T, c cell) map[string]any {
		x := m.fresh(t, true)
		m.run(t, "own-custodian", "open-seal", map[string]any{"exhibit_id": x, "purpose": "sampling", "authority_ref": "ORD-MX-OPEN"})
		return map[string]any{"exhibit_id": x, "seal_number": m.uniq("MX-SEAL")}
	},
	"store-exhibit": func(m *matrix, t *testing.T, c cell) map[string]any {
		return map[string]any{"exhibit_id": m.reusable(t, "store", true, nil), "location": "NDR/VAULT-B"}
	},
	"offer-transfer": func(m *matrix, t *testing.T, c cell) map[string]any {
		return map[string]any{"exhibit_id": m.fresh(t, true), "to": map[string]any{"agency": mxShared}, "purpose": "analysis", "authority_ref": "EIM-MX-0001"}
	},
	"accept-transfer": func(m *matrix, t *testing.T, c cell) map[string]any {
		x := m.fresh(t, true)
		return map[string]any{"exhibit_id": x, "transfer_id": m.offer(t, x), "seal": m.intact(x)}
	},
	"reject-transfer": func(m *matrix, t *testing.T, c cell) map[string]any {
		x := m.fresh(t, true)
		return map[string]any{"exhibit_id": x, "transfer_id": m.offer(t, x), "reason": "not the exhibit announced"}
	},
	"cancel-transfer": func(m *matrix, t *testing.T, c cell) map[string]any {
		x := m.fresh(t, true)
		return map[string]any{"exhibit_id": x, "transfer_id": m.offer(t, x), "reason": "withdrawn"}
	},
	"check-out": func(m *matrix, t *testing.T, c cell) map[string]any {
		return map[string]any{"exhibit_id": m.fresh(t, true), "to": map[string]any{"agency": mxShared}, "purpose": "hearing",
			"due_at": time.Now().UTC().Add(48 * time.Hour)}
	},
	"check-in": func(m *matrix, t *testing.T, c cell) map[string]any {
		x := m.fresh(t, true)
		m.run(t, "own-custodian", "check-out", map[string]any{"exhibit_id": x, "to": map[string]any{"agency": mxShared}, "purpose": "hearing",
			"due_at": time.Now().UTC().Add(48 * time.Hour)})
		return map[string]any{"exhibit_id": x, "seal": m.intact(x)}
	},
	"take-sub-sample": func(m *matrix, t *testing.T, c cell) map[string]any {
		return map[string]any{"exhibit_id": m.reusable(t, "sample", false, nil), "label": m.uniq("sample"), "purpose": "analysis",
			"seal_number": m.uniq("MX-SEAL"), "weighing": map[string]any{"gross_mg": 1100, "net_mg": 1000, "tare_mg": 100,
				"uncertainty_mg": 10, "scale_id": "NDR-SC-02", "calibration_ref": "CAL-NDR-2026"}}
	},
	"record-lab-receipt": func(m *matrix, t *testing.T, c cell) map[string]any {
		x := m.fresh(t, true)
		return map[string]any{"exhibit_id": x, "lab_case_number": "LAB-MX-1", "seal": m.intact(x), "packaging_condition": "intact"}
	},
	"report-analysis": func(m *matrix, t *testing.T, c cell) map[string]any {
		x := m.reusable(t, "report", true, func(x string) { m.receipt(t, x) })
		return map[string]any{"exhibit_id": x, "report": m.report()}
	},
	"amend-report": func(m *matrix, t *testing.T, c cell) map[string]any {
		x := m.reusable(t, "amend", true, func(x string) {
			m.receipt(t, x)
			res := m.run(t, "own-analyst", "report-analysis", map[string]any{"exhibit_id": x, "report": m.report()})
			m.dedicated["amend-report-id"] = payloadOf(t, res, "AnalysisReported")["report_id"].(string)
		})
		return map[string]any{"exhibit_id": x, "report_id": m.dedicated["amend-report-id"], "reason": "typo in the lab case number", "report": m.report()}
	},
	"raise-discrepancy": func(m *matrix, t *testing.T, c cell) map[string]any {
		return map[string]any{"exhibit_id": m.reusable(t, "raise", true, nil), "kind": "other", "detail": "label torn"}
	},
	"resolve-discrepancy": func(m *matrix, t *testing.T, c cell) map[string]any {
		x := m.reusable(t, "resolve", true, nil)
		res := m.run(t, "own-custodian", "raise-discrepancy", map[string]any{"exhibit_id": x, "kind": "other", "detail": "label torn"})
		return map[string]any{"exhibit_id": x, "discrepancy_id": payloadOf(t, res, "DiscrepancyRaised")["discrepancy_id"], "resolution": "relabelled"}
	},
	"audit-inventory": func(m *matrix, t *testing.T, c cell) map[string]any {
		return map[string]any{"exhibit_id": m.reusable(t, "audit", true, nil), "inventory_ref": "INV-MX-1", "found": true}
	},
	"add-annotation": func(m *matrix, t *testing.T, c cell) map[string]any {
		return map[string]any{"exhibit_id": m.reusable(t, "annotate", true, nil), "kind": "note", "text": "seen"}
	},
	"authorise-disposal": func(m *matrix, t *testing.T, c cell) map[string]any {
		now := time.Now().UTC()
		return map[string]any{"exhibit_id": m.fresh(t, true), "order_ref": m.uniq("ORD-MX"), "method": "destruction",
			"notified_at": now.Add(-2 * time.Hour), "challenge_deadline": now.Add(-time.Minute), "retain_sample": false}
	},
	"destroy-exhibit": func(m *matrix, t *testing.T, c cell) map[string]any {
		x := m.fresh(t, true)
		m.authorise(t, x, "destruction")
		w := mxWeighing(1000000)
		w["holder_present"] = true
		m.run(t, "own-custodian", "weigh-exhibit", map[string]any{"exhibit_id": x, "purpose": "pre-destruction", "weighing": w})
		return map[string]any{"exhibit_id": x, "method": "incineration", "site": "NDR incinerator",
			"witnesses": []map[string]any{{"ref": "W-MX-1", "kind": "official"}, {"ref": "W-MX-2", "kind": "official"}}}
	},
	"return-exhibit": func(m *matrix, t *testing.T, c cell) map[string]any {
		x := m.fresh(t, true)
		m.authorise(t, x, "return")
		return map[string]any{"exhibit_id": x, "returned_to": "OWNER-MX-1"}
	},
	"release-exhibit": func(m *matrix, t *testing.T, c cell) map[string]any {
		x := m.fresh(t, true)
		m.authorise(t, x, "release")
		return map[string]any{"exhibit_id": x, "released_to": "OWNER-MX-1", "reason": "no offence"}
	},
}

func getPath(path func(m *matrix) string) func(m *matrix, c cell) (string, string, []byte, []string) {
	return func(m *matrix, c cell) (string, string, []byte, []string) { return "GET", path(m), nil, nil }
}

// mxReads: every read, aimed at the read case, with filters naming the
// own and shared agencies so that a foreign agency has every chance to
// see something it must not.
var mxReads = map[string]*mxRead{
	"get-case":                {req: getPath(func(m *matrix) string { return "/v1/cases/" + m.readCase + m.minPos() })},
	"get-case-history":        {req: getPath(func(m *matrix) string { return "/v1/cases/" + m.readCase + "/history" })},
	"get-seizure":             {req: getPath(func(m *matrix) string { return "/v1/seizures/" + m.readSeizure + m.minPos() })},
	"get-seizure-history":     {req: getPath(func(m *matrix) string { return "/v1/seizures/" + m.readSeizure + "/history" })},
	"get-exhibit":             {req: getPath(func(m *matrix) string { return "/v1/exhibits/" + m.readEx[0] + m.minPos() })},
	"get-exhibit-history":     {req: getPath(func(m *matrix) string { return "/v1/exhibits/" + m.readEx[0] + "/history" })},
	"download-exhibit-bundle": {req: getPath(func(m *matrix) string { return "/v1/exhibits/" + m.readEx[0] + "/bundle" })},
	"download-case-bundle":    {req: getPath(func(m *matrix) string { return "/v1/cases/" + m.readCase + "/bundle" })},
	"download-attachment":     {req: getPath(func(m *matrix) string { return "/v1/cases/" + m.readCase + "/attachments/" + m.attSHA })},
	"upload-attachment": {req: func(m *matrix, c cell) (string, string, []byte, []string) {
		return "POST", "/v1/cases/" + m.readCase + "/attachments?filename=note.txt", []byte("note by " + c.user + "\n"), []string{"Content-Type", "text/plain"}
	}},
	"list-cases":    {req: getPath(func(m *matrix) string { return "/v1/cases" + m.minPos() }), contains: func(m *matrix) string { return m.readCase }},
	"list-exhibits": {req: getPath(func(m *matrix) string { return "/v1/exhibits" + m.minPos() + "&case_id=" + m.readCase }), contains: func(m *matrix) string { return m.readEx[0] }},
	"list-holdings": {req: getPath(func(m *matrix) string {
		return "/v1/holdings" + m.minPos() + "&agency=" + mxOwn + "&location=NDR/READ-SHELF"
	}), contains: func(m *matrix) string { return m.readEx[0] }},
	"list-pending-transfers": {req: getPath(func(m *matrix) string {
		return "/v1/transfers/pending" + m.minPos() + "&from_agency=" + mxOwn + "&to_agency=" + mxShared
	}), contains: func(m *matrix) string { return m.readEx[1] }},
	"list-lab-queue":         {req: getPath(func(m *matrix) string { return "/v1/lab/queue" + m.minPos() + "&lab=" + mxOwn })},
	"get-lab-turnaround":     {req: getPath(func(m *matrix) string { return "/v1/lab/turnaround?lab=" + mxOwn })},
	"list-overdue-checkouts": {req: getPath(func(m *matrix) string { return "/v1/checkouts/overdue" + m.minPos() })},
	"list-open-discrepancies": {req: getPath(func(m *matrix) string {
		return "/v1/discrepancies" + m.minPos() + "&include_resolved=true&case_id=" + m.readCase
	}), contains: func(m *matrix) string { return m.readEx[0] }},
	"get-statistics": {req: getPath(func(m *matrix) string {
		return "/v1/statistics" + m.minPos() + "&group_by=substance&group_by=place&group_by=agency"
	}), contains: func(m *matrix) string { return "matrixium" }},
	"list-feed": {req: getPath(func(m *matrix) string { return "/v1/feed" + m.minPos() + "&limit=500&case_id=" + m.readCase }), contains: func(m *matrix) string { return m.readCase }},
	"feed":      {req: getPath(func(m *matrix) string { return "/v1/feed/stream" })},
	"whoami":    {req: getPath(func(m *matrix) string { return "/v1/whoami" })},
	// public
	"get-checkpoint":        {req: getPath(func(m *matrix) string { return "/v1/log/checkpoint" })},
	"get-log-keys":          {req: getPath(func(m *matrix) string { return "/v1/log/keys" })},
	"get-inclusion-proof":   {req: getPath(func(m *matrix) string { return "/v1/log/proofs/inclusion?index=0&size=2" })},
	"get-consistency-proof": {req: getPath(func(m *matrix) string { return "/v1/log/proofs/consistency?from=1&to=2" })},
	"healthz":               {req: getPath(func(m *matrix) string { return "/healthz" })},
	"readyz":                {req: getPath(func(m *matrix) string { return "/readyz" })},
	"verify-bundle": {req: func(m *matrix, c cell) (string, string, []byte, []string) {
		return "POST", "/v1/verify", m.bundle, nil
	}},
}

func (m *matrix) minPos() string { return fmt.Sprintf("?min_position=%d", m.pos.Load()) }
