package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"

	"github.com/scelle-ledger/scelle/ledger"
)

func init() {
	register("keys", "generate log and witness signing keys", runKeys)
}

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "generate" {
		fmt.Fprintln(stderr, "usage: scelle keys generate --name NAME --out DIR [--witness]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	fs := flag.NewFlagSet("keys generate", flag.ContinueOnError)
	name := fs.String("name", "", "key name; for a log key, the checkpoint origin (e.g. scelle.example/MA-DOUANE-TGM)")
	out := fs.String("out", "", "directory to write NAME.key (0600) and NAME.vkey (0644) into")
	witness := fs.Bool("witness", false, "generate a witness cosigning key (c2sp.org/tlog-cosignature) instead of a log key")
	if code, ok := parseFlags(fs, args[1:], stderr); !ok {
		return code
	}
	if *name == "" || *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "scelle keys generate: --name and --out are required, and nothing else")
		return 2
	}
	kind := ledger.LogKey
	if *witness {
		kind = ledger.WitnessKey
	}
	skey, vkey, err := ledger.GenerateKey(rand.Reader, *name, kind)
	if err != nil {
		fmt.Fprintf(stderr, "scelle keys generate: %v\n", err)
		return 1
	}
	sp, vp, err := ledger.WriteKeyFiles(*out, *name, skey, vkey)
	if err != nil {
		fmt.Fprintf(stderr, "scelle keys generate: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "signer key:   %s (keep it secret)\nverifier key: %s\n%s\n", sp, vp, vkey)
	return 0
}
