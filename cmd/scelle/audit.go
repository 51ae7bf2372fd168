package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/mod/sumdb/note"

	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/ledger"
	"github.com/scelle-ledger/scelle/ledger/checkpointdb"
)

func init() {
	register("audit", "recompute every hash, chain link and Merkle root of a store against its signed checkpoints", runAudit)
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	data := fs.String("data", "", "data directory (events.db, checkpoints.db, keys/*.vkey)")
	storePath := fs.String("store", "", "event store file (default DATA/events.db)")
	cpPath := fs.String("checkpoints", "", "checkpoint file (default DATA/checkpoints.db)")
	keyPath := fs.String("key", "", "log verifier key file (default the one DATA/keys/*.vkey); prefer a copy kept apart from the data")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "no progress bar")
	pageSize := fs.Int("page", 8192, "events read per query")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() != 0 || (*data == "" && (*storePath == "" || *cpPath == "" || *keyPath == "")) {
		fmt.Fprintln(stderr, "usage: scelle audit --data DIR [--key VKEY] | --store EVENTS.db --checkpoints CHECKPOINTS.db --key VKEY")
		return 2
	}
	if *storePath == "" {
		*storePath = filepath.Join(*data, eventsFile)
	}
	if *cpPath == "" {
		*cpPath = filepath.Join(*data, checkpointsFile)
	}
	key, err := auditKey(*data, *keyPath)
	if err != nil {
		fmt.Fprintf(stderr, "scelle audit: %v\n", err)
		return 2
	}
	rep, err := audit(ctx, *storePath, *cpPath, key, *pageSize, *quiet, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "scelle audit: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		writeAudit(stdout, rep)
	}
	if !rep.OK {
		return 1
	}
	return 0
}

func auditKey(data, path string) (note.Verifier, error) {
	if path == "" {
		m, err := filepath.Glob(filepath.Join(data, keysDir, "*.vkey"))
		if err != nil {
			return nil, err
		}
		if len(m) != 1 {
			return nil, fmt.Errorf("found %d verifier keys in %s; name one with --key", len(m), filepath.Join(data, keysDir))
		}
		path = m[0]
	}
	return ledger.LoadVerifier(path)
}

func audit(ctx context.Context, storePath, cpPath string, key note.Verifier, pageSize int, quiet bool, stderr io.Writer) (*ledger.AuditReport, error) {
	src, err := openAuditSource(ctx, storePath)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if _, err := os.Stat(cpPath); err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	cpdb, err := checkpointdb.Open(ctx, cpPath)
	if err != nil {
		return nil, err
	}
	defer cpdb.Close()
	cps, err := cpdb.All(ctx)
	if err != nil {
		return nil, err
	}
	var bar *progressbar.ProgressBar
	opts := ledger.AuditOptions{LogKey: key, PageSize: pageSize}
	if !quiet {
		opts.Progress = func(done, total uint64) {
			if bar == nil {
				bar = progressbar.NewOptions64(int64(total), progressbar.OptionSetWriter(stderr),
					progressbar.OptionSetDescription("auditing"), progressbar.OptionShowCount(),
					progressbar.OptionShowIts(), progressbar.OptionSetItsString("events"),
					progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
			}
			bar.Set64(int64(done))
		}
	}
	return ledger.Audit(ctx, src, src, cps, opts)
}

func writeAudit(w io.Writer, r *ledger.AuditReport) {
	verdict := "INTACT"
	if !r.OK {
		verdict = "TAMPERED"
	}
	fmt.Fprintf(w, "Audit: %s\n%d events, Merkle tree of %d leaves, root %s\n%d of %d checkpoints verify with the log key\n",
		verdict, r.Events, r.TreeSize, r.Root, r.CheckpointsVerified, r.Checkpoints)
	for _, f := range r.Findings {
		fmt.Fprintf(w, "  %s\n", f)
	}
	if r.Suppressed > 0 {
		fmt.Fprintf(w, "  ... and %d more findings\n", r.Suppressed)
	}
}

// openAuditSource opens an SQLite event store read-only for an audit or a
// bundle: an audit never writes to the evidence it examines, and must read
// a store that sqlite.Open would refuse because it was tampered with. The
// table layout is the adapter's business (sqlite.AuditReader).
func openAuditSource(ctx context.Context, path string) (*sqlite.AuditReader, error) {
	src, err := sqlite.OpenAudit(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("event store: %w", err)
	}
	return src, nil
}
