package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/api"
)

// The three agencies of the matrix (testdata/authz-matrix.txt) and the
// case's supervising office, which has no user here.
const (
	mxOwn         = "MA-DOUANE-NDR"
	mxShared      = "FR-OCRTIS-PAR"
	mxForeign     = "ES-GUARDIA-ALG"
	mxSupervising = "MA-PARQUET-NDR"
	mxRevoked     = "FR-LAB-LYS" // a custodian whose share is revoked (TestAuthzMatrix_revokedHolder)
)

var (
	mxRoles     = []string{"officer", "custodian", "analyst", "magistrate", "auditor", "admin"}
	mxRelations = []string{"own", "shared", "foreign"}
	mxAgency    = map[string]string{"own": mxOwn, "shared": mxShared, "foreign": mxForeign}
)

// mxRow is one line of the table: the expected outcome per role and
// relation, in mxRoles × mxRelations order.
type mxRow struct {
	op   string
	want [6][3]string
	why  string
	line int
}

func loadMatrix(t *testing.T) []mxRow {
	t.Helper()
	raw, err := os.ReadFile("testdata/authz-matrix.txt")
	if err != nil {
		t.Fatal(err)
	}
	var rows []mxRow
	seen := map[string]bool{}
	for i, line := range strings.Split(string(raw), "\n") {
		text, why, _ := strings.Cut(line, "#")
		if strings.TrimSpace(text) == "" {
			continue
		}
		groups := strings.Split(text, "|")
		first := strings.Fields(groups[0])
		if len(groups) != 6 || len(first) != 4 {
			t.Fatalf("authz-matrix.txt:%d: want an operation and 6 groups of 3 outcomes: %q", i+1, line)
		}
		r := mxRow{op: first[0], why: strings.TrimSpace(why), line: i + 1}
		groups[0] = strings.Join(first[1:], " ")
		for g, grp := range groups {
			f := strings.Fields(grp)
			if len(f) != 3 {
				t.Fatalf("authz-matrix.txt:%d: %s group %d has %d outcomes, want 3", i+1, r.op, g+1, len(f))
			}
			for k, o := range f {
				if !slices.Contains([]string{"ok", "403", "404", "rule", "pub"}, o) {
					t.Fatalf("authz-matrix.txt:%d: unknown outcome %q", i+1, o)
				}
				r.want[g][k] = o
			}
		}
		if seen[r.op] {
			t.Fatalf("authz-matrix.txt:%d: %s listed twice", i+1, r.op)
		}
		seen[r.op] = true
		rows = append(rows, r)
	}
	return rows
}

// accepts reports whether status is the outcome o.
func accepts(o string, status int) bool {
	switch o {
	case "ok", "pub":
		return status >= 200 && status < 300
	case "403":
		return status == http.StatusForbidden
	case "404":
		return status == http.StatusNotFound
	case "rule":
		return status == http.StatusConflict || status == http.StatusUnprocessableEntity
	}
	return false
}

// cell is one caller of the matrix.
type cell struct{ role, rel, user, agency string }

func (c cell) String() string { return c.role + " of the " + c.rel + " agency (" + c.user + ")" }

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// ghost replaces every UUID by a random one: the same request aimed at
// things that do not exist.
func ghost(s string) string {
	return uuidPattern.ReplaceAllStringFunc(s, func(string) string { return uuid.NewString() })
}

// compareGhost records a foreign answer about the case that differs from
// the answer to the same request about things that do not exist: status,
// problem type and detail (the request instance aside).
func (m *matrix) compareGhost(op string, c cell, got, absent response) {
	var pr, pa api.Problem
	_ = json.Unmarshal(got.Body, &pr)
	_ = json.Unmarshal(absent.Body, &pa)
	if got.Status == absent.Status && pr.Type == pa.Type && pr.Detail == pa.Detail && pr.Rule == pa.Rule {
		return
	}
	if m.ghosts[op] == nil {
		m.ghosts[op] = map[string][]string{}
	}
	diff := fmt.Sprintf("%d for the case, %d %q for absent IDs", got.Status, absent.Status, pa.Detail)
	m.ghosts[op][diff] = append(m.ghosts[op][diff], c.role)
}

