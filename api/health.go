package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/projections"
)

// MaxReadyLag is the projection lag (events) above which /readyz reports
// the server not ready: reads would be stale.
const MaxReadyLag = 10000

type healthOutput struct {
	Body struct {
		Status  string `json:"status" example:"ok"`
		Version string `json:"version"`
	}
}

type readyOutput struct {
	Body readiness
}

type readiness struct {
	Ready       bool                           `json:"ready"`
	Store       string                         `json:"store" doc:"ok, or why the event store cannot be read"`
	Head        int64                          `json:"head" doc:"The store's last global position, -1 when empty."`
	Projections []projections.ProjectionHealth `json:"projections,omitempty"`
	MaxLag      int64                          `json:"max_lag"`
}

// readyError is a 503 carrying the readiness report.
type readyError struct{ r readiness }

func (e *readyError) Error() string             { return "not ready" }
func (e *readyError) GetStatus() int            { return http.StatusServiceUnavailable }
func (e *readyError) ContentType(string) string { return "application/json" }

type whoamiOutput struct {
	Body struct {
		User   string   `json:"user"`
		Name   string   `json:"name"`
		Agency string   `json:"agency"`
		Roles  []string `json:"roles"`
		Token  string   `json:"token_id"`
	}
}

func (s *Server) registerHealth() {
	register(s, public, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: []string{"operations"},
		Summary: "Liveness", Description: "200 while the process serves HTTP.",
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		out := &healthOutput{}
		out.Body.Status, out.Body.Version = "ok", s.cfg.Version
		return out, nil
	})
	register(s, public, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: []string{"operations"},
		Summary:     "Readiness",
		Description: fmt.Sprintf("200 when the event store answers and every read model is less than %d events behind; 503 otherwise, with the same report.", MaxReadyLag),
	}, func(ctx context.Context, _ *struct{}) (*readyOutput, error) {
		r := s.readiness(ctx)
		if !r.Ready {
			return nil, &Problem{Type: ProblemTypeBase + "not-ready", Title: "Service Unavailable", Status: http.StatusServiceUnavailable,
				Detail: fmt.Sprintf("store: %s; slowest read model is %d events behind", r.Store, r.MaxLag), headers: http.Header{"Retry-After": {"2"}}}
		}
		return &readyOutput{Body: r}, nil
	})
	register(s, authenticated, huma.Operation{
		OperationID: "whoami", Method: http.MethodGet, Path: "/v1/whoami", Tags: []string{"operations"},
		Summary: "The authenticated principal", Description: "Who the bearer token stands for: the actor of the events it causes.",
	}, func(ctx context.Context, _ *struct{}) (*whoamiOutput, error) {
		p := principalOf(ctx)
		out := &whoamiOutput{}
		out.Body.User, out.Body.Name, out.Body.Agency, out.Body.Roles, out.Body.Token = p.User, p.Name, p.Agency, p.Roles, p.TokenID
		return out, nil
	})
}

func (s *Server) readiness(ctx context.Context) readiness {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	r := readiness{Ready: true, Store: "ok", Head: -1}
	evs, err := s.store.ReadAll(ctx, eventstore.ReadOptions{Direction: eventstore.Backwards, From: eventstore.End, Count: 1})
	if err != nil {
		r.Ready, r.Store = false, "unavailable"
	} else if len(evs) == 1 {
		r.Head = int64(evs[0].Position)
	}
	if h, ok := s.store.(interface{ Healthy(context.Context) error }); ok && r.Store == "ok" {
		// A store that copies another (KurrentDB mode's notarised replica)
		// answers reads while its copying has stopped: appends would hang.
		if err := h.Healthy(ctx); err != nil {
			r.Ready, r.Store = false, err.Error()
		}
	}
	if err := s.auth.Ping(ctx); err != nil {
		r.Ready = false
	}
	if s.cfg.Progress != nil {
		hs, err := s.cfg.Progress.Health(ctx)
		if err != nil {
			r.Ready = false
		}
		r.Projections = hs
		for _, h := range hs {
			r.MaxLag = max(r.MaxLag, h.Lag)
		}
		if r.MaxLag > MaxReadyLag {
			r.Ready = false
		}
	}
	return r
}
