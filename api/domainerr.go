package api

import (
	"errors"
	"net/http"

	"github.com/scelle-ledger/scelle/domain"
)

// classifyDomain maps the domain's typed errors to problems: validation
// 422 naming every field, rules 409 naming the rule, not found 404,
// forbidden 403. It returns nil for any other error.
func classifyDomain(err error) *Problem {
	var (
		ve *domain.ValidationError
		re *domain.RuleError
	)
	switch {
	case errors.As(err, &ve):
		p := newProblem(http.StatusUnprocessableEntity, "validation", "invalid "+ve.Command)
		for _, f := range ve.Fields {
			p.Errors = append(p.Errors, FieldProblem{Location: "body." + f.Field, Message: f.Reason})
		}
		if len(ve.Fields) > 0 {
			p.Detail += ": body." + ve.Fields[0].Field + " " + ve.Fields[0].Reason
		}
		return p
	case errors.As(err, &re):
		p := newProblem(http.StatusConflict, "rule", re.Message)
		p.Rule = re.Code
		if re.Field != "" {
			p.Errors = []FieldProblem{{Location: "body." + re.Field, Message: re.Message}}
		}
		return p
	case errors.Is(err, domain.ErrNotFound):
		return newProblem(http.StatusNotFound, "not-found", "no such resource, or not visible to your agency")
	case errors.Is(err, domain.ErrForbidden):
		// The domain's message names the role or agency needed; it never
		// carries data of a case the caller cannot see.
		p := newProblem(http.StatusForbidden, "forbidden", "your role or agency may not do this")
		if msg := forbiddenDetail(err); msg != "" {
			p.Detail = msg
		}
		return p
	}
	return nil
}

// forbiddenDetail returns the domain's explanation of a refusal, stripped
// of the "domain: " prefix.
func forbiddenDetail(err error) string {
	s := err.Error()
	const prefix = "domain: "
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		s = s[len(prefix):]
	}
	const suffix = ": domain: forbidden"
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		s = s[:len(s)-len(suffix)]
	}
	return s
}
