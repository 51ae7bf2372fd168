package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
)

var update = flag.Bool("update", false, "rewrite testdata/openapi.json")

// TestOpenAPI_golden keeps the OpenAPI document as a reviewed file: a
// change to the API is a change to testdata/openapi.json. Run
// `go test ./api -run OpenAPI -update` to accept one.
func TestOpenAPI_golden(t *testing.T) {
	e := newEnv(t)
	r := e.do("", "GET", "/openapi.json", nil)
	if r.Status != 200 {
		t.Fatalf("/openapi.json: %d", r.Status)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, r.Body, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden := filepath.Join("testdata", "openapi.json")
	if *update {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Fatalf("the OpenAPI document differs from %s: review the change and run go test ./api -run OpenAPI -update", golden)
	}

	doc, err := libopenapi.NewDocument(want)
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Fatalf("openapi version %q, want 3.1.0", v)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("not a valid OpenAPI 3.1 document: %v", err)
	}
	paths := model.Model.Paths.PathItems
	if paths.Len() < 40 {
		t.Fatalf("%d paths, want every command and query", paths.Len())
	}
	// Every operation has an ID, a summary, and documents its errors as
	// problems.
	for p, item := range paths.FromOldest() {
		for m, op := range item.GetOperations().FromOldest() {
			if op.OperationId == "" || op.Summary == "" {
				t.Errorf("%s %s: operation without ID or summary", m, p)
			}
			if op.Responses == nil || op.Responses.Codes.GetOrZero("422") == nil {
				t.Errorf("%s %s: 422 not documented", m, p)
			}
		}
	}
}

// spec is the OpenAPI document's declared statuses per operation, for
// checking that responses conform.
type spec struct {
	ops []specOp
}

type specOp struct {
	method   string
	segments []string
	statuses map[int]bool
}

func loadSpec(t *testing.T, raw []byte) *spec {
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	s := &spec{}
	for p, methods := range doc.Paths {
		for m, op := range methods {
			so := specOp{method: strings.ToUpper(m), segments: strings.Split(p, "/"), statuses: map[int]bool{}}
			for code := range op.Responses {
				if n, err := strconv.Atoi(code); err == nil {
					so.statuses[n] = true
				}
			}
			s.ops = append(s.ops, so)
		}
	}
	return s
}

// declared reports whether method path may answer status per the spec;
// known is false for paths the spec does not describe.
func (s *spec) declared(method, path string, status int) (ok, known bool) {
	path, _, _ = strings.Cut(path, "?")
	segs := strings.Split(path, "/")
	for _, op := range s.ops {
		if op.method != method || len(op.segments) != len(segs) {
			continue
		}
		match := true
		for i, seg := range op.segments {
			if !strings.HasPrefix(seg, "{") && seg != segs[i] {
				match = false
				break
			}
		}
		if match {
			return op.statuses[status], true
		}
	}
	return false, false
}
