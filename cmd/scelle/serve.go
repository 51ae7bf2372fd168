package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only on SCELLE_PPROF_ADDR
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/scelle-ledger/scelle/api"
	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/kurrentdb"
	"github.com/scelle-ledger/scelle/eventstore/replica"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
	"github.com/scelle-ledger/scelle/ledger/checkpointdb"
	"github.com/scelle-ledger/scelle/projections"
)

func init() {
	register("serve", "run the HTTP API (OpenAPI 3.1) over the ledger", runServe)
}

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

// The files of a data directory.
const (
	eventsFile      = "events.db"
	replicaFile     = "replica.db" // KurrentDB mode: the notarised replica
	checkpointsFile = "checkpoints.db"
	authFile        = "auth.db"
	keysDir         = "keys"
)

type serveConfig struct {
	addr               string
	data               string
	store              string
	storeNamespace     string
	checkpointEvery    uint64
	checkpointInterval time.Duration
	tlsCert, tlsKey    string
	logLevel           string
	logName            string
	shutdownTimeout    time.Duration
}

// env returns the environment variable's value, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envUint(name string, def uint64) uint64 {
	if v, ok := os.LookupEnv(name); ok {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			return n
		}
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(name); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func serveFlags(c *serveConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", env("SCELLE_ADDR", "127.0.0.1:8080"), "address to listen on, host:port (env SCELLE_ADDR)")
	fs.StringVar(&c.data, "data", env("SCELLE_DATA", "./data"), "data directory: event store, read models, keys, tokens, attachments; created on first start (env SCELLE_DATA)")
	fs.StringVar(&c.store, "store", env("SCELLE_STORE", ""), "event store URL: empty means sqlite in the data directory; sqlite:///path/events.db; or a KurrentDB connection string, esdb://user:pass@host:2113,... (kurrentdb:// too), with the Merkle log in DATA/"+replicaFile+" (env SCELLE_STORE)")
	fs.StringVar(&c.storeNamespace, "store-namespace", env("SCELLE_STORE_NAMESPACE", ""), "KurrentDB only: prefix of this ledger's stream names in the database, so that several ledgers share a cluster; never change it once a ledger is written (env SCELLE_STORE_NAMESPACE)")
	fs.Uint64Var(&c.checkpointEvery, "checkpoint-every", envUint("SCELLE_CHECKPOINT_EVERY", 1000), "sign a checkpoint every N events appended, 0 to disable (env SCELLE_CHECKPOINT_EVERY)")
	fs.DurationVar(&c.checkpointInterval, "checkpoint-interval", envDuration("SCELLE_CHECKPOINT_INTERVAL", 10*time.Second), "sign a checkpoint this often when the log has grown, 0 to disable (env SCELLE_CHECKPOINT_INTERVAL)")
	fs.StringVar(&c.tlsCert, "tls-cert", env("SCELLE_TLS_CERT", ""), "TLS certificate file (PEM); with --tls-key, serve HTTPS (env SCELLE_TLS_CERT)")
	fs.StringVar(&c.tlsKey, "tls-key", env("SCELLE_TLS_KEY", ""), "TLS private key file (PEM) (env SCELLE_TLS_KEY)")
	fs.StringVar(&c.logLevel, "log-level", env("SCELLE_LOG_LEVEL", "info"), "debug, info, warn or error; logs are JSON on stderr (env SCELLE_LOG_LEVEL)")
	fs.StringVar(&c.logName, "log-name", env("SCELLE_LOG_NAME", "scelle-log"), "name of the log's signing key (the checkpoint origin), used when the key is first created (env SCELLE_LOG_NAME)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", envDuration("SCELLE_SHUTDOWN_TIMEOUT", 30*time.Second), "how long a shutdown waits for in-flight requests (env SCELLE_SHUTDOWN_TIMEOUT)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: scelle serve [flags]\n\n"+
			"Serve the HTTP API. On first start, creates the data directory with an\n"+
			"SQLite event store, the read models and the log's signing key.\n\n"+
			"With --store esdb://... (or kurrentdb://...) the events are written to\n"+
			"KurrentDB, the system of record, and a notary copies KurrentDB's global\n"+
			"order ($all) into DATA/"+replicaFile+", an SQLite store whose dense\n"+
			"positions are the Merkle log's leaves: checkpoints, proofs and bundles\n"+
			"work as with SQLite. Every server following one cluster derives the same\n"+
			"log. An append returns once the notary has copied it.\n\n"+
			"Flags take their default from the environment variable named in each.\n\nflags:\n")
		fs.PrintDefaults()
	}
	return fs
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c serveConfig
	fs := serveFlags(&c)
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "scelle serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		fmt.Fprintf(stderr, "scelle serve: --log-level %q: want debug, info, warn or error\n", c.logLevel)
		return 2
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		fmt.Fprintln(stderr, "scelle serve: --tls-cert and --tls-key go together")
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := serve(ctx, c, log, stdout); err != nil {
		log.Error("serve failed", "err", err)
		fmt.Fprintf(stderr, "scelle serve: %v\n", err)
		return 1
	}
	return 0
}

