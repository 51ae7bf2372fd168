package domain

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var update = flag.Bool("update", false, "write missing event fixtures in testdata/events (never overwrites one)")

// sampleEvents has one fully populated event of every type: every field is
// set, so its fixture pins the whole schema.
func sampleEvents() []Event {
	u := func(n int) uuid.UUID { return uuid.NewSHA1(Namespace, []byte{byte(n)}) }
	up := func(n int) *uuid.UUID { id := u(n); return &id }
	at := time.Date(2026, 4, 12, 6, 15, 0, 0, time.UTC)
	ref := ExhibitRef{ExhibitID: u(2), CaseID: u(1)}
	party := Party{Agency: "MA-DOUANE-TGM", Person: "karim", Location: "TGM/MAGASIN-2/R3"}
	to := Party{Agency: "MA-LAB-CASA", Person: "salma", Location: "LNPS/RECEPTION"}
	seal := SealSeen{Number: "MA-S-0091207", Condition: SealIntact}
	weight := &WeightSeen{GrossMg: 31_007_000_000, UncertaintyMg: 5_000, ScaleID: "TGM-SC-02"}
	witnesses := []Witness{{Ref: "GEND-4471", Kind: "official", Agency: "MA-GENDARMERIE-TNG"}, {Ref: "H-0001", Kind: "holder", Agency: "NONE"}}
	report := Report{LabCaseNumber: "LNPS-2026-0871", Substances: []Substance{{Name: "delta-9-THC", PurityBP: 2750, UncertaintyBP: 180}},
		NetMg: 19_840, NetUncertaintyMg: 20, Techniques: []string{"GC-MS", "TLC"}, SamplingStatement: "whole sub-sample homogenised",
		Analyst: "salma", Reviewer: "dr-bennani-k", ReportDigest: strings.Repeat("5e", 32), ConsumedMg: 200}
	return []Event{
		CaseOpened{CaseID: u(1), Reference: "MA-TGM-2026-0412", OwnerAgency: "MA-DOUANE-TGM", Country: "MA", LegalFramework: FrameworkCustoms, SupervisingAgency: "MA-PARQUET-TNG", Summary: "40 bales behind a false wall"},
		CaseShared{CaseID: u(1), Agency: "FR-JI-MRS", Country: "FR", LegalBasis: "mutual legal assistance request", AuthorityRef: "EIM-2026-FR-MA-0088", GrantedBy: "MA-PARQUET-TNG"},
		CaseSharingRevoked{CaseID: u(1), Agency: "FR-JI-MRS", Reason: "request executed"},
		HoldPlaced{HoldID: u(5), CaseID: u(1), ExhibitID: up(2), Agency: "MA-PARQUET-TNG", Reason: "appeal lodged", AuthorityRef: "APP-2026-17"},
		HoldReleased{HoldID: u(5), CaseID: u(1), ExhibitID: up(2), Reason: "appeal withdrawn"},
		CaseClosed{CaseID: u(1), Reason: "judgment final", Outcome: "convicted"},
		SeizureRecorded{SeizureID: u(3), CaseID: u(1), RecordNumber: "PV-2026-0412", LegalFramework: FrameworkCustoms, SeizedAt: at, ClosedAt: at.Add(3 * time.Hour),
			Place: Place{Name: "Port of Tanger Med", Country: "MA", Code: "MAPTM", Coordinates: &Coordinates{LatE7: 358850000, LonE7: -54990000}},
			Cause: "scanner anomaly", DetectionMethod: "x-ray scan", Conveyance: "semi-trailer", Concealment: "false wall",
			Officers: []string{"nadia", "youssef"}, HolderPresent: true, HolderRef: "DRIVER-REF-1", Custodian: party,
			ExhibitIDs: []uuid.UUID{u(2), u(4)}, Attachments: []Attachment{{Kind: "document", Digest: strings.Repeat("0a", 32), MediaType: "application/pdf"}}},
		ExhibitRegistered{ExhibitRef: ref, SeizureID: u(3), ParentID: up(4), RegisteredAt: at, Label: "7 of 40", Reference: "B7", Description: "jute bale",
			Category: "drug", PresumedSubstance: "cannabis resin", UnitCount: 1, Packaging: "jute", FieldTest: &FieldTest{Kit: "Duquenois-Levine", Result: "positive"},
			Attachments: []Attachment{{Kind: "photo", Digest: strings.Repeat("1b", 32), MediaType: "image/jpeg"}}, Custodian: party},
		ExhibitSealed{ExhibitRef: ref, SealNumber: "MA-S-0091207"},
		ExhibitWeighed{ExhibitRef: ref, GrossMg: 31_007_000_000, NetMg: 30_607_000_000, TareMg: 400_000_000, UncertaintyMg: 5_000, ScaleID: "TGM-SC-04",
			CalibrationRef: "CAL-2026-117", Purpose: PurposePreDestruction, HolderPresent: true, Witnesses: witnesses},
		SubSampleTaken{ExhibitRef: ref, SubSampleID: u(6), Label: "7 of 40 / S1", NetMg: 19_850, UncertaintyMg: 20, SealNumber: "MA-S-0091300", Purpose: "analysis"},
		TransferOffered{ExhibitRef: ref, TransferID: u(7), From: party, To: to, Purpose: "analysis", AuthorityRef: "REQ-TNG-2026-55", CrossBorder: true, SealNumber: "MA-S-0091207"},
		TransferAccepted{ExhibitRef: ref, TransferID: u(7), From: party, To: to, Seal: seal, Weight: weight, Remarks: "bag slightly torn at a corner"},
		TransferRejected{ExhibitRef: ref, TransferID: u(7), From: party, To: to, Reason: "not our case"},
		TransferCancelled{ExhibitRef: ref, TransferID: u(7), From: party, To: to, Reason: "wrong lab"},
		ExhibitStored{ExhibitRef: ref, Agency: "MA-DOUANE-TGM", Location: "TGM/MAGASIN-2/R3"},
		SealInspected{ExhibitRef: ref, Seal: seal, Remarks: "monthly check"},
		SealOpened{ExhibitRef: ref, SealNumber: "MA-S-0091207", Purpose: "sampling", AuthorityRef: "REQ-TNG-2026-55"},
		ExhibitResealed{ExhibitRef: ref, PreviousSeal: "MA-S-0091207", SealNumber: "MA-S-0091207-R", GrossMg: 31_006_900_000, UncertaintyMg: 5_000},
		CheckedOut{ExhibitRef: ref, CheckoutID: u(8), Custodian: party, To: Party{Agency: "MA-PARQUET-TNG", Person: "idriss", Location: "Tangier court"}, Purpose: "hearing", DueAt: at.Add(48 * time.Hour), AuthorityRef: "CONV-2026-9"},
		CheckedIn{ExhibitRef: ref, CheckoutID: u(8), Seal: seal, Weight: weight, Location: "TGM/MAGASIN-2/R3", Late: true},
		LabReceiptRecorded{ExhibitRef: ref, Lab: "MA-LAB-CASA", LabCaseNumber: "LNPS-2026-0871", Seal: seal, PackagingCondition: "intact", Weight: weight},
		AnalysisReported{ExhibitRef: ref, ReportID: u(9), Lab: "MA-LAB-CASA", Report: report},
		ReportAmended{ExhibitRef: ref, AmendmentID: u(10), ReportID: u(9), Lab: "MA-LAB-CASA", Reason: "typo in the reviewer's name", Report: report},
		DiscrepancyRaised{ExhibitRef: ref, DiscrepancyID: u(11), Kind: DiscrepancyWeight, Automatic: true, CauseEventID: up(12), ExpectedMg: 31_007_000_000,
			ObservedMg: 30_007_000_000, ToleranceMg: 7072, ExpectedSeal: "MA-S-0091207", ObservedSeal: "MA-S-0091210", Detail: "gross weight differs"},
		DiscrepancyResolved{ExhibitRef: ref, DiscrepancyID: u(11), Resolution: "scale mis-tared; re-weighed"},
		InventoryAudited{ExhibitRef: ref, InventoryRef: "INV-2026-Q2", Agency: "MA-DOUANE-TGM", Found: true, Location: "TGM/MAGASIN-2/R3", Seal: &seal, Weight: weight},
		DisposalAuthorised{ExhibitRef: ref, AuthorisationID: u(13), Authority: "MA-PARQUET-TNG", OrderRef: "ORD-2026-3310", Method: DisposalDestruction,
			NotifiedAt: at, ChallengeDeadline: at.Add(24 * time.Hour), RetainSample: true},
		ExhibitDestroyed{ExhibitRef: ref, AuthorisationID: u(13), Method: "incineration", Site: "Tanger Med incinerator", Witnesses: witnesses, PreWeightMg: 30_607_000_000},
		ExhibitReturned{ExhibitRef: ref, AuthorisationID: u(13), ReturnedTo: "OWNER-REF-9", Remarks: "signed receipt"},
		ExhibitReleased{ExhibitRef: ref, AuthorisationID: u(13), ReleasedTo: "HEALTH-AUTH", Reason: "medical research"},
		AnnotationAdded{ExhibitRef: ref, AnnotationID: u(14), Kind: "correction", Text: "label is 7 of 40", Refers: []uuid.UUID{u(15)}},
	}
}

