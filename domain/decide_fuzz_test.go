package domain

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzDecideJSON: any request body, for any command and any principal of
// the cast, decides without panicking; it is either refused with a typed
// error or yields appends whose IDs are distinct and whose exhibit events
// name their stream's exhibit.
func FuzzDecideJSON(f *testing.F) {
	w, fx := stockWorld(f, FrameworkJudicialInformation)
	x, c := fx.x.String(), fx.c.String()
	seeds := map[string]string{
		"OfferTransfer":  `{"exhibit_id":"` + x + `","to":{"agency":"MA-LAB-CASA","person":"salma"},"purpose":"analysis"}`,
		"WeighExhibit":   `{"exhibit_id":"` + x + `","purpose":"control","weighing":{"gross_mg":31000000000,"net_mg":30600000000,"tare_mg":400000000,"uncertainty_mg":5000,"scale_id":"S","calibration_ref":"C"}}`,
		"InspectSeal":    `{"exhibit_id":"` + x + `","seal":{"number":"MA-S-0091201","condition":"intact"}}`,
		"PlaceHold":      `{"case_id":"` + c + `","exhibit_id":"` + x + `","reason":"r"}`,
		"RecordSeizure":  `{"case_id":"` + c + `","record_number":"PV","seized_at":"2026-04-12T01:00:00Z","closed_at":"2026-04-12T02:00:00Z","place":{"name":"p","country":"MA"},"cause":"c","detection_method":"d","officers":["nadia"],"custodian":{"agency":"MA-DOUANE-TGM"},"exhibits":[{"label":"1","category":"drug","unit_count":1,"seal_number":"S1","weighing":{"gross_mg":3,"net_mg":2,"tare_mg":1,"scale_id":"S","calibration_ref":"C"}}]}`,
		"TakeSubSample":  `{"exhibit_id":"` + x + `","label":"s","purpose":"p","seal_number":"Z","weighing":{"gross_mg":3,"net_mg":2,"tare_mg":1,"scale_id":"S","calibration_ref":"C"}}`,
		"AuditInventory": `{"exhibit_id":"` + x + `","inventory_ref":"I","found":false}`,
	}
	names := CommandNames()
	for i, n := range names {
		if body, ok := seeds[n]; ok {
			f.Add(uint8(i), uint8(1), []byte(body))
			f.Add(uint8(i), uint8(0), []byte(body))
		}
	}
	f.Fuzz(func(t *testing.T, which, who uint8, body []byte) {
		cmd, _ := NewCommand(names[int(which)%len(names)])
		if json.Unmarshal(body, cmd) != nil {
			return
		}
		p := cast[int(who)%len(cast)]
		d, err := Decide(p, cmd, w.view(cmd), w.now, "fuzz")
		if err != nil {
			if !errors.Is(err, ErrValidation) && !errors.Is(err, ErrRule) && !errors.Is(err, ErrForbidden) && !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s: untyped error %v", cmd.Name(), err)
			}
			return
		}
		seen := map[string]bool{}
		for _, a := range d.Appends {
			kind, id, ok := ParseStream(a.Stream)
			if !ok || len(a.Events) == 0 {
				t.Fatalf("bad append to %q", a.Stream)
			}
			for _, ne := range a.Events {
				if seen[ne.ID.String()] {
					t.Fatalf("event id %s repeated", ne.ID)
				}
				seen[ne.ID.String()] = true
				if _, _, _, err := Encode(ne.Event); err != nil {
					t.Fatalf("decided an event that does not encode: %v", err)
				}
				if kind == "exhibit" {
					if r, ok := exhibitRefOf(ne.Event); !ok || r.ExhibitID != id {
						t.Fatalf("%s in %s", ne.Event.EventType(), a.Stream)
					}
				}
			}
		}
		if strings.TrimSpace(string(d.Role)) == "" {
			t.Fatal("no acting role")
		}
	})
}
