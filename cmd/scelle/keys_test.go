package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scelle-ledger/scelle/ledger"
)

func TestKeys_Generate(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "keys")
	var out bytes.Buffer
	if code := run(ctx, []string{"keys", "generate", "--name", testLog, "--out", dir}, &out, &out); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	sk, vk := ledger.KeyFileNames(testLog)
	for f, mode := range map[string]os.FileMode{sk: 0o600, vk: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %04o, want %04o", f, fi.Mode().Perm(), mode)
		}
	}
	if !strings.Contains(out.String(), testLog+"+") {
		t.Errorf("output does not show the verifier key: %s", out.String())
	}
	// A second run never overwrites the key.
	if code := run(ctx, []string{"keys", "generate", "--name", testLog, "--out", dir}, &out, &out); code != 1 {
		t.Fatalf("overwrite: exit %d", code)
	}
	for _, args := range [][]string{{"keys"}, {"keys", "generate", "--name", testLog}, {"keys", "generate", "--out", dir}, {"keys", "generate", "--name", "a b", "--out", dir}} {
		if code := run(ctx, args, &out, &out); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}