// TestAuthzMatrix checks testdata/authz-matrix.txt: every operation of the
// OpenAPI document, as every role of the owning, a sharing and a foreign
// agency, against expectations taken from the documentation. A foreign
// agency gets 404 for everything about the case, indistinguishable from
// an absent one, and none of its answers (lists, statistics, the feed)
// carries anything of the case.
func TestAuthzMatrix(t *testing.T) {
	m := newMatrix(t)
	rows := loadMatrix(t)

	// Every operation has a row, every row an operation and a request.
	raw, err := json.Marshal(m.e.srv.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string           `json:"operationId"`
			Security    []map[string]any `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	ops, commands := map[string]bool{}, 0
	for path, methods := range doc.Paths {
		for _, op := range methods {
			ops[op.OperationID] = len(op.Security) > 0
			if strings.HasPrefix(path, "/v1/commands/") {
				commands++
				if mxCommands[op.OperationID] == nil {
					t.Errorf("command %s has no body builder in mxCommands", op.OperationID)
				}
			}
		}
	}
	t.Logf("%d operations, %d of them commands, × %d roles × %d relations", len(ops), commands, len(mxRoles), len(mxRelations))
	byOp := map[string]mxRow{}
	for _, r := range rows {
		byOp[r.op] = r
		if _, ok := ops[r.op]; !ok {
			t.Errorf("authz-matrix.txt:%d: %s is not an operation of the OpenAPI document", r.line, r.op)
		}
		if mxCommands[r.op] == nil && mxReads[r.op] == nil {
			t.Errorf("authz-matrix.txt:%d: %s has no request in authz_matrix_fixtures_test.go", r.line, r.op)
		}
	}
	for op, secured := range ops {
		r, ok := byOp[op]
		if !ok {
			t.Errorf("operation %s has no row in testdata/authz-matrix.txt: add one (expectations from the docs)", op)
			continue
		}
		if public := r.want[0][0] == "pub"; public == secured {
			t.Errorf("authz-matrix.txt:%d: %s: the table says public=%v, the OpenAPI document security=%v", r.line, op, public, secured)
		}
	}
	if len(ops) < 60 {
		t.Fatalf("only %d operations in the OpenAPI document", len(ops))
	}
	if t.Failed() {
		t.FailNow()
	}

	for _, r := range rows {
		if build := mxCommands[r.op]; build != nil {
			t.Run(r.op, func(t *testing.T) { m.commandRow(t, r, build) })
		}
	}
	for _, r := range rows {
		if rd := mxReads[r.op]; rd != nil {
			t.Run(r.op, func(t *testing.T) { m.readRow(t, r, rd) })
		}
	}
	t.Cleanup(func() { t.Logf("%d requests", m.n.Load()) })
	t.Run("terminal-exhibit", func(t *testing.T) { m.terminal(t, rows) })
	t.Run("revoked-holder", m.revokedHolder)
	t.Run("cross-case", m.crossCase)
	t.Run("foreign-answers-indistinguishable-from-absent", func(t *testing.T) {
		for _, r := range rows {
			for diff, roles := range m.ghosts[r.op] {
				t.Errorf("EXISTENCE LEAK %s: a foreign agency can tell the case from one that does not exist: %s get %s",
					r.op, strings.Join(roles, ", "), diff)
			}
		}
	})
}

func (m *matrix) cells(r mxRow, f func(c cell, want string)) {
	for i, role := range mxRoles {
		for j, rel := range mxRelations {
			f(cell{role: role, rel: rel, user: rel + "-" + role, agency: mxAgency[rel]}, r.want[i][j])
		}
	}
}

func (m *matrix) commandRow(t *testing.T, r mxRow, build func(m *matrix, t *testing.T, c cell) map[string]any) {
	m.cells(r, func(c cell, want string) {
		body := build(m, t, c)
		res := m.call(t, c.user, "POST", "/v1/commands/"+r.op, body, "Idempotency-Key", key())
		if !accepts(want, res.Status) {
			t.Errorf("MATRIX %s as %s: want %s (authz-matrix.txt:%d, %s), got %d: %.300s", r.op, c, want, r.line, r.why, res.Status, res.Body)
		}
		if c.rel == "foreign" {
			m.noTrace(t, r.op+" as "+c.String(), res.Body)
			if r.op != "open-case" {
				j, _ := json.Marshal(body)
				g := m.call(t, c.user, "POST", "/v1/commands/"+r.op, []byte(ghost(string(j))), "Idempotency-Key", key())
				m.compareGhost(r.op, c, res, g)
			}
		}
	})
}

// mxRead is the request of a read for one caller; contains, if set, is
// what a participant must find in the answer (so that finding nothing in
// a foreign agency's answer means something).
type mxRead struct {
	req      func(m *matrix, c cell) (method, path string, body []byte, headers []string)
	contains func(m *matrix) string
}

func (m *matrix) readRow(t *testing.T, r mxRow, rd *mxRead) {
	m.cells(r, func(c cell, want string) {
		method, path, body, headers := rd.req(m, c)
		if r.op == "feed" {
			m.feedCell(t, r, c, want, path)
			return
		}
		res := m.call(t, c.user, method, path, body, headers...)
		if !accepts(want, res.Status) {
			t.Errorf("MATRIX %s as %s: want %s (authz-matrix.txt:%d, %s), got %d: %.300s", r.op, c, want, r.line, r.why, res.Status, res.Body)
		}
		if want == "pub" {
			if a := m.call(t, "", method, path, body, headers...); !accepts(want, a.Status) {
				t.Errorf("MATRIX %s anonymous: want 2xx (public), got %d: %.300s", r.op, a.Status, a.Body)
			}
			return
		}
		if c.rel == "foreign" {
			m.noTrace(t, r.op+" as "+c.String(), res.Body)
			if strings.Contains(path, "/{") || uuidPattern.MatchString(path) {
				g := m.call(t, c.user, method, ghost(path), body, headers...)
				m.compareGhost(r.op, c, res, g)
			}
		} else if rd.contains != nil && accepts("ok", res.Status) && c.role != "admin" {
			if s := rd.contains(m); !bytes.Contains(res.Body, []byte(s)) {
				t.Errorf("CONTROL %s as %s: the answer does not show %q, so the foreign check proves nothing: %.300s", r.op, c, s, res.Body)
			}
		}
	})
}

// feedCell opens the live feed. A participant must see the case's events;
// a foreign agency reads its whole feed up to an event of its own, made
// after it connected, and must meet nothing of the case on the way.
func (m *matrix) feedCell(t *testing.T, r mxRow, c cell, want, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", m.e.http.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+m.e.tokens[c.user])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if !accepts(want, res.StatusCode) {
		b, _ := io.ReadAll(res.Body)
		t.Errorf("MATRIX %s as %s: want %s (authz-matrix.txt:%d), got %d: %.300s", r.op, c, want, r.line, res.StatusCode, b)
		return
	}
	if res.StatusCode != 200 {
		return
	}
	until := m.readCase
	if c.rel == "foreign" {
		res := m.run(t, "foreign-officer", "open-case", map[string]any{"reference": m.uniq("SENTINEL-" + c.role), "country": "ES", "legal_framework": "customs"})
		until = res.Created[0].ID.String()
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("data: ")) {
			continue
		}
		if c.rel == "foreign" {
			m.noTrace(t, "feed as "+c.String(), line)
		}
		if bytes.Contains(line, []byte(until)) {
			return
		}
	}
	t.Errorf("MATRIX feed as %s: the stream ended before %s appeared: %v", c, until, sc.Err())
}

// revokedHolder: DOMAIN.md, "Who acts": a custodian agency whose share was
// revoked may still hand back what it holds (offer a transfer to a
// participant); AddAnnotation is open to a participant or holding
// agency; and it no longer sees the case (API.md: 404).
func (m *matrix) revokedHolder(t *testing.T) {
	res := m.run(t, "own-officer", "open-case", map[string]any{"reference": "MX-REVOKED-REF", "country": "MA", "legal_framework": "customs"})
	c2 := res.Created[0].ID.String()
	m.markers = append(m.markers, c2)
	m.run(t, "own-magistrate", "share-case", map[string]any{"case_id": c2, "agency": mxRevoked, "country": "FR", "legal_basis": "EIM-MX-0002"})
	body := m.seizure(c2, "own-officer", mxOwn, "PV-MX-REVOKED", 1, true)
	x := exhibitsOf(m.run(t, "own-officer", "record-seizure", body))[0]
	seal := body["exhibits"].([]map[string]any)[0]["seal_number"]
	off := m.run(t, "own-custodian", "offer-transfer", map[string]any{"exhibit_id": x, "to": map[string]any{"agency": mxRevoked},
		"purpose": "analysis", "authority_ref": "EIM-MX-0002"})
	m.run(t, "revoked-officer", "accept-transfer", map[string]any{"exhibit_id": x,
		"transfer_id": payloadOf(t, off, "TransferOffered")["transfer_id"], "seal": map[string]any{"number": seal, "condition": "intact"}})
	m.run(t, "own-magistrate", "revoke-case-sharing", map[string]any{"case_id": c2, "agency": mxRevoked, "reason": "analysis cancelled"})
	for _, tc := range []struct {
		op, method, path string
		body             any
		want, why        string
	}{
		{"add-annotation", "POST", "/v1/commands/add-annotation", map[string]any{"exhibit_id": x, "kind": "note", "text": "held since the revocation"},
			"ok", "AddAnnotation: any role but admin, of a participant or holding agency"},
		{"offer-transfer", "POST", "/v1/commands/offer-transfer", map[string]any{"exhibit_id": x, "to": map[string]any{"agency": mxOwn},
			"purpose": "hand back", "authority_ref": "EIM-MX-0002"}, "ok", "a custodian agency whose share was revoked may still hand back what it holds"},
		{"get-exhibit", "GET", "/v1/exhibits/" + x + m.minPos(), nil, "404", "only participants see a case"},
		{"get-case", "GET", "/v1/cases/" + c2 + m.minPos(), nil, "404", "only participants see a case"},
	} {
		r := m.call(t, "revoked-officer", tc.method, tc.path, tc.body, "Idempotency-Key", key())
		if !accepts(tc.want, r.Status) {
			t.Errorf("DOCS %s by the officer of a custodian agency whose share was revoked: want %s (docs/DOMAIN.md: %s), got %d: %.300s",
				tc.op, tc.want, tc.why, r.Status, r.Body)
		}
	}
}

// crossCase: a foreign agency naming its own case next to this case's
// exhibit or attachment gets nothing.
func (m *matrix) crossCase(t *testing.T) {
	res := m.run(t, "foreign-magistrate", "open-case", map[string]any{"reference": "ES-OWN-CASE", "country": "ES", "legal_framework": "customs"})
	mine := res.Created[0].ID.String()
	for _, tc := range []struct {
		user, method, path string
		body               any
	}{
		{"foreign-magistrate", "POST", "/v1/commands/place-hold", map[string]any{"case_id": mine, "exhibit_id": m.readEx[0], "reason": "mine"}},
		{"foreign-magistrate", "POST", "/v1/commands/release-hold", map[string]any{"case_id": mine, "exhibit_id": m.readEx[0], "hold_id": uuid.NewString(), "reason": "mine"}},
		{"foreign-officer", "POST", "/v1/commands/record-seizure", m.seizure(m.readCase, "foreign-officer", mxForeign, "PV-ES-1", 1, false)},
		{"foreign-officer", "GET", "/v1/cases/" + mine + "/attachments/" + m.attSHA, nil},
		{"foreign-officer", "GET", "/v1/exhibits?case_id=" + mine + "&seizure_id=" + m.readSeizure, nil},
	} {
		r := m.call(t, tc.user, tc.method, tc.path, tc.body, "Idempotency-Key", key())
		m.noTrace(t, tc.method+" "+tc.path+" as "+tc.user, r.Body)
		if r.Status != http.StatusNotFound && !(tc.method == "GET" && r.Status == 200) {
			t.Errorf("CROSS-CASE %s %s as %s: want 404, got %d: %.300s", tc.method, tc.path, tc.user, r.Status, r.Body)
		}
	}
}

// terminal: DOMAIN.md, "Every exhibit command except AddAnnotation is
// refused with exhibit.terminal once the exhibit is destroyed". Every
// caller the table allows, aimed at a destroyed exhibit, gets 409 naming
// that rule (the allowed-but-refused-by-state outcome), an annotation
// still goes through.
func (m *matrix) terminal(t *testing.T, rows []mxRow) {
	x := m.fresh(t, true)
	m.receipt(t, x)
	rep := m.run(t, "own-analyst", "report-analysis", map[string]any{"exhibit_id": x, "report": m.report()})
	reportID := payloadOf(t, rep, "AnalysisReported")["report_id"]
	m.authorise(t, x, "destruction")
	w := mxWeighing(1000000)
	w["holder_present"] = true
	m.run(t, "own-custodian", "weigh-exhibit", map[string]any{"exhibit_id": x, "purpose": "pre-destruction", "weighing": w})
	m.run(t, "own-custodian", "destroy-exhibit", map[string]any{"exhibit_id": x, "method": "incineration", "site": "NDR incinerator",
		"witnesses": []map[string]any{{"ref": "W-MX-1", "kind": "official"}, {"ref": "W-MX-2", "kind": "official"}}})
	checked := 0
	for _, r := range rows {
		build := mxCommands[r.op]
		if build == nil {
			continue
		}
		m.cells(r, func(c cell, want string) {
			if want != "ok" {
				return
			}
			b := build(m, t, c)
			if _, ok := b["exhibit_id"]; !ok {
				return
			}
			b["exhibit_id"] = x
			if _, ok := b["report_id"]; ok {
				b["report_id"] = reportID
			}
			res := m.call(t, c.user, "POST", "/v1/commands/"+r.op, b, "Idempotency-Key", key())
			checked++
			if r.op == "add-annotation" {
				if res.Status != 200 {
					t.Errorf("TERMINAL add-annotation as %s on a destroyed exhibit: want 200 (DOMAIN.md: accepted on terminal exhibits), got %d: %.300s", c, res.Status, res.Body)
				}
				return
			}
			var p api.Problem
			_ = json.Unmarshal(res.Body, &p)
			if !accepts("rule", res.Status) || p.Rule != "exhibit.terminal" {
				t.Errorf("TERMINAL %s as %s on a destroyed exhibit: want 409 exhibit.terminal (DOMAIN.md), got %d: %.300s", r.op, c, res.Status, res.Body)
			}
		})
	}
	if checked < 40 {
		t.Errorf("only %d terminal calls", checked)
	}
}
