package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/scelle-ledger/scelle/ledger"
)

func init() {
	register("witness", "run a witness that cosigns consistent checkpoints (c2sp.org/tlog-witness)", runWitness)
}

func runWitness(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("witness", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	keyPath := fs.String("key", "", "witness signer key file (scelle keys generate --witness), mode 0600")
	var logs stringList
	fs.Var(&logs, "log", "verifier key file of a log to witness (repeatable)")
	state := fs.String("state", "", "directory for the witness state (witness-state.json)")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *keyPath == "" || len(logs) == 0 || *state == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: scelle witness --key SKEY --log VKEY [--log VKEY]... --state DIR [--addr HOST:PORT]")
		return 2
	}
	signer, err := ledger.LoadSigner(*keyPath, nil)
	if err != nil {
		fmt.Fprintf(stderr, "scelle witness: %v\n", err)
		return 1
	}
	vs, err := loadVerifiers(logs)
	if err != nil {
		fmt.Fprintf(stderr, "scelle witness: --log: %v\n", err)
		return 1
	}
	if err := os.MkdirAll(*state, 0o700); err != nil {
		fmt.Fprintf(stderr, "scelle witness: %v\n", err)
		return 1
	}
	w, err := ledger.NewWitness(signer, ledger.NewWitnessFile(filepath.Join(*state, "witness-state.json")), vs...)
	if err != nil {
		fmt.Fprintf(stderr, "scelle witness: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "scelle witness: %v\n", err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	log.Info("witness listening", slog.String("addr", ln.Addr().String()), slog.String("name", signer.Name()), slog.Int("logs", len(vs)))
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "scelle witness: %v\n", err)
		return 1
	}
	return 0
}
