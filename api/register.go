package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// access says who may call an operation.
type access int

const (
	// authenticated: a bearer token and a role listed in policy.
	authenticated access = iota
	// public: anyone (checkpoints, proofs, verification, health).
	public
)

// register adds an operation whose handler errors all go through mapError,
// after authentication and the role check of policy. It is the only way
// operations are added.
func register[I, O any](s *Server, acc access, op huma.Operation, h func(ctx context.Context, in *I) (*O, error)) {
	if acc == authenticated {
		if _, ok := policy[op.OperationID]; !ok {
			panic("api: operation " + op.OperationID + " has no entry in policy")
		}
		op.Security = []map[string][]string{{"bearer": {}}}
		op.Errors = appendStatus(op.Errors, http.StatusUnauthorized, http.StatusForbidden)
	}
	op.Errors = appendStatus(op.Errors, http.StatusUnprocessableEntity, http.StatusServiceUnavailable)
	huma.Register(s.api, op, func(ctx context.Context, in *I) (*O, error) {
		if acc == authenticated {
			p, ok := PrincipalFrom(ctx)
			if !ok {
				return nil, mapError(ctx, s.log, ErrUnauthenticated)
			}
			if err := allow(op.OperationID, p); err != nil {
				return nil, mapError(ctx, s.log, err)
			}
		}
		out, err := h(ctx, in)
		if err != nil {
			return nil, mapError(ctx, s.log, err)
		}
		return out, nil
	})
}

// authorize runs after routing and before huma reads the request: an
// operation that needs a token answers 401 without one and 403 for a role
// policy does not list, before any body validation can tell the caller
// anything.
func (s *Server) authorize(hc huma.Context, next func(huma.Context)) {
	op := hc.Operation()
	if op == nil || len(op.Security) == 0 {
		next(hc)
		return
	}
	ctx := hc.Context()
	p, ok := PrincipalFrom(ctx)
	var err error
	if !ok {
		err = ErrUnauthenticated
	} else {
		err = allow(op.OperationID, p)
	}
	if err != nil {
		_, w := humago.Unwrap(hc)
		writeProblem(w, mapError(ctx, s.log, err))
		return
	}
	next(hc)
}

func appendStatus(have []int, add ...int) []int {
	for _, a := range add {
		found := false
		for _, h := range have {
			found = found || h == a
		}
		if !found {
			have = append(have, a)
		}
	}
	return have
}
