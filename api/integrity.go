package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"github.com/scelle-ledger/scelle/domain"
	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
	"github.com/scelle-ledger/scelle/projections"
)

// Checkpointer is what bundles need: a checkpoint covering the log now.
type Checkpointer interface {
	Checkpoints
	Checkpoint(ctx context.Context) (ledger.SignedCheckpoint, error)
}

type textOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

// Proof is an RFC 6962 proof: hashes in base64, as in a C2SP tlog-proof.
type Proof struct {
	Index  uint64   `json:"index,omitempty" doc:"Leaf index (inclusion proofs): the event's global position."`
	From   uint64   `json:"from,omitempty" doc:"Older tree size (consistency proofs)."`
	Size   uint64   `json:"size" doc:"Tree size the proof is against."`
	Root   string   `json:"root" doc:"Root hash of the tree of that size, base64."`
	Hashes []string `json:"hashes" doc:"The proof's hashes, base64, from the leaf (or the older tree) up."`
}

type inclusionInput struct {
	Index uint64 `query:"index" required:"true" doc:"The event's global position (its leaf index)."`
	Size  uint64 `query:"size" doc:"Tree size to prove against (default: the latest checkpoint's)."`
}

type consistencyInput struct {
	From uint64 `query:"from" required:"true" minimum:"1" doc:"Older tree size."`
	To   uint64 `query:"to" doc:"Newer tree size (default: the latest checkpoint's)."`
}

type keysOutput struct {
	Body struct {
		Log       string   `json:"log" doc:"The log's note verifier key: verifies checkpoints."`
		Witnesses []string `json:"witnesses,omitempty" doc:"Witness cosignature verifier keys."`
	}
}

type bundleOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

type verifyInput struct {
	LogKey  string   `query:"log_key" doc:"A log verifier key to trust instead of this server's (what a court holds)."`
	Witness []string `query:"witness_key" doc:"Witness verifier keys to trust."`
	MinWit  int      `query:"min_witnesses" minimum:"0" maximum:"16" doc:"Cosignatures required from the trusted witnesses."`
	RawBody []byte   `contentType:"application/json" doc:"An evidence bundle, as downloaded."`
}