// storePath resolves --store to the SQLite file to open: the event store
// itself, or in KurrentDB mode the notarised replica in the data directory.
func storePath(c serveConfig) (string, error) {
	if c.store == "" {
		return filepath.Join(c.data, eventsFile), nil
	}
	u, err := url.Parse(c.store)
	if err != nil {
		return "", fmt.Errorf("--store %q: %w", c.store, err)
	}
	switch u.Scheme {
	case "sqlite":
		p := u.Path
		if u.Host != "" {
			p = filepath.Join(u.Host, u.Path)
		}
		if p == "" {
			return "", fmt.Errorf("--store %q: want sqlite:///path/to/events.db", c.store)
		}
		return p, nil
	case "esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover", "kurrent", "kurrent+discover":
		return filepath.Join(c.data, replicaFile), nil
	}
	return "", fmt.Errorf("--store %q: unknown scheme %q (want sqlite, esdb or kurrentdb)", c.store, u.Scheme)
}

// primaryURL returns the KurrentDB connection string of --store, and false
// in SQLite mode.
func primaryURL(c serveConfig) (string, bool) {
	if c.store == "" {
		return "", false
	}
	u, err := url.Parse(c.store)
	if err != nil || u.Scheme == "sqlite" {
		return "", false
	}
	return c.store, true
}

// servedStore is what serve needs of the event store: the port and the
// Merkle log's nodes. The SQLite store and the replica both are.
type servedStore interface {
	eventstore.Store
	ledger.NodeReader
}

// openStore opens the SQLite store at spath, and in KurrentDB mode the
// KurrentDB adapter and the notary that replicates it into spath (the
// replica's Healthy tells /readyz when the notary has stopped).
func openStore(ctx context.Context, c serveConfig, spath string, log *slog.Logger) (servedStore, error) {
	url, kurrent := primaryURL(c)
	// The read models' positions are those of the log they were built
	// from: a data directory serves one mode.
	other := replicaFile
	if kurrent {
		other = eventsFile
	}
	if _, err := os.Stat(filepath.Join(c.data, other)); err == nil && (kurrent || c.store == "") {
		return nil, fmt.Errorf("open event store: %s holds %s, the log of the other store mode (SQLite or KurrentDB): its read models follow that log; use another data directory", c.data, other)
	}
	if !kurrent {
		local, err := sqlite.Open(ctx, spath, sqlite.Options{})
		if err != nil {
			return nil, fmt.Errorf("open event store: %w", err)
		}
		return local, nil
	}
	primary, err := openPrimary(ctx, url, c.storeNamespace, log)
	if err != nil {
		return nil, fmt.Errorf("open event store %s: %w", redactURL(url), err)
	}
	local, err := sqlite.Open(ctx, spath, sqlite.Options{})
	if err != nil {
		_ = primary.Close()
		return nil, fmt.Errorf("open event store: %w", err)
	}
	rs, err := replica.Open(ctx, primary, local, replica.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open event store %s: %w", redactURL(url), err)
	}
	return rs, nil
}

// openPrimary opens the KurrentDB store; tests replace it to run serve's
// KurrentDB mode over another primary with the same port semantics.
var openPrimary = func(ctx context.Context, url, namespace string, log *slog.Logger) (eventstore.Store, error) {
	return kurrentdb.Open(ctx, url, kurrentdb.Options{Namespace: namespace, Logger: log})
}

// redactURL hides the password of a connection string, for logs.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable KurrentDB connection string)"
}

// logKey loads the log's signing key from the data directory, creating it
// on first start. It returns the signer, the verifier and the verifier key.
func logKey(dir, name string, now func() time.Time) (ledger.CheckpointerConfig, string, bool, error) {
	var cfg ledger.CheckpointerConfig
	kdir := filepath.Join(dir, keysDir)
	entries, err := filepath.Glob(filepath.Join(kdir, "*.key"))
	if err != nil {
		return cfg, "", false, err
	}
	created := false
	var skeyPath, vkeyPath string
	switch len(entries) {
	case 0:
		skey, vkey, err := ledger.GenerateKey(rand.Reader, name, ledger.LogKey)
		if err != nil {
			return cfg, "", false, err
		}
		if skeyPath, vkeyPath, err = ledger.WriteKeyFiles(kdir, name, skey, vkey); err != nil {
			return cfg, "", false, err
		}
		created = true
	case 1:
		skeyPath = entries[0]
		vkeyPath = strings.TrimSuffix(skeyPath, ".key") + ".vkey"
	default:
		return cfg, "", false, fmt.Errorf("%s holds %d signing keys; keep exactly one", kdir, len(entries))
	}
	signer, err := ledger.LoadSigner(skeyPath, now)
	if err != nil {
		return cfg, "", false, err
	}
	verifier, err := ledger.LoadVerifier(vkeyPath)
	if err != nil {
		return cfg, "", false, err
	}
	vkey, err := ledger.ReadVerifierKey(vkeyPath)
	if err != nil {
		return cfg, "", false, err
	}
	cfg.Signer, cfg.Verifier = signer, verifier
	return cfg, vkey, created, nil
}

