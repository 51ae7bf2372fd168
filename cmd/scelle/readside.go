package main

import (
	"log/slog"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/projections"
)

// readModels lists the projections serve runs.
func readModels() []projections.Projection {
	return []projections.Projection{projections.Custody{}}
}

// newReadSide builds the projection runner and the queries the API uses.
func newReadSide(db *projections.DB, store eventstore.Store, log *slog.Logger) (*projections.Runner, *projections.ReadModels, error) {
	r, err := projections.NewRunner(db, store, readModels(), projections.Options{Decode: projections.DomainDecoder, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return r, projections.NewReadModels(db, r), nil
}
