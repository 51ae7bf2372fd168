package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/ledger"
	"github.com/scelle-ledger/scelle/projections"
)

// EventStore is what the API needs of the event store.
type EventStore interface {
	Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error)
	ReadStream(ctx context.Context, stream string, opts eventstore.ReadOptions) ([]eventstore.RecordedEvent, error)
	ReadAll(ctx context.Context, opts eventstore.ReadOptions) ([]eventstore.RecordedEvent, error)
	SubscribeAll(ctx context.Context, opts eventstore.SubscribeOptions) (eventstore.Subscription, error)
}

// Progress is what the API needs of the projection runner: read-your-writes
// and lag.
type Progress interface {
	WaitFor(ctx context.Context, position uint64, timeout time.Duration) error
	Health(ctx context.Context) ([]projections.ProjectionHealth, error)
}

// Checkpoints is what the API needs of the checkpointer.
type Checkpoints interface {
	Latest() (ledger.SignedCheckpoint, bool)
}

// Config wires a Server. Store, Auth and DataDir are required.
type Config struct {
	Store       EventStore
	Nodes       ledger.NodeReader
	Checkpoints Checkpoints
	Progress    Progress
	Reads       ReadModels
	Auth        *AuthStore
	// DataDir holds the attachment blobs and the idempotency records.
	DataDir string
	// LogVerifierKey is the log's public key (note verifier key), served
	// to anyone who wants to verify checkpoints and bundles.
	LogVerifierKey string
	// WitnessKeys are the witnesses' public keys, served likewise.
	WitnessKeys []string
	Logger      *slog.Logger
	// Now is the server clock (nil: time.Now).
	Now     func() time.Time
	Version string
	// MaxAttachmentBytes bounds an uploaded attachment (0: 32 MiB).
	MaxAttachmentBytes int64
	// ReadWaitTimeout bounds how long a read waits for min_position (0: 5 s).
	ReadWaitTimeout time.Duration
}

// Server is scelle's HTTP interface. Handler serves it; BeginShutdown ends
// the live feeds so that http.Server.Shutdown can finish the in-flight
// writes; Close releases what New opened.
type Server struct {
	cfg     Config
	store   EventStore
	auth    *AuthStore
	idem    *idempotency
	blobs   *BlobStore
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	cache   *streamCache
	turns   streamTurns
	api     huma.API
	handler http.Handler

	shutdown      chan struct{}
	shutdownOnce  sync.Once
	checkpointing atomic.Bool
	// bg is New's context without its cancellation: the parent of
	// background work (checkpoints) that outlives a request.
	bg context.Context
}

// New builds a Server and registers every operation.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Auth == nil || cfg.DataDir == "" {
		return nil, errors.New("api: new server: Store, Auth and DataDir are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.MaxAttachmentBytes == 0 {
		cfg.MaxAttachmentBytes = 32 << 20
	}
	if cfg.ReadWaitTimeout == 0 {
		cfg.ReadWaitTimeout = 5 * time.Second
	}
	s := &Server{
		cfg: cfg, store: cfg.Store, auth: cfg.Auth, log: cfg.Logger, now: cfg.Now,
		metrics: newMetrics(), cache: newStreamCache(20000), shutdown: make(chan struct{}), bg: context.WithoutCancel(ctx),
	}
	var err error
	if s.idem, err = openIdempotency(ctx, cfg.DataDir); err != nil {
		return nil, err
	}
	if s.blobs, err = OpenBlobStore(cfg.DataDir, cfg.MaxAttachmentBytes); err != nil {
		s.idem.close()
		return nil, err
	}
	if cfg.Progress != nil {
		s.metrics.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "scelle_projection_lag_events", Help: "Events the slowest read model still has to apply.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(s.bg, time.Second)
			defer cancel()
			hs, err := cfg.Progress.Health(ctx)
			if err != nil {
				return -1
			}
			var lag int64
			for _, h := range hs {
				lag = max(lag, h.Lag)
			}
			return float64(lag)
		}))
	}

	mux := http.NewServeMux()
	s.api = humago.New(mux, apiConfig(cfg.Version))
	s.api.UseMiddleware(s.authorize)
	s.registerOperations()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, mapError(r.Context(), s.log, errNotVisible))
	})
	s.handler = s.observe(s.authenticate(mux))
	return s, nil
}

// apiConfig is huma's configuration: OpenAPI 3.1 at /openapi.json and
// /openapi.yaml, documentation at /docs, bearer security scheme.
func apiConfig(version string) huma.Config {
	cfg := huma.DefaultConfig("scelle", version)
	// Several packages export types of the same name (domain.Party and
	// projections.Party...): schema names say where a type comes from.
	cfg.Components.Schemas = huma.NewMapRegistry("#/components/schemas/", schemaName)
	// No $schema links in responses: they cost time and bytes on every call.
	cfg.CreateHooks = nil
	// The hottest bodies are written by hand (see jsonFormat).
	cfg.Formats = map[string]huma.Format{"application/json": jsonFormat, "json": jsonFormat}
	cfg.Info.Description = "Chain of custody of drug seizure exhibits: cases, seizures, exhibits, transfers, " +
		"lab results, disposal, and the integrity proofs a court checks offline. " +
		"Errors are RFC 9457 problem details; every POST takes an Idempotency-Key."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "A token issued by `scelle admin token create` (sct_...)."},
	}
	return cfg
}

// schemaName prefixes read-model types with View and ledger types with
// Ledger; domain and api types keep their names.
func schemaName(t reflect.Type, hint string) string {
	name := huma.DefaultSchemaNamer(t, hint)
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	switch t.PkgPath() {
	case "github.com/scelle-ledger/scelle/projections":
		return "View" + name
	case "github.com/scelle-ledger/scelle/ledger":
		return "Ledger" + name
	}
	return name
}

// Handler returns the HTTP handler of the whole interface.
func (s *Server) Handler() http.Handler { return s.handler }

// OpenAPI returns the OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// BeginShutdown ends the live feeds (long-lived responses) so that
// http.Server.Shutdown only waits for ordinary requests, writes included.
func (s *Server) BeginShutdown() { s.shutdownOnce.Do(func() { close(s.shutdown) }) }

// Close releases the idempotency records. Call it after the HTTP server
// has shut down.
func (s *Server) Close() error {
	s.BeginShutdown()
	if err := s.idem.close(); err != nil {
		return fmt.Errorf("api: close: %w", err)
	}
	return nil
}
