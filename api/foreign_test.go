package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/scelle-ledger/scelle/api"
	"github.com/scelle-ledger/scelle/domain"
)

// allCommands lists one value of every domain command the API exposes.
var allCommands = []domain.Command{
	domain.ShareCase{}, domain.RevokeCaseSharing{}, domain.CloseCase{}, domain.RecordSeizure{},
	domain.SealExhibit{}, domain.WeighExhibit{}, domain.InspectSeal{}, domain.OpenSeal{}, domain.ResealExhibit{}, domain.StoreExhibit{},
	domain.OfferTransfer{}, domain.AcceptTransfer{}, domain.RejectTransfer{}, domain.CancelTransfer{},
	domain.TakeSubSample{}, domain.RecordLabReceipt{}, domain.ReportAnalysis{}, domain.AmendReport{},
	domain.CheckOut{}, domain.CheckIn{}, domain.RaiseDiscrepancy{}, domain.ResolveDiscrepancy{}, domain.AuditInventory{},
	domain.PlaceHold{}, domain.ReleaseHold{}, domain.AuthoriseDisposal{}, domain.DestroyExhibit{},
	domain.ReturnExhibit{}, domain.ReleaseExhibit{}, domain.AddAnnotation{},
}

// TestAuthz_foreignAgencyEveryCommand: whatever the command and whatever
// the foreign user's roles, a command aimed at a case (or at an exhibit of
// a case) the agency does not take part in is answered as if nothing
// existed, before the domain decides anything; the owner's agency gets
// past that check.
func TestAuthz_foreignAgencyEveryCommand(t *testing.T) {
	e := newEnv(t)
	caseID := openCase(e, "nadia", "MA-TGM-2026-0412")
	ex := exhibitsOf(recordSeizure(e, caseID, 1))[0]
	ids, _ := json.Marshal(map[string]any{"case_id": caseID, "exhibit_id": ex})
	foreign := []api.Principal{
		{User: "claire", Agency: "FR-DOUANE-MRS", Roles: []string{"officer"}},
		{User: "julien", Agency: "FR-LAB-MRS", Roles: []string{"analyst"}},
		{User: "helene", Agency: "FR-JI-MRS", Roles: []string{"magistrate"}},
		{User: "paul", Agency: "FR-GREFFE-MRS", Roles: []string{"custodian", "auditor"}},
	}
	owner := api.Principal{User: "karim", Agency: "MA-DOUANE-TGM", Roles: []string{"custodian"}}
	for _, c := range allCommands {
		v := reflect.New(reflect.TypeOf(c))
		if err := json.Unmarshal(ids, v.Interface()); err != nil {
			t.Fatal(err)
		}
		cmd := v.Elem().Interface().(domain.Command)
		for _, p := range foreign {
			_, err := api.Execute(e.srv, context.Background(), p, cmd, key())
			if !errors.Is(err, api.ErrNotVisible) {
				t.Errorf("%s by %s of %s: got %v, want not visible", cmd.Name(), p.User, p.Agency, err)
			}
		}
		if _, err := api.Execute(e.srv, context.Background(), owner, cmd, key()); errors.Is(err, api.ErrNotVisible) {
			t.Errorf("%s by the owner's custodian: refused as not visible", cmd.Name())
		}
	}
}