func b64(hs []ledger.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

// latestSize is the size of the latest signed checkpoint: the default
// size proofs are given against.
func (s *Server) latestSize() (uint64, error) {
	if s.cfg.Checkpoints == nil {
		return 0, &unavailableError{reason: "no checkpointer"}
	}
	cp, ok := s.cfg.Checkpoints.Latest()
	if !ok {
		return 0, &unavailableError{reason: "no checkpoint signed yet"}
	}
	return cp.Body.Size, nil
}

func (s *Server) treeSize(ctx context.Context) (uint64, error) {
	return s.cfg.Nodes.TreeSize(ctx)
}

func (s *Server) registerIntegrity() {
	if s.cfg.Nodes == nil {
		return
	}
	register(s, public, huma.Operation{
		OperationID: "get-checkpoint", Method: http.MethodGet, Path: "/v1/log/checkpoint", Tags: []string{"integrity"},
		Summary:     "Latest signed checkpoint",
		Description: "The latest checkpoint of the global Merkle log, as a C2SP tlog-checkpoint signed note (text/plain), with any witness cosignatures. No account needed.",
	}, func(ctx context.Context, _ *struct{}) (*textOutput, error) {
		if s.cfg.Checkpoints == nil {
			return nil, &unavailableError{reason: "no checkpointer"}
		}
		cp, ok := s.cfg.Checkpoints.Latest()
		if !ok {
			return nil, &unavailableError{reason: "no checkpoint signed yet"}
		}
		return &textOutput{ContentType: "text/plain; charset=utf-8", Body: cp.Note}, nil
	})
	register(s, public, huma.Operation{
		OperationID: "get-log-keys", Method: http.MethodGet, Path: "/v1/log/keys", Tags: []string{"integrity"},
		Summary: "Verifier keys", Description: "The log's and the witnesses' public keys. A court should obtain them out of band and compare.",
	}, func(ctx context.Context, _ *struct{}) (*keysOutput, error) {
		out := &keysOutput{}
		out.Body.Log, out.Body.Witnesses = s.cfg.LogVerifierKey, s.cfg.WitnessKeys
		return out, nil
	})
	register(s, public, huma.Operation{
		OperationID: "get-inclusion-proof", Method: http.MethodGet, Path: "/v1/log/proofs/inclusion", Tags: []string{"integrity"},
		Summary: "Inclusion proof", Description: "Proves that the event at a global position is a leaf of the tree of a given size. No account needed.",
	}, func(ctx context.Context, in *inclusionInput) (*body[Proof], error) {
		size := in.Size
		if size == 0 {
			var err error
			if size, err = s.latestSize(); err != nil {
				return nil, err
			}
		}
		if err := s.checkSize(ctx, "query.size", size); err != nil {
			return nil, err
		}
		if in.Index >= size {
			return nil, &FieldError{Location: "query.index", Message: fmt.Sprintf("%d is not below the tree size %d", in.Index, size)}
		}
		hs, err := ledger.InclusionProof(ctx, s.cfg.Nodes, in.Index, size)
		if err != nil {
			return nil, err
		}
		root, err := ledger.RootAt(ctx, s.cfg.Nodes, size)
		if err != nil {
			return nil, err
		}
		return &body[Proof]{Proof{Index: in.Index, Size: size, Root: base64.StdEncoding.EncodeToString(root[:]), Hashes: b64(hs)}}, nil
	})
	register(s, public, huma.Operation{
		OperationID: "get-consistency-proof", Method: http.MethodGet, Path: "/v1/log/proofs/consistency", Tags: []string{"integrity"},
		Summary: "Consistency proof", Description: "Proves that the tree of size `to` extends the tree of size `from` (append-only). No account needed.",
	}, func(ctx context.Context, in *consistencyInput) (*body[Proof], error) {
		to := in.To
		if to == 0 {
			var err error
			if to, err = s.latestSize(); err != nil {
				return nil, err
			}
		}
		if err := s.checkSize(ctx, "query.to", to); err != nil {
			return nil, err
		}
		if in.From > to {
			return nil, &FieldError{Location: "query.from", Message: fmt.Sprintf("%d is above to=%d", in.From, to)}
		}
		hs, err := ledger.ConsistencyProof(ctx, s.cfg.Nodes, in.From, to)
		if err != nil {
			return nil, err
		}
		root, err := ledger.RootAt(ctx, s.cfg.Nodes, to)
		if err != nil {
			return nil, err
		}
		return &body[Proof]{Proof{From: in.From, Size: to, Root: base64.StdEncoding.EncodeToString(root[:]), Hashes: b64(hs)}}, nil
	})
	register(s, public, huma.Operation{
		OperationID: "verify-bundle", Method: http.MethodPost, Path: "/v1/verify", Tags: []string{"integrity"},
		Summary:      "Verify an evidence bundle",
		Description:  "Checks a bundle as `scelle verify` does offline: checkpoint signature, cosignatures, hash chains, payload digests, inclusion proofs. By default the log key trusted is this server's; pass log_key to trust your own copy. No account needed. Responds 200 with the report whether the bundle passes or not: read `ok`.",
		MaxBodyBytes: 64 << 20,
		// The raw body is checked by the handler, not as a JSON schema.
		SkipValidateBody: true,
		Errors:           []int{http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *verifyInput) (*body[ledger.Report], error) {
		b, err := ledger.DecodeBundle(in.RawBody)
		if err != nil {
			return nil, &FieldError{Location: "body", Message: "not an evidence bundle: " + trimPrefix(err.Error(), "ledger: ")}
		}
		lk := s.cfg.LogVerifierKey
		if in.LogKey != "" {
			lk = in.LogKey
		}
		lv, err := ledger.NewVerifier(lk)
		if err != nil {
			return nil, &FieldError{Location: "query.log_key", Message: "not a verifier key"}
		}
		var wvs []note.Verifier
		for i, k := range in.Witness {
			v, err := ledger.NewVerifier(k)
			if err != nil {
				return nil, &FieldError{Location: fmt.Sprintf("query.witness_key[%d]", i), Message: "not a verifier key"}
			}
			wvs = append(wvs, v)
		}
		rep := ledger.Verify(b, []note.Verifier{lv}, wvs, ledger.Policy{MinWitnesses: in.MinWit})
		return &body[ledger.Report]{*rep}, nil
	})
	cp, ok := s.cfg.Checkpoints.(Checkpointer)
	if !ok {
		return
	}
	register(s, authenticated, huma.Operation{
		OperationID: "download-exhibit-bundle", Method: http.MethodGet, Path: "/v1/exhibits/{id}/bundle", Tags: []string{"integrity"},
		Summary:     "Evidence bundle of an exhibit",
		Description: "One file with the exhibit's whole history, its parent's and its sub-samples', each event with its inclusion proof against a signed checkpoint, and the verifier keys: `scelle verify` checks it offline.",
		Errors:      []int{http.StatusNotFound},
	}, func(ctx context.Context, in *historyInput) (*bundleOutput, error) {
		id, err := parseID("path.id", in.ID)
		if err != nil {
			return nil, err
		}
		l, err := s.load(ctx, principalOf(ctx), domain.Targets{Exhibits: []uuid.UUID{id}})
		if err != nil {
			return nil, err
		}
		if _, ok := l.view.Exhibits[id]; !ok {
			return nil, errNotVisible
		}
		var streams []string
		for xid := range l.view.Exhibits {
			streams = append(streams, domain.ExhibitStream(xid))
		}
		return s.bundle(ctx, cp, streams, "exhibit "+id.String(), "exhibit-"+id.String())
	})
	register(s, authenticated, huma.Operation{
		OperationID: "download-case-bundle", Method: http.MethodGet, Path: "/v1/cases/{id}/bundle", Tags: []string{"integrity"},
		Summary:     "Evidence bundle of a case",
		Description: "One file with the case's history, its seizures' and every exhibit's, each event with its inclusion proof and the signed checkpoint.",
		Errors:      []int{http.StatusNotFound},
	}, func(ctx context.Context, in *historyInput) (*bundleOutput, error) {
		id, err := parseID("path.id", in.ID)
		if err != nil {
			return nil, err
		}
		p := principalOf(ctx)
		if err := s.visibleStream(ctx, p, "case", id); err != nil {
			return nil, err
		}
		streams := []string{domain.CaseStream(id)}
		seizures := map[uuid.UUID]bool{}
		if s.cfg.Reads == nil {
			return nil, &unavailableError{reason: "no read models"}
		}
		page := projections.Page{Limit: projections.MaxLimit}
		for {
			pg, err := s.cfg.Reads.Exhibits(ctx, p.Agency, projections.ExhibitFilter{CaseID: &id, Now: s.now()}, page)
			if err != nil {
				return nil, err
			}
			for _, x := range pg.Items {
				streams = append(streams, "exhibit-"+x.ExhibitID)
				if x.SeizureID != "" {
					if sid, err := uuid.Parse(x.SeizureID); err == nil {
						seizures[sid] = true
					}
				}
			}
			if pg.NextCursor == "" {
				break
			}
			page.Cursor = pg.NextCursor
		}
		for sid := range seizures {
			streams = append(streams, domain.SeizureStream(sid))
		}
		return s.bundle(ctx, cp, streams, "case "+id.String(), "case-"+id.String())
	})
}

func (s *Server) checkSize(ctx context.Context, location string, size uint64) error {
	n, err := s.treeSize(ctx)
	if err != nil {
		return err
	}
	if size > n {
		return &FieldError{Location: location, Message: fmt.Sprintf("%d is above the log's size %d", size, n)}
	}
	return nil
}

// bundle reads whole streams and builds a bundle against a checkpoint
// that covers them all.
func (s *Server) bundle(ctx context.Context, cp Checkpointer, streams []string, desc, name string) (*bundleOutput, error) {
	slices.Sort(streams)
	streams = slices.Compact(streams)
	var evs []ledger.StoredEvent
	for _, st := range streams {
		recs, err := s.store.ReadStream(ctx, st, eventstore.ReadOptions{From: eventstore.Start})
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			evs = append(evs, ledger.StoredEvent{Envelope: r.Envelope, Hash: r.Hash, Payload: r.Payload, Position: r.Position})
		}
	}
	signed, err := cp.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	b, err := ledger.BuildBundle(ctx, evs, s.cfg.Nodes, signed.Note, ledger.BuildOptions{
		Description: desc, LogKey: s.cfg.LogVerifierKey, WitnessKeys: s.cfg.WitnessKeys, Now: s.now(),
	})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := b.Encode(&buf); err != nil {
		return nil, err
	}
	return &bundleOutput{ContentType: "application/json", ContentDisposition: fmt.Sprintf(`attachment; filename="%s.bundle.json"`, name), Body: buf.Bytes()}, nil
}

func trimPrefix(s, p string) string {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
