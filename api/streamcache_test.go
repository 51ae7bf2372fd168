package api

import (
	"reflect"
	"slices"
	"testing"

	"github.com/scelle-ledger/scelle/domain"
)

// advance copies the maps and slices of a state before folding into it; a
// container added to a state type must be added there too.
func TestAdvance_copiesEveryContainer(t *testing.T) {
	copied := map[reflect.Type][]string{
		reflect.TypeFor[domain.Exhibit](): {"Discrepancies", "Holds", "Reports", "SubSamples"},
		reflect.TypeFor[domain.Case]():    {"Holds", "Shares"},
		reflect.TypeFor[domain.Seizure](): nil,
	}
	for typ, want := range copied {
		var got []string
		for i := range typ.NumField() {
			if k := typ.Field(i).Type.Kind(); k == reflect.Map || k == reflect.Slice {
				got = append(got, typ.Field(i).Name)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s has the containers %v; advance copies %v", typ.Name(), got, want)
		}
	}
}
