package domain

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestDecide_Deterministic: the same principal, command, state, key and
// occurred_at give the same decision, whatever the server clock; another
// key or another principal gives other IDs.
func TestDecide_Deterministic(t *testing.T) {
	w, f := stock(FrameworkCustoms)(t)
	cmd := OfferTransfer{At: At{OccurredAt: t0.Add(-time.Minute)}, ExhibitID: f.x, To: Party{Agency: "MA-LAB-CASA", Person: "salma"}, Purpose: "analysis"}
	d1, err := Decide(karim, cmd, w.view(cmd), t0, "k")
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := Decide(karim, cmd, w.view(cmd), t0.Add(3*time.Minute), "k")
	if !reflect.DeepEqual(d1, d2) {
		t.Fatalf("same input, different decisions:\n%+v\n%+v", d1, d2)
	}
	d3, _ := Decide(karim, cmd, w.view(cmd), t0, "k2")
	other := Principal{User: "karima", Agency: karim.Agency, Roles: karim.Roles}
	d4, _ := Decide(other, cmd, w.view(cmd), t0, "k")
	id1 := d1.Appends[0].Events[0].ID
	if id1 == d3.Appends[0].Events[0].ID || id1 == d4.Appends[0].Events[0].ID {
		t.Fatal("another key or principal must give other IDs")
	}
	if id1 != EventID(karim, "k", 0) || find[TransferOffered](t, d1).TransferID != EntityID(karim, "k", "transfer") {
		t.Fatal("IDs are EventID / EntityID of the principal and key")
	}
}

// TestDecide_LeavesViewAlone: deciding never modifies the states it reads.
func TestDecide_LeavesViewAlone(t *testing.T) {
	w, f := stock(FrameworkJudicialInformation)(t)
	f.sub = subSample(w, f.x, "MA-S-0091300")
	readyToDestroy(w, f)
	cmds := []Command{
		DestroyExhibit{ExhibitID: f.x, Method: "incineration", Site: "s", Witnesses: twoWitnesses},
		AcceptTransfer{ExhibitID: f.x, TransferID: uuid.New(), Seal: SealSeen{Number: "X", Condition: SealIntact}},
		InspectSeal{ExhibitID: f.x, Seal: SealSeen{Number: "X", Condition: SealDamaged}},
		AuditInventory{ExhibitID: f.x, InventoryRef: "I", Found: false},
	}
	for _, cmd := range cmds {
		v := w.view(cmd)
		fresh := w.view(cmd)
		Decide(karim, cmd, v, w.now, "k")
		if !reflect.DeepEqual(v, fresh) {
			t.Fatalf("%s modified the view", cmd.Name())
		}
	}
}

func TestDecide_NilCommandAndKey(t *testing.T) {
	if _, err := Decide(karim, nil, NewView(), t0, "k"); err == nil {
		t.Fatal("nil command: want an error")
	}
	_, err := Decide(karim, OpenCase{Reference: "R", Country: "MA", LegalFramework: FrameworkCustoms}, NewView(), t0, "")
	if !errorsIs(err, ErrValidation) {
		t.Fatalf("no idempotency key: got %v, want ErrValidation", err)
	}
}

func TestStreams(t *testing.T) {
	id := uuid.MustParse("0b7e4f52-9c1a-5d3e-8f2b-6a4c9e1d7b30")
	for _, k := range []struct {
		stream, kind string
	}{{CaseStream(id), "case"}, {SeizureStream(id), "seizure"}, {ExhibitStream(id), "exhibit"}} {
		kind, got, ok := ParseStream(k.stream)
		if !ok || kind != k.kind || got != id {
			t.Fatalf("ParseStream(%q) = %s %s %v", k.stream, kind, got, ok)
		}
	}
	if ExhibitStream(id) != "exhibit-0b7e4f52-9c1a-5d3e-8f2b-6a4c9e1d7b30" {
		t.Fatal(ExhibitStream(id))
	}
	for _, bad := range []string{"case-", "case-nope", "exhibit-0B7E4F52-9C1A-5D3E-8F2B-6A4C9E1D7B30", "$all", "lot-" + id.String()} {
		if _, _, ok := ParseStream(bad); ok {
			t.Fatalf("ParseStream(%q) accepted", bad)
		}
	}
}

// TestFold_UnknownAndPointerEvents: folding never fails: unknown events
// only advance the revision, pointers fold like values.
func TestFold_UnknownAndPointerEvents(t *testing.T) {
	x := NewExhibit(&ExhibitRegistered{ExhibitRef: ExhibitRef{ExhibitID: uuid.New()}, Label: "1 of 1"}, CaseOpened{}, sealedV2{}, (*ExhibitSealed)(nil))
	if x.Revision() != 3 || x.Registered.Label != "1 of 1" {
		t.Fatalf("revision %d label %q", x.Revision(), x.Registered.Label)
	}
	if c := NewCase(); c.Revision() != NoStream {
		t.Fatalf("empty case at revision %d", c.Revision())
	}
}
