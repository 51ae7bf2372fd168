package api_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/scelle-ledger/scelle/api"
	"github.com/scelle-ledger/scelle/ledger"
)

// TestIntegrity_checkpointAndProofs: without an account, a client gets
// the signed checkpoint and proves an event of an exhibit's history
// against it.
func TestIntegrity_checkpointAndProofs(t *testing.T) {
	e := newEnv(t)
	caseID := openCase(e, "nadia", "MA-TGM-2026-0412")
	ex := exhibitsOf(recordSeizure(e, caseID, 2))[1]
	// A bundle download makes the log sign a checkpoint covering it all.
	if r := e.do("nadia", "GET", "/v1/exhibits/"+ex+"/bundle", nil); r.Status != 200 {
		t.Fatalf("bundle: %d", r.Status)
	}
	cp := e.do("", "GET", "/v1/log/checkpoint", nil)
	if cp.Status != 200 || !strings.HasPrefix(cp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("checkpoint: %d %s", cp.Status, cp.Header.Get("Content-Type"))
	}
	v, err := ledger.NewVerifier(e.vkey)
	if err != nil {
		t.Fatal(err)
	}
	body, err := ledger.OpenCheckpoint(cp.Body, v)
	if err != nil {
		t.Fatalf("checkpoint does not verify with the log key: %v", err)
	}
	var h api.History
	e.do("nadia", "GET", "/v1/exhibits/"+ex+"/history", nil).json(t, &h)
	last := h.Events[len(h.Events)-1]
	r := e.do("", "GET", "/v1/log/proofs/inclusion?index="+itoa(last.Position)+"&size="+itoa(body.Size), nil)
	var p api.Proof
	r.json(t, &p)
	if r.Status != 200 {
		t.Fatalf("inclusion: %d %s", r.Status, r.Body)
	}
	hashes := make([][]byte, len(p.Hashes))
	for i, s := range p.Hashes {
		if hashes[i], err = base64.StdEncoding.DecodeString(s); err != nil {
			t.Fatal(err)
		}
	}
	leaf := ledger.LeafHash(last.Hash)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, last.Position, body.Size, leaf[:], hashes, body.Root[:]); err != nil {
		t.Fatalf("inclusion proof does not verify against the signed root: %v", err)
	}
	if r := e.do("", "GET", "/v1/log/proofs/inclusion?index="+itoa(body.Size)+"&size="+itoa(body.Size), nil); r.Status != 422 {
		t.Fatalf("index beyond the tree: %d", r.Status)
	}
	r = e.do("", "GET", "/v1/log/proofs/consistency?from=1&to="+itoa(body.Size), nil)
	if r.Status != 200 {
		t.Fatalf("consistency: %d %s", r.Status, r.Body)
	}
}

// TestCommands_ifMatch: a command with a stale If-Match is refused with
// 412 and the current revision; with the current one it passes.
func TestCommands_ifMatch(t *testing.T) {
	e := newEnv(t)
	caseID := openCase(e, "nadia", "MA-TGM-2026-0412")
	ex := exhibitsOf(recordSeizure(e, caseID, 1))[0]
	h := e.do("nadia", "GET", "/v1/exhibits/"+ex+"/history", nil)
	tag := h.Header.Get("ETag")
	res := e.result(e.cmd("nadia", "add-annotation", map[string]any{"exhibit_id": ex, "kind": "note", "text": "first"}, 200, "If-Match", tag))
	r := e.cmd("nadia", "add-annotation", map[string]any{"exhibit_id": ex, "kind": "note", "text": "second"}, http.StatusPreconditionFailed, "If-Match", tag)
	if p := r.problem(t); p.Revision == nil || *p.Revision != res.Revision {
		t.Fatalf("412 problem: %+v, want current_revision %d", p, res.Revision)
	}
	e.cmd("nadia", "add-annotation", map[string]any{"exhibit_id": ex, "kind": "note", "text": "second"}, 200, "If-Match", `"`+itoa(res.Revision)+`"`)
}
