package projections

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/domain"
	"github.com/scelle-ledger/scelle/eventstore"
)

// TestExhibitRef: exhibitRef finds the ExhibitRef of exactly the event
// types that embed one.
func TestExhibitRef(t *testing.T) {
	for _, typ := range domain.Events.Types() {
		e := domain.Events.New(typ)
		_, embeds := reflect.TypeOf(e).FieldByName("ExhibitRef")
		if _, ok := exhibitRef(e); ok != embeds {
			t.Errorf("%s: exhibitRef found %v, the type embeds ExhibitRef: %v", typ, ok, embeds)
		}
	}
}

// TestInterest: every projection skips the types the codec does not know,
// and takes every type it folds.
func TestInterest(t *testing.T) {
	for _, p := range All() {
		s := p.(Selective)
		if got := s.Interest("NotAnEvent"); got != Skip {
			t.Errorf("%s: unknown type: got interest %d, want Skip", p.Name(), got)
		}
		for _, typ := range []string{domain.TypeCaseOpened, domain.TypeCaseShared, domain.TypeCaseSharingRevoked, domain.TypeSeizureRecorded} {
			if got := s.Interest(typ); got != Payload {
				t.Errorf("%s: %s: got interest %d, want Payload", p.Name(), typ, got)
			}
		}
	}
	for _, typ := range domain.Events.Types() {
		want := Payload
		if exhibitEventTypes[typ] && typ != domain.TypeSubSampleTaken {
			want = Envelope
		}
		if got := (Feed{}).Interest(typ); got != want {
			t.Errorf("feed: %s: got interest %d, want %d", typ, got, want)
		}
		if got := (Custody{}).Interest(typ); got == Skip {
			t.Errorf("custody: %s: skipped", typ)
		}
	}
}

// TestTopLevelString: the feed's scanner finds a top-level string value
// and nothing else, whatever comes before it.
func TestTopLevelString(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		ok   bool
	}{
		{`{"case_id":"a"}`, "a", true},
		{` { "x" : 1 , "case_id" : "b" } `, "b", true},
		{`{"x":{"case_id":"no"},"case_id":"c"}`, "c", true},
		{`{"x":["case_id","}",{"a":"]"}],"case_id":"d"}`, "d", true},
		{`{"x":"say \"case_id\":\"no\"","case_id":"e"}`, "e", true},
		{`{"x":true,"y":null,"z":-1.5e3,"case_id":"f"}`, "f", true},
		{`{"case_id":"with \" escape"}`, "", false},
		{`{"case_id":7}`, "", false},
		{`{"x":{"case_id":"nested"}}`, "", false},
		{`{"case\u005fid":"escaped key"}`, "", false},
		{`{"x":"unterminated`, "", false},
		{`["case_id","a"]`, "", false},
		{``, "", false},
	} {
		got, ok := topLevelString([]byte(c.in), "case_id")
		if ok != c.ok || string(got) != c.want {
			t.Errorf("%s: got %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	// Every exhibit event as the domain encodes it.
	caseID, exhibitID := uuid.New(), uuid.New()
	for typ := range exhibitEventTypes {
		e := domain.Events.New(typ)
		v := reflect.New(reflect.TypeOf(e)).Elem()
		v.FieldByName("ExhibitRef").Set(reflect.ValueOf(domain.ExhibitRef{ExhibitID: exhibitID, CaseID: caseID}))
		_, ver, payload, err := domain.Encode(v.Interface().(domain.Event))
		if err != nil {
			t.Fatal(err)
		}
		ev := &Event{RecordedEvent: &eventstore.RecordedEvent{Payload: payload}}
		ev.Type, ev.SchemaVersion = typ, ver
		got, ok, err := caseOfEnvelope(ev)
		if err != nil || !ok || got != caseID {
			t.Errorf("%s: got %v, %v, %v; want %v", typ, got, ok, err, caseID)
		}
	}
}

// TestExhibitOfStream agrees with domain.ParseStream.
func TestExhibitOfStream(t *testing.T) {
	id := uuid.New()
	for _, s := range []string{domain.ExhibitStream(id), domain.CaseStream(id), "exhibit-" + strings.ToUpper(id.String()),
		"exhibit-" + id.String()[:35], "exhibit-" + id.String() + "0", "exhibit-{" + id.String()[1:], "exhibit-", "x"} {
		kind, sid, ok := domain.ParseStream(s)
		want, wantOK := "", ok && kind == "exhibit"
		if wantOK {
			want = sid.String()
		}
		if got, gotOK := exhibitOfStream(s); got != want || gotOK != wantOK {
			t.Errorf("%q: got %q, %v; want %q, %v", s, got, gotOK, want, wantOK)
		}
	}
}
