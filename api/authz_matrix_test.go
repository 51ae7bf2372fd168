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
	"sync/atomic"
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

// matrix holds the server, the cases and the fixtures of the test.
type matrix struct {
	e   *env
	seq atomic.Int64
	pos atomic.Uint64 // highest global position written

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

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// ghost replaces every UUID by a random one: the same request aimed at
// things that do not exist.
func ghost(s string) string {
	return uuidPattern.ReplaceAllStringFunc(s, func(string) string { return uuid.NewString() })
}

// compareGhost records a foreign answer about the case that differs from
// the answer to the same request about things that do not exist: status,
// problem type and detail (the request instance aside).
func (m *matrix) compareGhost(op string, c cell, real, absent response) {
	var pr, pa api.Problem
	_ = json.Unmarshal(real.Body, &pr)
	_ = json.Unmarshal(absent.Body, &pa)
	if real.Status == absent.Status && pr.Type == pa.Type && pr.Detail == pa.Detail && pr.Rule == pa.Rule {
		return
	}
	if m.ghosts[op] == nil {
		m.ghosts[op] = map[string][]string{}
	}
	diff := fmt.Sprintf("%d for the case, %d %q for absent IDs", real.Status, absent.Status, pa.Detail)
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
	ops := map[string]bool{}
	for _, methods := range doc.Paths {
		for _, op := range methods {
			ops[op.OperationID] = len(op.Security) > 0
		}
	}
	byOp := map[string]mxRow{}
	for _, r := range rows {
		byOp[r.op] = r
		if _, ok := ops[r.op]; !ok {
			t.Errorf("authz-matrix.txt:%d: %s is not an operation of the OpenAPI document", r.line, r.op)
		}
		if mxCommands[r.op] == nil && mxReads[r.op] == nil {
			t.Errorf("authz-matrix.txt:%d: %s has no request in authz_matrix_test.go", r.line, r.op)
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
		var rid any
		x := m.reusable(t, "amend", true, func(x string) {
			m.receipt(t, x)
			res := m.run(t, "own-analyst", "report-analysis", map[string]any{"exhibit_id": x, "report": m.report()})
			rid = payloadOf(t, res, "AnalysisReported")["report_id"]
			m.dedicated["amend-report-id"] = rid.(string)
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
