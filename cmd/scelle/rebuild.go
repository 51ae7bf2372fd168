package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/scelle-ledger/scelle/eventstore/sqlite"
	"github.com/scelle-ledger/scelle/projections"
)

func init() {
	register("rebuild", "rebuild read models from zero beside the live ones, then swap", runRebuild)
}

func runRebuild(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c serveConfig
	var quiet, verbose bool
	fs := flag.NewFlagSet("rebuild", flag.ContinueOnError)
	fs.StringVar(&c.data, "data", env("SCELLE_DATA", "./data"), "data directory holding the event store and the read models (env SCELLE_DATA)")
	fs.StringVar(&c.store, "store", env("SCELLE_STORE", ""), "event store URL; empty means sqlite in the data directory, or sqlite:///path/events.db (env SCELLE_STORE)")
	fs.BoolVar(&quiet, "quiet", false, "no progress bar")
	fs.BoolVar(&verbose, "verbose", false, "log each phase of the rebuild with its duration")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: scelle rebuild [flags] [projection...]\n\n"+
			"Rebuild read models from the event store: the projections named are built\n"+
			"from zero into new tables beside the live ones, in one pass over the log,\n"+
			"and swapped in together when they have caught up. With no projection\n"+
			"named, all are rebuilt. The server must be stopped (one process at a\n"+
			"time opens the SQLite store). SCELLE_REBUILD_CPUPROFILE=FILE writes a CPU\n"+
			"profile of the rebuild to FILE.\n\n"+
			"projections: %v\n\nflags:\n", projectionNames())
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	names := fs.Args()
	if len(names) == 0 {
		names = projectionNames()
	}
	for _, n := range names {
		if !contains(projectionNames(), n) {
			fmt.Fprintf(stderr, "scelle rebuild: unknown projection %q (have %v)\n", n, projectionNames())
			return 2
		}
	}
	if path := os.Getenv("SCELLE_REBUILD_CPUPROFILE"); path != "" {
		// A CPU profile of the whole rebuild, for docs/PERFORMANCE.md.
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(stderr, "scelle rebuild: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "scelle rebuild: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := rebuild(ctx, c, names, quiet, verbose, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "scelle rebuild: %v\n", err)
		return 1
	}
	return 0
}

func projectionNames() []string {
	var out []string
	for _, p := range projections.All() {
		out = append(out, p.Name())
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func rebuild(ctx context.Context, c serveConfig, names []string, quiet, verbose bool, stdout, stderr io.Writer) error {
	spath, err := storePath(c)
	if err != nil {
		return err
	}
	if _, err := os.Stat(spath); err != nil {
		return fmt.Errorf("event store %s: %w", spath, err)
	}
	store, err := sqlite.Open(ctx, spath, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open event store (is the server running?): %w", err)
	}
	defer store.Close()
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	svc, err := projections.Open(ctx, c.data, store, log)
	if err != nil {
		return err
	}
	defer svc.Close()
	var bar *progressbar.ProgressBar
	progress := func(done, total int64) {
		if quiet {
			return
		}
		if bar == nil {
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(stderr),
				progressbar.OptionSetDescription("rebuild "+strings.Join(names, ", ")), progressbar.OptionShowCount(),
				progressbar.OptionShowIts(), progressbar.OptionSetItsString("events"),
				progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
		}
		if total != bar.GetMax64() {
			bar.ChangeMax64(total)
		}
		bar.Set64(done)
	}
	// One pass over the log for all the projections named: each event is
	// read and decoded once, and they are swapped in together.
	results, err := svc.Runner.RebuildAll(ctx, names, progress)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("rebuild %s interrupted: the live tables are unchanged", strings.Join(names, ", "))
		}
		return err
	}
	if bar != nil {
		bar.Finish()
	}
	for _, res := range results {
		rate := 0.0
		if s := res.Elapsed.Seconds(); s > 0 {
			rate = float64(res.Events) / s
		}
		fmt.Fprintf(stdout, "%s: generation %d, %d events up to position %d in %s (%.0f events/s)\n",
			res.Projection, res.Generation, res.Events, res.Position, res.Elapsed.Round(time.Millisecond), rate)
	}
	return nil
}