func fixturePath(eventType string, version uint32) string {
	return filepath.Join("testdata", "events", eventType+".v"+string(rune('0'+version))+".json")
}

// TestFixtures_EveryTypeHasOne fails when an event type has no frozen
// fixture, or a fixture names no known type.
func TestFixtures_EveryTypeHasOne(t *testing.T) {
	samples := map[string]Event{}
	for _, e := range sampleEvents() {
		samples[e.EventType()] = e
	}
	for _, typ := range Events.Types() {
		path := fixturePath(typ, Events.SchemaVersion(typ))
		if _, err := os.Stat(path); os.IsNotExist(err) {
			e, ok := samples[typ]
			if !*update || !ok {
				t.Errorf("event type %s v%d has no fixture %s (add a sample to sampleEvents and run go test -run Fixtures -update)", typ, Events.SchemaVersion(typ), path)
				continue
			}
			_, _, payload, err := Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, append(payload, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		typ, _, _ := strings.Cut(name, ".v")
		if Events.SchemaVersion(typ) == 0 {
			t.Errorf("fixture %s names no known event type", f)
		}
	}
	if len(files) < len(Events.Types()) {
		t.Errorf("got %d fixtures for %d event types", len(files), len(Events.Types()))
	}
}

// TestFixtures_DecodeAndReencode: every frozen payload decodes, re-encodes
// to the same bytes, and sets every field (so the fixture pins the schema).
func TestFixtures_DecodeAndReencode(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		typ, ver, _ := strings.Cut(name, ".v")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			payload := bytes.TrimSuffix(raw, []byte("\n"))
			e, err := Decode(typ, uint32(ver[0]-'0'), payload)
			if err != nil {
				t.Fatalf("frozen fixture no longer decodes: %v", err)
			}
			gotType, gotVer, again, err := Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			if gotType != typ || gotVer != Events.SchemaVersion(typ) || !bytes.Equal(again, payload) {
				t.Fatalf("re-encoded %s v%d:\n got %s\nwant %s", gotType, gotVer, again, payload)
			}
			if zero := zeroFields(reflect.ValueOf(e), ""); len(zero) > 0 {
				t.Fatalf("fixture leaves fields unset: %v", zero)
			}
		})
	}
}

