package domain

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestSeizure_Record(t *testing.T) {
	cmd := func(mod func(*RecordSeizure)) func(f *fx) Command {
		return func(f *fx) Command {
			c := seizureCmd(f.c, 3, true)
			if mod != nil {
				mod(&c)
			}
			return c
		}
	}
	x3 := []string{TypeExhibitRegistered, TypeExhibitSealed, TypeExhibitWeighed}
	run(t, emptyCase(FrameworkCustoms), []tc{
		{name: "ok", by: nadia, when: cmd(nil), want: append(append(append(slices.Clone(x3), x3...), x3...), TypeSeizureRecorded),
			check: func(t *testing.T, w *world, f *fx, d Decision) {
				if len(d.Appends) != 4 {
					t.Fatalf("got %d appends, want 3 exhibit streams then the seizure", len(d.Appends))
				}
				s := find[SeizureRecorded](t, d)
				if last := d.Appends[3]; last.Stream != SeizureStream(s.SeizureID) || last.ExpectedRevision != NoStream {
					t.Fatalf("last append %s, want the seizure stream created", last.Stream)
				}
				for i, id := range s.ExhibitIDs {
					a := d.Appends[i]
					if a.Stream != ExhibitStream(id) || a.ExpectedRevision != NoStream {
						t.Fatalf("append %d: %s, want %s created", i, a.Stream, ExhibitStream(id))
					}
					x := w.exhibit(id)
					if x.Status() != StatusSealed || x.Custodian.Agency != nadia.Agency || !x.Mass.Known || !x.RegisteredAt.Equal(t0.Add(-2*time.Hour)) {
						t.Fatalf("exhibit %d: status %s custodian %v mass %+v", i, x.Status(), x.Custodian, x.Mass)
					}
				}
				if !d.Appends[0].Events[0].OccurredAt.Equal(t0.Add(-30 * time.Minute)) {
					t.Fatalf("occurred_at %v, want the closing time", d.Appends[0].Events[0].OccurredAt)
				}
				if s.LegalFramework != FrameworkCustoms {
					t.Fatalf("framework %q, want the case's", s.LegalFramework)
				}
			}},
		{name: "unsealed_exhibits", by: nadia, when: func(f *fx) Command { return seizureCmd(f.c, 2, false) },
			want: []string{TypeExhibitRegistered, TypeExhibitRegistered, TypeSeizureRecorded}},
		{name: "magistrate_forbidden", by: idriss, when: cmd(nil), is: ErrForbidden},
		{name: "non_participant_forbidden", by: claire, when: cmd(func(c *RecordSeizure) { c.Custodian.Agency = claire.Agency }), is: ErrForbidden},
		{name: "case_closed", by: nadia, given: func(w *world, f *fx) { w.must(nadia, CloseCase{CaseID: f.c, Reason: "r"}) }, when: cmd(nil), rule: "case.closed"},
		{name: "custodian_other_agency", by: nadia, when: cmd(func(c *RecordSeizure) { c.Custodian.Agency = "MA-LAB-CASA" }), rule: "seizure.custodian-agency"},
		{name: "duplicate_label", by: nadia, when: cmd(func(c *RecordSeizure) { c.Exhibits[1].Label = c.Exhibits[0].Label }), is: ErrValidation, field: "exhibits[1].label"},
		{name: "duplicate_seal", by: nadia, when: cmd(func(c *RecordSeizure) { c.Exhibits[2].SealNumber = c.Exhibits[0].SealNumber }), is: ErrValidation, field: "exhibits[2].seal_number"},
		{name: "gross_not_net_plus_tare", by: nadia, when: cmd(func(c *RecordSeizure) { c.Exhibits[0].Weighing.TareMg++ }), is: ErrValidation, field: "exhibits[0].weighing.gross_mg"},
		{name: "closed_before_seized", by: nadia, when: cmd(func(c *RecordSeizure) { c.ClosedAt = c.SeizedAt.Add(-time.Minute) }), is: ErrValidation, field: "closed_at"},
		{name: "closed_in_future", by: nadia, when: cmd(func(c *RecordSeizure) { c.ClosedAt = t0.Add(time.Hour); c.OccurredAt = t0 }), is: ErrValidation, field: "closed_at"},
		{name: "occurred_before_seized", by: nadia, when: cmd(func(c *RecordSeizure) { c.OccurredAt = c.SeizedAt.Add(-time.Minute) }), rule: "time.before-registration"},
		{name: "no_exhibits", by: nadia, when: cmd(func(c *RecordSeizure) { c.Exhibits = nil }), is: ErrValidation, field: "exhibits"},
		{name: "no_country", by: nadia, when: cmd(func(c *RecordSeizure) { c.Place.Country = "" }), is: ErrValidation, field: "place.country"},
		{name: "bad_coordinates", by: nadia, when: cmd(func(c *RecordSeizure) { c.Place.Coordinates.LatE7 = 910000000 }), is: ErrValidation, field: "place.coordinates.lat_e7"},
		{name: "no_officers", by: nadia, when: cmd(func(c *RecordSeizure) { c.Officers = nil }), is: ErrValidation, field: "officers"},
		{name: "bad_attachment_digest", by: nadia, when: cmd(func(c *RecordSeizure) {
			c.Exhibits[0].Attachments = []Attachment{{Kind: "photo", Digest: "not-a-digest"}}
		}), is: ErrValidation, field: "exhibits[0].attachments[0].digest"},
		{name: "bad_field_test", by: nadia, when: cmd(func(c *RecordSeizure) { c.Exhibits[0].FieldTest = &FieldTest{Kit: "Duquenois"} }),
			is: ErrValidation, field: "exhibits[0].field_test.result"},
	})
}

// TestSeizure_RetryAfterCrash: a crash after any number of appends is
// completed by retrying the same command with the same key; until the
// seizure record exists, its exhibits are not found.
func TestSeizure_RetryAfterCrash(t *testing.T) {
	for crashAfter := 0; crashAfter <= 3; crashAfter++ {
		w := newWorld(t)
		c := openCase(w, FrameworkCustoms)
		cmd := seizureCmd(c, 3, true)
		d, err := Decide(nadia, cmd, w.view(cmd), w.now, "seizure-key")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.append(d, crashAfter); err != nil {
			t.Fatal(err)
		}
		ids := find[SeizureRecorded](t, d).ExhibitIDs
		if crashAfter > 0 {
			_, err := w.decide(karim, SealExhibit{ExhibitID: ids[0], SealNumber: "X"})
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("crash after %d: half-registered exhibit: got %v, want ErrNotFound", crashAfter, err)
			}
		}
		w.advance(time.Minute)
		retry, err := w.doKey(nadia, cmd, "seizure-key")
		if err != nil {
			t.Fatalf("crash after %d: retry: %v", crashAfter, err)
		}
		if !slices.EqualFunc(retry.Events(), d.Events(), func(a, b NewEvent) bool { return a.ID == b.ID }) {
			t.Fatalf("crash after %d: retry produced other event IDs", crashAfter)
		}
		for _, id := range ids {
			if got := len(w.streams[ExhibitStream(id)]); got != 3 {
				t.Fatalf("crash after %d: exhibit stream has %d events, want 3", crashAfter, got)
			}
		}
		if _, err := w.do(nadia, OfferTransfer{ExhibitID: ids[0], To: Party{Agency: karim.Agency, Person: "karim"}, Purpose: "storage"}); err != nil {
			t.Fatalf("crash after %d: exhibit not usable after retry: %v", crashAfter, err)
		}
	}
}
