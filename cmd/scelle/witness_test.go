package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scelle-ledger/scelle/ledger"
	"github.com/scelle-ledger/scelle/ledger/checkpointdb"
)

func TestWitness_CLI(t *testing.T) {
	d := newIntegrityData(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wdir := t.TempDir()
	var sink bytes.Buffer
	if code := run(ctx, []string{"keys", "generate", "--witness", "--name", "witness.example/DGDDI", "--out", wdir}, &sink, &sink); code != 0 {
		t.Fatal(sink.String())
	}
	wsk, wvk := ledger.KeyFileNames("witness.example/DGDDI")

	// Refuses a log key as its own key, and a missing key.
	lsk, _ := ledger.KeyFileNames(testLog)
	if code := run(ctx, []string{"witness", "--key", filepath.Join(d.dir, keysDir, lsk), "--log", d.vkeyPath, "--state", wdir, "--addr", "127.0.0.1:0"}, &sink, &sink); code != 1 {
		t.Fatalf("log key as witness key: exit %d", code)
	}
	if code := run(ctx, []string{"witness", "--key", filepath.Join(wdir, "nope.key"), "--log", d.vkeyPath, "--state", wdir}, &sink, &sink); code != 1 {
		t.Fatalf("missing key: exit %d", code)
	}

	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"witness", "--key", filepath.Join(wdir, wsk), "--log", d.vkeyPath, "--state", filepath.Join(wdir, "state"), "--addr", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	addr := strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	client := &ledger.WitnessClient{URL: "http://" + addr}

	cpdb, err := checkpointdb.Open(ctx, filepath.Join(d.dir, checkpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer cpdb.Close()
	cps, err := cpdb.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := client.AddCheckpoint(ctx, 0, nil, cps[2].Note)
	if err != nil {
		t.Fatal(err)
	}
	wv, err := ledger.LoadVerifier(filepath.Join(wdir, wvk))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := ledger.AddSignatureLines(cps[2].Note, lines)
	if err != nil {
		t.Fatal(err)
	}
	text, sigs, _ := ledger.SplitNote(cosigned)
	if !ledger.CheckSignature(text, sigs, wv).Valid {
		t.Fatalf("witness response does not verify:\n%s", lines)
	}
	// A fork at the same size, signed by the log key: refused.
	signer, err := ledger.LoadSigner(filepath.Join(d.dir, keysDir, lsk), nil)
	if err != nil {
		t.Fatal(err)
	}
	fork, err := ledger.SignCheckpoint(ledger.Checkpoint{Origin: testLog, Size: 60, Root: ledger.Hash{1}}, signer)
	if err != nil {
		t.Fatal(err)
	}
	var conflict *ledger.SizeConflictError
	if _, err := client.AddCheckpoint(ctx, 60, nil, fork); !errors.As(err, &conflict) || conflict.Size != 60 {
		t.Fatalf("fork: got %v, want a 409 conflict at 60", err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("witness exit %d after shutdown", code)
	}
}
