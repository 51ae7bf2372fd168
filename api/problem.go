package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scelle-ledger/scelle/eventstore"
)

// ProblemTypeBase prefixes the type URI of every problem scelle returns;
// docs/API.md lists them.
const ProblemTypeBase = "https://scelle.dev/problems/"

// Problem is an RFC 9457 problem details object, with scelle's extensions:
// the request ID, the rule that was broken, the field errors and the
// stream's current revision after a conflict.
type Problem struct {
	Type      string         `json:"type" doc:"A URI naming the kind of problem; docs/API.md lists them."`
	Title     string         `json:"title" doc:"A short summary of the kind of problem."`
	Status    int            `json:"status" doc:"The HTTP status code."`
	Detail    string         `json:"detail,omitempty" doc:"What went wrong in this occurrence."`
	Instance  string         `json:"instance,omitempty" doc:"The request ID of this occurrence (urn:scelle:request:...)."`
	Rule      string         `json:"rule,omitempty" doc:"The domain rule that refused the command (409)."`
	Revision  *uint64        `json:"current_revision,omitempty" doc:"The stream's revision after a conflict (409, 412)."`
	Errors    []FieldProblem `json:"errors,omitempty" doc:"One entry per bad field (422, 400)."`
	headers   http.Header
	requestID string
}

// FieldProblem names one bad field: where it is and what is wrong.
type FieldProblem struct {
	Location string `json:"location" doc:"Where the bad value is: body.exhibits[2].seal, query.cursor, header.If-Match..."`
	Message  string `json:"message" doc:"What is wrong with it."`
	Value    any    `json:"value,omitempty" doc:"The value received, when it helps."`
}

func (p *Problem) Error() string  { return p.Detail }
func (p *Problem) GetStatus() int { return p.Status }
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" || ct == "" {
		return "application/problem+json"
	}
	return ct
}

// GetHeaders adds Retry-After to 503 problems (huma.HeadersError).
func (p *Problem) GetHeaders() http.Header {
	if p.headers == nil {
		return http.Header{}
	}
	return p.headers
}

func (p *Problem) setHeader(k, v string) {
	if p.headers == nil {
		p.headers = http.Header{}
	}
	p.headers.Set(k, v)
}

func (p *Problem) retryAfter(seconds int) { p.setHeader("Retry-After", strconv.Itoa(seconds)) }

func newProblem(status int, kind, detail string) *Problem {
	return &Problem{Type: ProblemTypeBase + kind, Title: http.StatusText(status), Status: status, Detail: detail}
}

// FieldError is bad input found by the api layer itself (a header, a
// query parameter, a body that huma's schema validation let through).
type FieldError struct {
	Location string
	Message  string
}

func (e *FieldError) Error() string { return "api: " + e.Location + ": " + e.Message }

// errNotVisible is what a caller gets for anything its agency may not see:
// the same 404 whether the thing exists or not.
var errNotVisible = errors.New("not found")

// errStale: If-Match named a revision that is not the stream's current one.
type staleError struct {
	Stream  string
	Current uint64
	Exists  bool
}

func (e *staleError) Error() string { return "api: If-Match is stale for " + e.Stream }

// errUnavailable marks a dependency that cannot answer now (store closed,
// read models behind): 503 with Retry-After.
type unavailableError struct{ reason string }

func (e *unavailableError) Error() string { return "api: unavailable: " + e.reason }

// mapError turns any error into a problem. It is the one place where
// errors become HTTP statuses; unknown errors become an opaque 500 whose
// detail never echoes the error (which is logged with the request ID).
func mapError(ctx context.Context, log *slog.Logger, err error) *Problem {
	p := classify(err)
	p.requestID = requestIDFrom(ctx)
	if p.requestID != "" {
		p.Instance = "urn:scelle:request:" + p.requestID
	}
	if p.Status >= 500 {
		log.ErrorContext(ctx, "request failed", "request_id", p.requestID, "status", p.Status, "err", err)
	}
	return p
}

