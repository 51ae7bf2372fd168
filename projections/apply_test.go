package projections

import (
	"reflect"
	"testing"

	"github.com/scelle-ledger/scelle/domain"
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
		if got := (Feed{}).Interest(typ); got != Payload {
			t.Errorf("feed: %s: got interest %d, want Payload", typ, got)
		}
		if got := (Custody{}).Interest(typ); got == Skip {
			t.Errorf("custody: %s: skipped", typ)
		}
	}
}
