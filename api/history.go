package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/domain"
	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
)

// HistoryEvent is one stored event with everything its hash covers.
type HistoryEvent struct {
	Position uint64 `json:"position" doc:"Global position: the event's leaf index in the Merkle log."`
	ledger.Envelope
	Hash    ledger.Hash     `json:"hash" doc:"SHA-256 of the canonical envelope: the event's link in its stream's hash chain."`
	Payload json.RawMessage `json:"payload" doc:"The event's payload, whose SHA-256 is payload_digest."`
}

// History is a stream's full history, oldest first.
type History struct {
	Stream        string         `json:"stream"`
	Revision      uint64         `json:"revision"`
	ChainVerified bool           `json:"chain_verified" doc:"Every hash and prev_hash link was recomputed by the server on this read."`
	Events        []HistoryEvent `json:"events"`
}

type historyInput struct {
	ID string `path:"id" format:"uuid" doc:"The UUID of the case, seizure or exhibit."`
}

// visibleStream checks that the principal's agency participates in the
// case the stream belongs to, and returns 404 otherwise.
func (s *Server) visibleStream(ctx context.Context, p Principal, kind string, id uuid.UUID) error {
	var t domain.Targets
	switch kind {
	case "case":
		t.Cases = []uuid.UUID{id}
	case "seizure":
		t.Seizures = []uuid.UUID{id}
	case "exhibit":
		t.Exhibits = []uuid.UUID{id}
	}
	l, err := s.load(ctx, p, t)
	if err != nil {
		return err
	}
	if len(l.view.Cases) == 0 {
		return errNotVisible
	}
	return nil
}

func (s *Server) history(ctx context.Context, kind, rawID string) (*itemOutput[History], error) {
	id, err := parseID("path.id", rawID)
	if err != nil {
		return nil, err
	}
	if err := s.visibleStream(ctx, principalOf(ctx), kind, id); err != nil {
		return nil, err
	}
	stream := kind + "-" + id.String()
	recs, err := s.store.ReadStream(ctx, stream, eventstore.ReadOptions{From: eventstore.Start})
	if err != nil {
		return nil, err
	}
	h := History{Stream: stream, Events: make([]HistoryEvent, len(recs))}
	envs := make([]ledger.Envelope, len(recs))
	hashes := make([]ledger.Hash, len(recs))
	for i, r := range recs {
		h.Events[i] = HistoryEvent{Position: r.Position, Envelope: r.Envelope, Hash: r.Hash, Payload: r.Payload}
		envs[i], hashes[i] = r.Envelope, r.Hash
		h.Revision = r.Revision
	}
	if err := ledger.VerifyChain(envs, hashes); err != nil {
		return nil, fmt.Errorf("api: history of %s: stored chain does not verify: %w", stream, err)
	}
	h.ChainVerified = true
	return &itemOutput[History]{ETag: etag(h.Revision), Body: h}, nil
}

func (s *Server) registerHistory() {
	for _, k := range []struct{ kind, path, tag string }{
		{"case", "/v1/cases/{id}/history", "cases"},
		{"seizure", "/v1/seizures/{id}/history", "cases"},
		{"exhibit", "/v1/exhibits/{id}/history", "exhibits"},
	} {
		register(s, authenticated, huma.Operation{
			OperationID: "get-" + k.kind + "-history", Method: http.MethodGet, Path: k.path, Tags: []string{k.tag},
			Summary:     "Full history of a " + k.kind + ", with hashes",
			Description: "Every event of the " + k.kind + "'s stream, oldest first, with its envelope (actor, times, digests), its hash and its global position. The server re-verifies the hash chain on every read.",
			Errors:      []int{http.StatusNotFound},
		}, func(ctx context.Context, in *historyInput) (*itemOutput[History], error) {
			return s.history(ctx, k.kind, in.ID)
		})
	}
}
