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

func TestVerify_CLI(t *testing.T) {
	d := newIntegrityData(t)
	bundle := d.bundle(t, "exhibit-E2")
	ctx := context.Background()

	var out, errb bytes.Buffer
	if code := run(ctx, []string{"verify", bundle, "--key", d.vkeyPath}, &out, &errb); code != 0 {
		t.Fatalf("good bundle: exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"VERIFIED", "Custody timeline", "exhibit-E2", "CustodyNoted", "MA-DOUANE/agent-17 (officer)", "2026-03-14T08:00:02Z"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	// Flags before the bundle work too.
	out.Reset()
	if code := run(ctx, []string{"verify", "--key", d.vkeyPath, "--json", bundle}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "{") {
		t.Fatalf("flags first: exit %d %s", code, out.String())
	}

	// One byte of one payload altered in the file: exit 1, the event named.
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	b, err := decodeForTest(data)
	if err != nil {
		t.Fatal(err)
	}
	b.Events[3].Payload[1] ^= 0x20
	bad := filepath.Join(t.TempDir(), "bad.json")
	writeBundle(t, bad, b)
	out.Reset()
	if code := run(ctx, []string{"verify", bad, "--key", d.vkeyPath}, &out, &errb); code != 1 {
		t.Fatalf("altered bundle: exit %d", code)
	}
	if !strings.Contains(out.String(), "FAIL payload digest event #20 exhibit-E2@3") {
		t.Fatalf("failure not pinpointed:\n%s", out.String())
	}

	// Another log key: exit 1. A missing key file or bundle: usage error.
	other := t.TempDir()
	if code := run(ctx, []string{"keys", "generate", "--name", testLog, "--out", other}, &out, &errb); code != 0 {
		t.Fatal("keys generate")
	}
	m, _ := filepath.Glob(filepath.Join(other, "*.vkey"))
	if code := run(ctx, []string{"verify", bundle, "--key", m[0]}, &out, &errb); code != 1 {
		t.Fatalf("wrong key: exit %d", code)
	}
	if code := run(ctx, []string{"verify", bundle, "--key", filepath.Join(other, "nope.vkey")}, &out, &errb); code != 2 {
		t.Fatalf("missing key file: exit %d", code)
	}
	if code := run(ctx, []string{"verify", "--key", d.vkeyPath}, &out, &errb); code != 2 {
		t.Fatalf("no bundle: exit %d", code)
	}
	// A witness key demanded but no cosignature: exit 1.
	wdir := t.TempDir()
	if code := run(ctx, []string{"keys", "generate", "--witness", "--name", "witness.example/w1", "--out", wdir}, &out, &errb); code != 0 {
		t.Fatal("keys generate --witness")
	}
	wv, _ := filepath.Glob(filepath.Join(wdir, "*.vkey"))
	out.Reset()
	if code := run(ctx, []string{"verify", bundle, "--key", d.vkeyPath, "--witness", wv[0]}, &out, &errb); code != 1 || !strings.Contains(out.String(), "no cosignature by this witness") {
		t.Fatalf("missing cosignature: exit %d\n%s", code, out.String())
	}
}

func decodeForTest(data []byte) (*ledger.Bundle, error) { return ledger.DecodeBundle(data) }

func writeBundle(t *testing.T, path string, b *ledger.Bundle) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := b.Encode(f); err != nil {
		t.Fatal(err)
	}
}
