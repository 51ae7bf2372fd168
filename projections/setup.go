package projections

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/scelle-ledger/scelle/eventstore"
)

// All returns scelle's projections, in the order they are fed.
func All() []Projection { return []Projection{Custody{}, Stats{}, Feed{}} }

// Service is the read side as a server wires it: the database, the runner
// (start Run in a goroutine) and the query API.
type Service struct {
	DB     *DB
	Runner *Runner
	Models *ReadModels
}

// Open opens dataDir's read-model database (FileName), prepares every
// projection (Runner.Init: version changes are rebuilt from zero) and
// returns the service. The caller runs s.Runner.Run(ctx) and Closes s.
func Open(ctx context.Context, dataDir string, store eventstore.Store, logger *slog.Logger) (*Service, error) {
	db, err := OpenDB(ctx, filepath.Join(dataDir, FileName))
	if err != nil {
		return nil, err
	}
	r, err := NewRunner(db, store, All(), Options{Decode: DomainDecoder, Logger: logger})
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := r.Init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("projections: open %s: %w", dataDir, err)
	}
	return &Service{DB: db, Runner: r, Models: NewReadModels(db, r)}, nil
}

// Close closes the database; stop Run first.
func (s *Service) Close() error { return s.DB.Close() }
