package api

import (
	"context"
	"fmt"
	"reflect"

	"github.com/scelle-ledger/scelle/domain"
	"github.com/scelle-ledger/scelle/eventstore"
)

// Execute exposes the application service to the external tests.
func Execute(s *Server, ctx context.Context, p Principal, cmd domain.Command, key string) (CommandResult, error) {
	return s.execute(ctx, p, cmd, key, "")
}

// ErrNotVisible is the error of anything an agency may not see.
var ErrNotVisible = errNotVisible

// CheckFoldedStates checks the command side's cached states against the
// store: every stream's folded state, and every copy advance makes at each
// point of its history, equals a fresh fold of the same events, and advance
// leaves the state it starts from as it was.
func CheckFoldedStates(ctx context.Context, s *Server, streams []string) error {
	for _, stream := range streams {
		recs, err := s.store.ReadStream(ctx, stream, eventstore.ReadOptions{From: eventstore.Start})
		if err != nil {
			return fmt.Errorf("%s: %w", stream, err)
		}
		evs := make([]domain.Event, len(recs))
		for i, r := range recs {
			if evs[i], err = domain.Decode(r.Type, r.SchemaVersion, r.Payload); err != nil {
				return fmt.Errorf("%s@%d: %w", stream, i, err)
			}
		}
		kind, _, _ := domain.ParseStream(stream)
		fold := func(evs []domain.Event) domain.State {
			switch kind {
			case "case":
				return domain.NewCase(evs...)
			case "seizure":
				return domain.NewSeizure(evs...)
			}
			return domain.NewExhibit(evs...)
		}
		all := fold(evs)
		if cached, ok := s.cache.state(stream); ok && !reflect.DeepEqual(cached, all) {
			return fmt.Errorf("%s: cached state\n%+v\nfresh fold\n%+v", stream, cached, all)
		}
		for k := 1; k < len(evs); k++ {
			st, before := fold(evs[:k]), fold(evs[:k])
			got := advance(st, evs[k:])
			if !reflect.DeepEqual(st, before) {
				return fmt.Errorf("%s: advance from %d modified the state it started from", stream, k)
			}
			if !reflect.DeepEqual(got, all) {
				return fmt.Errorf("%s: advance from %d\n%+v\nfresh fold\n%+v", stream, k, got, all)
			}
		}
	}
	return nil
}
