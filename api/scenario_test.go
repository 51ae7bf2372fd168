package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/scelle-ledger/scelle/api"
	"github.com/scelle-ledger/scelle/ledger"
)

// payloadOf returns the payload of the first event of type typ.
func payloadOf(t *testing.T, res api.CommandResult, typ string) map[string]any {
	t.Helper()
	for _, ev := range res.Events {
		if ev.Type == typ {
			var m map[string]any
			if err := json.Unmarshal(ev.Payload, &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatalf("%s: no %s among %+v", res.Command, typ, res.Events)
	return nil
}

var intact = func(seal string) map[string]any { return map[string]any{"number": seal, "condition": "intact"} }

// transfer offers an exhibit and has the receiver accept it.
func transfer(e *env, from, to, exhibit string, toParty map[string]any, seal string, accept map[string]any) api.CommandResult {
	e.t.Helper()
	off := e.result(e.cmd(from, "offer-transfer", map[string]any{"exhibit_id": exhibit, "to": toParty, "purpose": "custody", "authority_ref": "EIM-2026-FR-MA-0088"}, 200))
	tid := payloadOf(e.t, off, "TransferOffered")["transfer_id"]
	body := map[string]any{"exhibit_id": exhibit, "transfer_id": tid, "seal": intact(seal)}
	for k, v := range accept {
		body[k] = v
	}
	return e.result(e.cmd(to, "accept-transfer", body, 200))
}

// TestScenario_moroccoFrance drives SCENARIOS.md through the API, as the
// users would, and ends with a bundle verified offline.
func TestScenario_moroccoFrance(t *testing.T) {
	e := newEnv(t)
	// 1-2. Case, seizure of 4 bales (sealed and weighed on the spot).
	caseID := openCase(e, "nadia", "MA-TGM-2026-0412")
	bales := exhibitsOf(recordSeizure(e, caseID, 4))
	seal := func(i int) string { return []string{"MA-S-0091201", "MA-S-0091202", "MA-S-0091203", "MA-S-0091204"}[i] }

	// 3. Into the warehouse: Karim accepts and stores.
	for i, b := range bales {
		transfer(e, "nadia", "karim", b, map[string]any{"agency": "MA-DOUANE-TGM", "person": "karim"}, seal(i),
			map[string]any{"weight": map[string]any{"gross_mg": 31000000, "uncertainty_mg": 5000}})
		e.cmd("karim", "store-exhibit", map[string]any{"exhibit_id": b, "location": "TGM/MAGASIN-2/R3"}, 200)
	}

	// The lab and the French agencies become participants.
	for _, a := range []struct{ agency, country, basis string }{
		{"MA-LAB-CASA", "MA", "requisition"},
		{"FR-JI-MRS", "FR", "EIM-2026-FR-MA-0088"},
	} {
		e.cmd("idriss", "share-case", map[string]any{"case_id": caseID, "agency": a.agency, "country": a.country, "legal_basis": a.basis}, 200)
	}
	for _, a := range []string{"FR-DOUANE-MRS", "FR-LAB-MRS"} {
		e.cmd("helene", "share-case", map[string]any{"case_id": caseID, "agency": a, "country": "FR", "legal_basis": "EIM-2026-FR-MA-0088"}, 200)
	}

	// 4. A 20 g sub-sample of bale 2 goes to MA-LAB-CASA; Salma receives,
	// reports, then amends.
	sub := func(parent, label, sealNo, reseal string) string {
		e.cmd("karim", "open-seal", map[string]any{"exhibit_id": parent, "purpose": "sampling", "authority_ref": "ORD-SAMPLING-12"}, 200)
		res := e.result(e.cmd("karim", "take-sub-sample", map[string]any{
			"exhibit_id": parent, "label": label, "purpose": "analysis", "seal_number": sealNo,
			"weighing": map[string]any{"gross_mg": 20500, "net_mg": 20000, "tare_mg": 500, "uncertainty_mg": 20, "scale_id": "TGM-SC-01", "calibration_ref": "CAL-2026-118"},
		}, 200))
		e.cmd("karim", "reseal-exhibit", map[string]any{"exhibit_id": parent, "seal_number": reseal}, 200)
		return payloadOf(t, res, "SubSampleTaken")["sub_sample_id"].(string)
	}
	s1 := sub(bales[1], "2/S1", "MA-S-0091300", "MA-S-0091402")
	transfer(e, "karim", "salma", s1, map[string]any{"agency": "MA-LAB-CASA", "person": "salma"}, "MA-S-0091300", nil)
	e.cmd("salma", "record-lab-receipt", map[string]any{"exhibit_id": s1, "lab_case_number": "LAB-2026-77", "seal": intact("MA-S-0091300"), "packaging_condition": "good"}, 200)
	report := map[string]any{"lab_case_number": "LAB-2026-77", "net_mg": 19840, "net_uncertainty_mg": 20,
		"substances": []map[string]any{{"name": "cannabis resin (THC)", "purity_bp": 2750, "uncertainty_bp": 180}},
		"techniques": []string{"GC-MS"}, "reviewer": "Dr Benali", "report_digest": strings.Repeat("ab", 32)}
	rep := e.result(e.cmd("salma", "report-analysis", map[string]any{"exhibit_id": s1, "report": report}, 200))
	reportID := payloadOf(t, rep, "AnalysisReported")["report_id"]
	report["reviewer"] = "Dr Bennani"
	e.cmd("salma", "amend-report", map[string]any{"exhibit_id": s1, "report_id": reportID, "reason": "typo in the reviewer's name", "report": report}, 200)

	// An analyst of a lab that does not hold the exhibit is refused.
	e.cmd("julien", "report-analysis", map[string]any{"exhibit_id": s1, "report": report}, 403)

	// 5. A second sub-sample (bale 4) goes to FR-LAB-MRS via Claire; Julien
	// sees another seal: a discrepancy is raised automatically.
	s2 := sub(bales[3], "4/S1", "MA-S-0091301", "MA-S-0091404")
	transfer(e, "karim", "claire", s2, map[string]any{"agency": "FR-DOUANE-MRS", "person": "claire"}, "MA-S-0091301", nil)
	acc := transfer(e, "claire", "julien", s2, map[string]any{"agency": "FR-LAB-MRS", "person": "julien"}, "MA-S-0091399", nil)
	disc := payloadOf(t, acc, "DiscrepancyRaised")
	r := e.do("julien", "GET", "/v1/discrepancies?min_position="+itoa(acc.Position), nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), disc["discrepancy_id"].(string)) {
		t.Logf("acc: %+v", acc)
		t.Logf("as karim: %s", e.do("karim", "GET", "/v1/discrepancies?include_resolved=true", nil).Body)
		t.Logf("exhibit: %s", e.do("julien", "GET", "/v1/exhibits/"+s2+"?min_position="+itoa(acc.Position), nil).Body)
		t.Fatalf("open discrepancies: %d %s", r.Status, r.Body)
	}
	e.cmd("helene", "resolve-discrepancy", map[string]any{"exhibit_id": s2, "discrepancy_id": disc["discrepancy_id"], "resolution": "seal re-numbered at the border post, PV 88 attached"}, 200)

	// 6. Bale 3 goes to court and back.
	e.cmd("idriss", "share-case", map[string]any{"case_id": caseID, "agency": "FR-GREFFE-MRS", "country": "FR", "legal_basis": "EIM-2026-FR-MA-0088"}, 200)
	e.cmd("karim", "check-out", map[string]any{"exhibit_id": bales[2], "to": map[string]any{"agency": "MA-PARQUET-TNG"}, "purpose": "hearing", "due_at": time.Now().Add(48 * time.Hour)}, 200)
	e.cmd("karim", "check-in", map[string]any{"exhibit_id": bales[2], "seal": intact(seal(2)), "weight": map[string]any{"gross_mg": 31000000, "uncertainty_mg": 5000}}, 200)

	// 7. Disposal of bale 1: authorised, too early, then after the deadline
	// weighed before two outside witnesses and destroyed before two.
	now := time.Now().UTC()
	e.cmd("idriss", "authorise-disposal", map[string]any{"exhibit_id": bales[0], "order_ref": "ORD-2026-3310", "method": "destruction",
		"notified_at": now, "challenge_deadline": now.Add(24 * time.Hour), "retain_sample": false}, 200)
	witnesses := []map[string]any{{"ref": "W-POLICE-1", "kind": "official", "agency": "MA-POLICE-TNG"}, {"ref": "W-POLICE-2", "kind": "official", "agency": "MA-POLICE-TNG"}}
	destroy := map[string]any{"exhibit_id": bales[0], "method": "incineration", "site": "TNG-INCINERATOR", "witnesses": witnesses}
	r = e.cmd("karim", "destroy-exhibit", destroy, 409)
	if p := r.problem(t); p.Rule == "" {
		t.Fatalf("early destruction: a 409 names the rule: %+v", p)
	}
	e.advance(25 * time.Hour)
	e.cmd("karim", "weigh-exhibit", map[string]any{"exhibit_id": bales[0], "purpose": "pre-destruction", "weighing": map[string]any{
		"gross_mg": 31000000, "net_mg": 30500000, "tare_mg": 500000, "uncertainty_mg": 5000, "scale_id": "TGM-SC-04", "calibration_ref": "CAL-2026-117",
		"witnesses": witnesses}}, 200)
	e.cmd("karim", "destroy-exhibit", map[string]any{"exhibit_id": bales[0], "method": "incineration", "site": "TNG-INCINERATOR", "witnesses": []map[string]any{witnesses[0]}}, 409)
	e.cmd("karim", "destroy-exhibit", destroy, 200)

	// 8. The Marseille court downloads the bundle of bale 4 (with its
	// sub-sample) and verifies it offline with the log's public key.
	r = e.do("helene", "GET", "/v1/exhibits/"+bales[3]+"/bundle", nil)
	if r.Status != 200 {
		t.Fatalf("bundle: %d %s", r.Status, r.Body)
	}
	b, err := ledger.DecodeBundle(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ledger.NewVerifier(e.vkey)
	if err != nil {
		t.Fatal(err)
	}
	rep2 := ledger.Verify(b, []note.Verifier{v}, nil, ledger.Policy{})
	if !rep2.OK {
		t.Fatalf("bundle does not verify: %+v", rep2.Checks)
	}
	streams := map[string]bool{}
	for _, m := range b.Manifest {
		streams[m.Stream] = true
	}
	if !streams["exhibit-"+bales[3]] || !streams["exhibit-"+s2] {
		t.Fatalf("bundle streams %v: want bale 4 and its sub-sample", streams)
	}
	// The same through POST /v1/verify, without an account; and a tampered
	// bundle fails.
	r = e.do("", "POST", "/v1/verify", r.Body)
	var vr struct{ OK bool }
	r.json(t, &vr)
	if r.Status != 200 || !vr.OK {
		t.Fatalf("verify endpoint: %d %s", r.Status, r.Body)
	}
	b.Events[0].Payload = []byte(`{"tampered":true}`)
	tampered, _ := json.Marshal(b)
	r = e.do("", "POST", "/v1/verify", tampered)
	r.json(t, &vr)
	if r.Status != 200 || vr.OK {
		t.Fatalf("tampered bundle: %d ok=%v", r.Status, vr.OK)
	}
	// The case bundle verifies too.
	r = e.do("idriss", "GET", "/v1/cases/"+caseID+"/bundle", nil)
	if r.Status != 200 {
		t.Fatalf("case bundle: %d %s", r.Status, r.Body)
	}
	cb, err := ledger.DecodeBundle(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if rep := ledger.Verify(cb, []note.Verifier{v}, nil, ledger.Policy{}); !rep.OK {
		t.Fatalf("case bundle does not verify: %+v", rep.Checks)
	}
	// The history of bale 1 ends with its destruction, hash chain verified.
	r = e.do("karim", "GET", "/v1/exhibits/"+bales[0]+"/history", nil)
	var h api.History
	r.json(t, &h)
	if !h.ChainVerified || h.Events[len(h.Events)-1].Type != "ExhibitDestroyed" || r.Header.Get("ETag") != `"`+itoa(h.Revision)+`"` {
		t.Fatalf("history: %d verified=%v last=%s etag=%s", r.Status, h.ChainVerified, h.Events[len(h.Events)-1].Type, r.Header.Get("ETag"))
	}
	// The states the commands decided on, kept folded between commands,
	// are those a fresh fold of each stream gives.
	folded := []string{"case-" + caseID, "exhibit-" + s1}
	for _, x := range bales {
		folded = append(folded, "exhibit-"+x)
	}
	if err := api.CheckFoldedStates(t.Context(), e.srv, folded); err != nil {
		t.Fatal(err)
	}
}

func itoa(n uint64) string { return strings.TrimSpace(strings.Replace(jsonNum(n), `"`, "", -1)) }

func jsonNum(n uint64) string { b, _ := json.Marshal(n); return string(b) }