func classify(err error) *Problem {
	var (
		prob    *Problem
		field   *FieldError
		stale   *staleError
		unavail *unavailableError
		wrong   *eventstore.WrongRevisionError
		invalid *eventstore.InvalidError
		hstatus huma.StatusError
		forbid  *forbiddenError
	)
	if p := classifyDomain(err); p != nil {
		return p
	}
	if p := classifyReads(err); p != nil {
		return p
	}
	switch {
	case errors.As(err, &prob):
		return prob
	case errors.As(err, &field):
		p := newProblem(http.StatusUnprocessableEntity, "validation", field.Location+": "+field.Message)
		p.Errors = []FieldProblem{{Location: field.Location, Message: field.Message}}
		return p
	case errors.As(err, &forbid):
		return newProblem(http.StatusForbidden, "forbidden", forbid.Error())
	case errors.Is(err, errNotVisible), errors.Is(err, eventstore.ErrStreamNotFound):
		return newProblem(http.StatusNotFound, "not-found", "no such resource, or not visible to your agency")
	case errors.Is(err, ErrUnauthenticated):
		p := newProblem(http.StatusUnauthorized, "unauthenticated", "a valid bearer token is required: Authorization: Bearer sct_...")
		p.setHeader("WWW-Authenticate", `Bearer realm="scelle"`)
		return p
	case errors.As(err, &stale):
		p := newProblem(http.StatusPreconditionFailed, "stale", fmt.Sprintf("If-Match does not match the current revision of %s; read it again", stale.Stream))
		if stale.Exists {
			p.Revision = &stale.Current
		}
		return p
	case errors.As(err, &wrong):
		p := newProblem(http.StatusConflict, "concurrent-write", fmt.Sprintf("%s changed while this command was decided; read it again and retry", wrong.Stream))
		if wrong.Exists {
			p.Revision = &wrong.Actual
		}
		return p
	case errors.Is(err, errKeyReused), errors.Is(err, eventstore.ErrIDReused):
		return newProblem(http.StatusUnprocessableEntity, "idempotency-key-reused", "this Idempotency-Key was already used for another command")
	case errors.As(err, &invalid):
		p := newProblem(http.StatusUnprocessableEntity, "validation", invalid.Field+": "+invalid.Reason)
		p.Errors = []FieldProblem{{Location: "body." + invalid.Field, Message: invalid.Reason}}
		return p
	case errors.As(err, &unavail):
		p := newProblem(http.StatusServiceUnavailable, "unavailable", "the service cannot answer now: "+unavail.reason)
		p.retryAfter(2)
		return p
	case errors.Is(err, eventstore.ErrClosed):
		p := newProblem(http.StatusServiceUnavailable, "unavailable", "the event store is shutting down or unavailable")
		p.retryAfter(5)
		return p
	case errors.Is(err, context.DeadlineExceeded):
		p := newProblem(http.StatusServiceUnavailable, "timeout", "the request took too long; retry with the same Idempotency-Key")
		p.retryAfter(1)
		return p
	case errors.Is(err, context.Canceled):
		return newProblem(499, "canceled", "the request was canceled")
	case errors.As(err, &hstatus):
		// huma's own errors (validation, body too large...) are built by
		// humaError below and are therefore *Problem already; anything else
		// keeps its status but not its text.
		return newProblem(hstatus.GetStatus(), "http", http.StatusText(hstatus.GetStatus()))
	}
	return newProblem(http.StatusInternalServerError, "internal", "internal error; quote the request ID when reporting it")
}

// humaError replaces huma.NewError so that huma's own errors (schema
// validation, malformed JSON, oversize bodies, content negotiation) are
// problems of the same shape as ours, each naming its field.
func humaError(status int, msg string, errs ...error) huma.StatusError {
	kind := "http"
	switch status {
	case http.StatusUnprocessableEntity, http.StatusBadRequest:
		kind = "validation"
	case http.StatusRequestEntityTooLarge:
		kind = "too-large"
	case http.StatusUnsupportedMediaType:
		kind = "unsupported-media-type"
	}
	p := newProblem(status, kind, msg)
	if status == 0 {
		p.Title = ""
	}
	for _, e := range errs {
		if e == nil {
			continue
		}
		var d huma.ErrorDetailer
		if errors.As(e, &d) {
			det := d.ErrorDetail()
			p.Errors = append(p.Errors, FieldProblem{Location: det.Location, Message: det.Message, Value: det.Value})
			continue
		}
		// A raw error from huma's decoders (malformed JSON...): keep a
		// generic message; the text may carry internals.
		p.Errors = append(p.Errors, FieldProblem{Location: "body", Message: "could not be parsed"})
	}
	return p
}

func init() {
	// huma builds its own errors through this hook; ours keeps one shape.
	huma.NewError = humaError
}

// writeProblem writes a problem outside huma (middleware: 401, 413, 503).
func writeProblem(w http.ResponseWriter, p *Problem) {
	for k, v := range p.GetHeaders() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
