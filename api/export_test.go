package api

import (
	"context"

	"github.com/scelle-ledger/scelle/domain"
)

// Execute exposes the application service to the external tests.
func Execute(s *Server, ctx context.Context, p Principal, cmd domain.Command, key string) (CommandResult, error) {
	return s.execute(ctx, p, cmd, key, "")
}

// ErrNotVisible is the error of anything an agency may not see.
var ErrNotVisible = errNotVisible
