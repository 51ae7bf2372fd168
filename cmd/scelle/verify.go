package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/scelle-ledger/scelle/ledger"
)

func init() {
	register("verify", "verify an evidence bundle offline (no server, no database)", runVerify)
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// splitPositional moves the first non-flag argument out of args, so that
// "verify BUNDLE --key K" and "verify --key K BUNDLE" both work.
func splitPositional(args []string) (pos string, rest []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	var keys, witnesses stringList
	fs.Var(&keys, "key", "trusted log verifier key file (repeatable)")
	fs.Var(&witnesses, "witness", "trusted witness verifier key file (repeatable)")
	quorum := fs.Int("quorum", -1, "number of trusted witnesses that must have cosigned (default: every --witness)")
	partial := fs.Bool("allow-partial", false, "accept streams that do not start at revision 0 or skip revisions")
	noRedact := fs.Bool("refuse-redacted", false, "fail if any payload is redacted")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scelle verify BUNDLE --key VKEY [--witness VKEY]... [--quorum N] [--json]")
		fs.PrintDefaults()
	}
	path, rest := splitPositional(args)
	if code, ok := parseFlags(fs, rest, stderr); !ok {
		return code
	}
	if path == "" && fs.NArg() == 1 {
		path = fs.Arg(0)
	} else if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	if path == "" || len(keys) == 0 {
		fmt.Fprintln(stderr, "scelle verify: a bundle file and at least one --key are required")
		return 2
	}
	logKeys, err := loadVerifiers(keys)
	if err != nil {
		fmt.Fprintf(stderr, "scelle verify: --key: %v\n", err)
		return 2
	}
	witnessKeys, err := loadVerifiers(witnesses)
	if err != nil {
		fmt.Fprintf(stderr, "scelle verify: --witness: %v\n", err)
		return 2
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "scelle verify: %v\n", err)
		return 1
	}
	b, err := ledger.DecodeBundle(data)
	if err != nil {
		fmt.Fprintf(stderr, "scelle verify: %s: %v\n", path, err)
		return 1
	}
	policy := ledger.Policy{MinWitnesses: len(witnessKeys), AllowPartialStreams: *partial, RefuseRedacted: *noRedact}
	if *quorum >= 0 {
		policy.MinWitnesses = *quorum
	}
	r := ledger.Verify(b, logKeys, witnessKeys, policy)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			fmt.Fprintf(stderr, "scelle verify: %v\n", err)
			return 1
		}
	} else if err := r.WriteText(stdout); err != nil {
		fmt.Fprintf(stderr, "scelle verify: %v\n", err)
		return 1
	}
	if !r.OK {
		return 1
	}
	return 0
}

func loadVerifiers(paths []string) ([]note.Verifier, error) {
	out := make([]note.Verifier, 0, len(paths))
	for _, p := range paths {
		v, err := ledger.LoadVerifier(p)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