// zeroFields lists the fields of v (recursively) left at their zero value.
func zeroFields(v reflect.Value, prefix string) []string {
	var out []string
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		name := prefix + f.Name
		if f.Anonymous && fv.Kind() == reflect.Struct {
			out = append(out, zeroFields(fv, prefix)...)
			continue
		}
		if fv.IsZero() {
			out = append(out, name)
			continue
		}
		if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(time.Time{}) {
			out = append(out, zeroFields(fv, name+".")...)
		}
	}
	return out
}

func TestCodec_Refuses(t *testing.T) {
	_, _, good, _ := Encode(ExhibitSealed{ExhibitRef: ExhibitRef{ExhibitID: uuid.New(), CaseID: uuid.New()}, SealNumber: "S"})
	for _, k := range []struct {
		name    string
		typ     string
		version uint32
		payload string
	}{
		{"unknown_type", "ExhibitEaten", 1, string(good)},
		{"future_version", TypeExhibitSealed, 2, string(good)},
		{"version_zero", TypeExhibitSealed, 0, string(good)},
		{"unknown_field", TypeExhibitSealed, 1, `{"seal_number":"S","colour":"red"}`},
		{"trailing_data", TypeExhibitSealed, 1, string(good) + `{}`},
		{"trailing_garbage", TypeExhibitSealed, 1, string(good) + `}`},
		{"not_json", TypeExhibitSealed, 1, `seal`},
		{"float_quantity", TypeExhibitWeighed, 1, `{"gross_mg":1.5}`},
		{"bad_uuid", TypeExhibitSealed, 1, `{"exhibit_id":"nope"}`},
	} {
		t.Run(k.name, func(t *testing.T) {
			if e, err := Decode(k.typ, k.version, []byte(k.payload)); err == nil {
				t.Fatalf("got %+v, want an error", e)
			}
		})
	}
	if _, _, _, err := Encode(nil); err == nil {
		t.Fatal("encode nil: want an error")
	}
	if _, _, p, err := Encode(&ExhibitSealed{SealNumber: "S"}); err != nil || !strings.Contains(string(p), `"seal_number":"S"`) {
		t.Fatalf("a pointer encodes like its value: %s %v", p, err)
	}
}

// sealedV2 is a test event whose schema went from v1 ({"seal":"..."}) to v2
// ({"seal_number":"..."}) through v1 -> v2 upcasting.
type sealedV2 struct {
	SealNumber string `json:"seal_number"`
}

func (sealedV2) EventType() string { return "TestSealed" }

func TestCodec_Upcast(t *testing.T) {
	c := NewCodec()
	c.Register(sealedV2{}, 2)
	_, err := c.Decode("TestSealed", 1, []byte(`{"seal":"S-1"}`))
	if err == nil {
		t.Fatal("v1 without an upcaster: want an error")
	}
	c.RegisterUpcaster("TestSealed", 1, func(p []byte) ([]byte, error) {
		return bytes.Replace(p, []byte(`"seal"`), []byte(`"seal_number"`), 1), nil
	})
	e, err := c.Decode("TestSealed", 1, []byte(`{"seal":"S-1"}`))
	if err != nil || e.(sealedV2).SealNumber != "S-1" {
		t.Fatalf("got %+v, %v", e, err)
	}
	typ, ver, p, err := c.Encode(e)
	if err != nil || typ != "TestSealed" || ver != 2 || string(p) != `{"seal_number":"S-1"}` {
		t.Fatalf("re-encoded at the current version: %s v%d %s %v", typ, ver, p, err)
	}
}
