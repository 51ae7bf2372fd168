package api

import (
	"context"
	"net/http"
	"strings"
	"unicode"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scelle-ledger/scelle/domain"
)

// commandInput is the request of every command: the command as JSON, an
// Idempotency-Key and optionally If-Match.
type commandInput[C any] struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"true" minLength:"1" maxLength:"255" doc:"Required. A key you choose per command (a UUID): a retry with the same key and body returns the first response and writes nothing; the same key with another body is refused (422)."`
	IfMatch        string `header:"If-Match" doc:"The ETag (revision) of the command's primary stream as you last read it: 412 if it changed since."`
	Body           C
}

// commandOutput is the response of every command.
type commandOutput struct {
	ETag string `header:"ETag" doc:"The primary stream's revision after the command."`
	Body CommandResult
}

// kebab turns OpenCase into open-case.
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// registerCommand exposes one domain command as POST /v1/commands/<name>.
func registerCommand[C domain.Command](s *Server, summary, description string) {
	var zero C
	id := kebab(zero.Name())
	policy[id] = writerRoles
	register(s, authenticated, huma.Operation{
		OperationID:   id,
		Method:        http.MethodPost,
		Path:          "/v1/commands/" + id,
		Tags:          []string{"commands"},
		Summary:       summary,
		Description:   description + "\n\nThe actor of the events is the authenticated user; `occurred_at` (optional, default now) may be back-dated for offline capture.",
		DefaultStatus: http.StatusOK,
		MaxBodyBytes:  1 << 20,
		Errors:        []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
	}, func(ctx context.Context, in *commandInput[C]) (*commandOutput, error) {
		p := principalOf(ctx)
		digest, err := requestDigest(id, in.Body)
		if err != nil {
			return nil, err
		}
		var res CommandResult
		err = s.idem.do(ctx, p.User, in.IdempotencyKey, digest, &res, func() (any, error) {
			return s.execute(ctx, p, in.Body, in.IdempotencyKey, in.IfMatch)
		}, s.now())
		if err != nil {
			return nil, err
		}
		return &commandOutput{ETag: etag(res.Revision), Body: res}, nil
	})
}

// registerCommands exposes every domain command.
func (s *Server) registerCommands() {
	registerCommand[domain.OpenCase](s, "Open a case", "Opens a case owned by your agency. Officers and magistrates.")
	registerCommand[domain.ShareCase](s, "Share a case with another agency", "Makes another agency a participant of the case, on a legal basis (e.g. a mutual legal assistance request). Magistrates of a participant agency.")
	registerCommand[domain.RevokeCaseSharing](s, "Revoke a case sharing", "Ends another agency's participation. Magistrates.")
	registerCommand[domain.CloseCase](s, "Close a case", "Closes a case.")
	registerCommand[domain.RecordSeizure](s, "Record a seizure with its exhibits", "Records a seizure record (PV) and registers its exhibits, optionally sealed and weighed, in the custody of your agency. Officers.")
	registerCommand[domain.SealExhibit](s, "Seal an exhibit", "Applies a seal to an exhibit.")
	registerCommand[domain.WeighExhibit](s, "Weigh an exhibit", "Records a weighing (gross, net, tare in mg, scale, calibration, uncertainty). A weight that does not reconcile raises a discrepancy.")
	registerCommand[domain.InspectSeal](s, "Inspect a seal", "Records the seal as seen. A seal that is not the last one applied raises a discrepancy.")
	registerCommand[domain.OpenSeal](s, "Open a seal", "Opens a seal, with an authorisation and a purpose.")
	registerCommand[domain.ResealExhibit](s, "Reseal an exhibit", "Applies a new seal after an authorised opening.")
	registerCommand[domain.StoreExhibit](s, "Store an exhibit", "Records the storage location of an exhibit in your custody. Custodians.")
	registerCommand[domain.OfferTransfer](s, "Offer a transfer", "Offers an exhibit to another agency, person or location. Only the current custodian's agency offers; one pending transfer at a time; a cross-border receiver must participate in the case.")
	registerCommand[domain.AcceptTransfer](s, "Accept a transfer", "The named receiver accepts, recording the seal and weight as seen: custody moves. A seal that is not the last applied, or a weight that does not reconcile, raises a discrepancy.")
	registerCommand[domain.RejectTransfer](s, "Reject a transfer", "The named receiver refuses the offered exhibit, with a reason.")
	registerCommand[domain.CancelTransfer](s, "Cancel a transfer", "The offering custodian withdraws a pending offer.")
	registerCommand[domain.TakeSubSample](s, "Take a sub-sample", "Takes a sub-sample, an exhibit of its own with a parent; its mass never exceeds what the parent holds.")
	registerCommand[domain.RecordLabReceipt](s, "Record a lab receipt", "The lab records the seal and condition of an exhibit as received. Analysts.")
	registerCommand[domain.ReportAnalysis](s, "Report an analysis", "Posts results: substances with purity and uncertainty, net weight, techniques, reviewer. Only an analyst of the lab holding the exhibit.")
	registerCommand[domain.AmendReport](s, "Amend a report", "Amends a report by a new event that references the original; nothing is edited.")
	registerCommand[domain.CheckOut](s, "Check out an exhibit", "Checks an exhibit out to a lab or a court, with a purpose and a due date.")
	registerCommand[domain.CheckIn](s, "Check an exhibit back in", "Records the return of a checked-out exhibit, seal and weight verified.")
	registerCommand[domain.RaiseDiscrepancy](s, "Raise a discrepancy", "Records a discrepancy (weight, seal, missing item...).")
	registerCommand[domain.ResolveDiscrepancy](s, "Resolve a discrepancy", "Closes a discrepancy with an explanation.")
	registerCommand[domain.AuditInventory](s, "Audit an inventory", "Records an inventory check of an exhibit.")
	registerCommand[domain.PlaceHold](s, "Place a hold", "Forbids disposal of a case or one exhibit. Magistrates.")
	registerCommand[domain.ReleaseHold](s, "Release a hold", "Lifts a hold. Magistrates.")
	registerCommand[domain.AuthoriseDisposal](s, "Authorise disposal", "A magistrate authorises destruction, return or release, with an order reference and a challenge deadline.")
	registerCommand[domain.DestroyExhibit](s, "Destroy an exhibit", "Records a destruction: needs an authorisation whose deadline passed, no hold, a witnessed pre-destruction weighing and two witnesses.")
	registerCommand[domain.ReturnExhibit](s, "Return an exhibit", "Returns an exhibit to its owner under a disposal authorisation.")
	registerCommand[domain.ReleaseExhibit](s, "Release an exhibit", "Releases an exhibit under a disposal authorisation.")
	registerCommand[domain.AddAnnotation](s, "Annotate", "Adds an annotation: corrections are annotations, nothing is ever edited. Terminal exhibits accept only annotations.")
}
