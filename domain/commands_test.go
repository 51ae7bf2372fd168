package domain

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// TestCommands_Registry: every registered command names itself, decodes
// from JSON through its pointer, and is validated through the pointer like
// a value.
func TestCommands_Registry(t *testing.T) {
	if len(CommandNames()) != 31 {
		t.Fatalf("got %d commands, want 31", len(CommandNames()))
	}
	for _, name := range CommandNames() {
		cmd, ok := NewCommand(name)
		if !ok || cmd.Name() != name {
			t.Fatalf("%s: got %v", name, cmd)
		}
		if err := json.Unmarshal([]byte(`{}`), cmd); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err := Decide(pKarim, cmd, NewView(), t0, "k")
		if err == nil || (!errors.Is(err, ErrValidation) && !errors.Is(err, ErrForbidden) && !errors.Is(err, ErrNotFound)) {
			t.Fatalf("%s: an empty command: got %v, want a typed refusal", name, err)
		}
	}
	if _, ok := NewCommand("EatExhibit"); ok {
		t.Fatal("unknown command")
	}
}

// TestCommands_FromJSON: a request body decodes into the command and the
// decision matches the one from the Go value.
func TestCommands_FromJSON(t *testing.T) {
	w, f := stock(FrameworkCustoms)(t)
	cmd, _ := NewCommand("OfferTransfer")
	body := `{"exhibit_id":"` + f.x.String() + `","to":{"agency":"MA-LAB-CASA","person":"salma"},"purpose":"analysis","occurred_at":"2026-04-12T05:30:00Z"}`
	if err := json.Unmarshal([]byte(body), cmd); err != nil {
		t.Fatal(err)
	}
	d1, err := Decide(karim, cmd, w.view(cmd), w.now, "k1")
	if err != nil {
		t.Fatal(err)
	}
	val := OfferTransfer{At: At{OccurredAt: t0.Add(-30 * time.Minute)}, ExhibitID: f.x, To: Party{Agency: "MA-LAB-CASA", Person: "salma"}, Purpose: "analysis"}
	d2, _ := Decide(karim, val, w.view(val), w.now, "k1")
	if d1.Appends[0].Events[0].ID != d2.Appends[0].Events[0].ID || d1.Appends[0].Events[0].OccurredAt != d2.Appends[0].Events[0].OccurredAt {
		t.Fatal("JSON and Go forms decide differently")
	}
	bad, _ := NewCommand("OfferTransfer")
	json.Unmarshal([]byte(`{"exhibit_id":"`+f.x.String()+`","to":{"agency":""}}`), bad)
	_, err = Decide(karim, bad, w.view(bad), w.now, "k2")
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 2 || ve.Fields[0].Field != "to.agency" || ve.Fields[1].Field != "purpose" {
		t.Fatalf("got %v, want to.agency and purpose named", err)
	}
}
