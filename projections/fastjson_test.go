package projections

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/scelle-ledger/scelle/domain"
)

// fixturePayloads are the domain's frozen event fixtures at their type's
// current schema version, by event type.
func fixturePayloads(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "domain", "testdata", "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("fixtures: got %d files (err %v), want the domain's event fixtures", len(files), err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		typ, ver, ok := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".json"), ".v")
		if !ok || ver != strings.TrimSpace(string(rune('0'+domain.Events.SchemaVersion(typ)))) {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[typ] = b
	}
	return out
}

// sameAsUnmarshal checks fastUnmarshal against json.Unmarshal on payload:
// when fastUnmarshal takes it, json.Unmarshal must too, with the same value.
func sameAsUnmarshal(t testing.TB, typ string, payload []byte) (taken bool) {
	t.Helper()
	rt := reflect.TypeOf(domain.Events.New(typ))
	fast := reflect.New(rt)
	if !fastUnmarshal(payload, fast.Elem()) {
		return false
	}
	slow := reflect.New(rt)
	if err := json.Unmarshal(payload, slow.Interface()); err != nil {
		t.Fatalf("%s %q: fastUnmarshal took it, json.Unmarshal: %v", typ, payload, err)
	}
	if !reflect.DeepEqual(fast.Elem().Interface(), slow.Elem().Interface()) {
		t.Fatalf("%s %q:\n got %+v\nwant %+v", typ, payload, fast.Elem().Interface(), slow.Elem().Interface())
	}
	return true
}

func TestFastUnmarshal_Fixtures(t *testing.T) {
	fx := fixturePayloads(t)
	if len(fx) < len(domain.Events.Types()) {
		t.Fatalf("got fixtures of %d types, want all %d", len(fx), len(domain.Events.Types()))
	}
	for typ, p := range fx {
		if !sameAsUnmarshal(t, typ, p) {
			t.Errorf("%s: fastUnmarshal left the domain's own encoding to encoding/json", typ)
		}
	}
}

func TestFastUnmarshal_LeavesTheRestToEncodingJSON(t *testing.T) {
	cases := []struct{ name, typ, payload string }{
		{"escape", domain.TypeExhibitStored, `{"agency":"A\"B","location":"L"}`},
		{"unknown key", domain.TypeExhibitStored, `{"agency":"A","location":"L","x":1}`},
		{"other case", domain.TypeExhibitStored, `{"Agency":"A"}`},
		{"float into int", domain.TypeExhibitWeighed, `{"net_mg":1.5}`},
		{"leading zero", domain.TypeExhibitWeighed, `{"net_mg":01}`},
		{"out of range", domain.TypeExhibitWeighed, `{"net_mg":99999999999999999999}`},
		{"bad uuid", domain.TypeExhibitStored, `{"exhibit_id":"nope"}`},
		{"number for string", domain.TypeExhibitStored, `{"agency":1}`},
		{"trailing comma", domain.TypeExhibitStored, `{"agency":"A",}`},
		{"trailing data", domain.TypeExhibitStored, `{"agency":"A"} x`},
		{"control character", domain.TypeExhibitStored, "{\"agency\":\"A\tB\"}"},
		{"invalid UTF-8", domain.TypeExhibitStored, "{\"agency\":\"\xff\"}"},
		{"bad time", domain.TypeCheckedOut, `{"due_at":"yesterday"}`},
		{"not an object", domain.TypeExhibitStored, `[]`},
		{"truncated", domain.TypeExhibitStored, `{"agency":"A"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if sameAsUnmarshal(t, c.typ, []byte(c.payload)) {
				t.Fatalf("fastUnmarshal took %q, want it left to encoding/json", c.payload)
			}
		})
	}
	// And what it takes beyond the fixtures' shapes.
	for _, p := range []string{` { "agency" : "A" , "location":"" } `, `{}`, `{"agency":null}`, `{"agency":"é"}`} {
		if !sameAsUnmarshal(t, domain.TypeExhibitStored, []byte(p)) {
			t.Errorf("%q: left to encoding/json, want it taken", p)
		}
	}
	for _, p := range []string{`{"substances":[]}`, `{"substances":null}`, `{"substances":[{"name":"x","purity_bp":-0}]}`} {
		if !sameAsUnmarshal(t, domain.TypeAnalysisReported, []byte(p)) {
			t.Errorf("%q: left to encoding/json, want it taken", p)
		}
	}
}

type embeddedUnexported struct {
	A string `json:"a"`
}

type withUnexportedEmbedded struct {
	embeddedUnexported
	B string `json:"b"`
}

func TestFastUnmarshal_UnexportedEmbeddedStruct(t *testing.T) {
	var v withUnexportedEmbedded
	if fastUnmarshal([]byte(`{"a":"x","b":"y"}`), reflect.ValueOf(&v).Elem()) {
		t.Fatalf("took a struct embedding an unexported struct (%+v), want it left to encoding/json", v)
	}
}

// FuzzFastUnmarshal: whatever fastUnmarshal takes, json.Unmarshal takes
// too and decodes to the same value.
func FuzzFastUnmarshal(f *testing.F) {
	fx := fixturePayloads(f)
	types := domain.Events.Types()
	for i, typ := range types {
		if p, ok := fx[typ]; ok {
			f.Add(uint8(i), p)
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, payload []byte) {
		sameAsUnmarshal(t, types[int(k)%len(types)], payload)
	})
}