func serve(ctx context.Context, c serveConfig, log *slog.Logger, stdout io.Writer) error {
	if os.Getenv("GOGC") == "" {
		// The live heap is small (tens of MB) and requests allocate fast:
		// at the default 100 the collector runs several times a second
		// under load. 400 trades some memory for that CPU.
		debug.SetGCPercent(400)
	}
	_, statErr := os.Stat(filepath.Join(c.data, authFile))
	firstStart := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(c.data, 0o750); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	spath, err := storePath(c)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, c, spath, log)
	if err != nil {
		return err
	}
	defer store.Close()

	auth, err := api.OpenAuthStore(ctx, filepath.Join(c.data, authFile))
	if err != nil {
		return err
	}
	defer auth.Close()

	reads, err := projections.Open(ctx, c.data, store, log)
	if err != nil {
		return fmt.Errorf("open read models: %w", err)
	}
	defer reads.Close()
	runner := reads.Runner

	cpCfg, vkey, keyCreated, err := logKey(c.data, c.logName, time.Now)
	if err != nil {
		return fmt.Errorf("log signing key: %w", err)
	}
	cpdb, err := checkpointdb.Open(ctx, filepath.Join(c.data, checkpointsFile))
	if err != nil {
		return fmt.Errorf("open checkpoints: %w", err)
	}
	defer cpdb.Close()
	cpCfg.Every, cpCfg.Interval, cpCfg.Logger = c.checkpointEvery, c.checkpointInterval, log
	checkpointer, err := ledger.NewCheckpointer(ctx, store, cpdb, cpCfg)
	if err != nil {
		return fmt.Errorf("checkpointer: %w", err)
	}

	srv, err := api.New(ctx, api.Config{
		Store: store, Nodes: store, Checkpoints: checkpointer, Progress: runner, Reads: reads.Models,
		Auth: auth, DataDir: c.data, LogVerifierKey: vkey, Logger: log, Version: version,
	})
	if err != nil {
		return err
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	hs.RegisterOnShutdown(srv.BeginShutdown)

	if addr := os.Getenv("SCELLE_PPROF_ADDR"); addr != "" {
		// Profiling, on a separate listener that is never the API's.
		go func() {
			log.Info("pprof listening", "addr", addr)
			_ = http.ListenAndServe(addr, http.DefaultServeMux)
		}()
	}

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	runnerDone := make(chan error, 1)
	go func() { runnerDone <- runner.Run(bg) }()
	go func() { _ = checkpointer.Run(bg) }()

	scheme := "http"
	if c.tlsCert != "" {
		scheme = "https"
	}
	base := fmt.Sprintf("%s://%s", scheme, ln.Addr())
	if url, ok := primaryURL(c); ok {
		log.Info("KurrentDB mode: notarised replica", "primary", redactURL(url), "namespace", c.storeNamespace, "replica", spath)
	}
	log.Info("listening", "addr", ln.Addr().String(), "data", c.data, "store", spath, "version", version)
	printWelcome(stdout, base, c.data, vkey, firstStart || keyCreated)
	log.Info("log verifier key", "vkey", vkey, "dir", filepath.Join(c.data, keysDir))

	errc := make(chan error, 1)
	go func() {
		if c.tlsCert != "" {
			errc <- hs.ServeTLS(ln, c.tlsCert, c.tlsKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case err := <-runnerDone:
		shutdown(hs, c.shutdownTimeout, log)
		return fmt.Errorf("read models stopped: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutdown(hs, c.shutdownTimeout, log)
	stopBG()
	log.Info("stopped")
	return nil
}

func shutdown(hs *http.Server, timeout time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		log.Warn("shutdown did not finish in time", "err", err)
	}
}

// printWelcome says how to reach the server; on first start it also says
// how to get a first token.
func printWelcome(w io.Writer, base, data, vkey string, first bool) {
	fmt.Fprintf(w, "scelle is listening on %s\n  API docs: %s/docs   OpenAPI: %s/openapi.json   health: %s/readyz\n", base, base, base, base)
	if !first {
		return
	}
	fmt.Fprintf(w, `
First start: created %[1]s (event store, read models, signing key).
  Log public key (give it to courts to verify bundles): %[2]s
  (also in %[1]s/keys/*.vkey: scelle verify BUNDLE --key %[1]s/keys/<name>.vkey)

Get a first admin token, then create agencies, users and their tokens:
  scelle admin bootstrap --data %[1]s
  scelle admin agency add --data %[1]s --code MA-DOUANE-TGM --name "Douane Tanger Med" --country MA --kind customs
  scelle admin user add   --data %[1]s --id nadia --agency MA-DOUANE-TGM --roles officer
  scelle admin token create --data %[1]s --user nadia
Then: curl -H "Authorization: Bearer sct_..." %[3]s/v1/whoami
`, data, vkey, base)
}
