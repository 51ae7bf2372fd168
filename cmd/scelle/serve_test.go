package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServe_help(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--help"}, &out, &out); code != 0 {
		t.Fatalf("serve --help: exit %d", code)
	}
	for _, want := range []string{"-addr", "SCELLE_ADDR", "-data", "SCELLE_DATA", "-store", "-checkpoint-every", "-checkpoint-interval", "-tls-cert", "-tls-key", "-log-level"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("serve --help does not document %s", want)
		}
	}
}

// TestServe_firstStartAdminAndShutdown runs serve on a fresh data
// directory, gets a token with scelle admin, calls the API with it, and
// stops the server with its context (SIGTERM in main).
func TestServe_firstStartAdminAndShutdown(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--log-level", "warn"}, pw, &stderr)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var base string
	var welcome strings.Builder
	for sc.Scan() {
		line := sc.Text()
		welcome.WriteString(line + "\n")
		if rest, ok := strings.CutPrefix(line, "scelle is listening on "); ok {
			base = rest
		}
		if strings.HasPrefix(line, "Then: curl") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if base == "" || !strings.Contains(welcome.String(), "scelle admin bootstrap --data "+data) {
		t.Fatalf("welcome message:\n%s\nstderr: %s", welcome.String(), stderr.String())
	}
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"admin", "bootstrap", "--data", data, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("admin bootstrap: %d %s", code, errb.String())
	}
	var tok struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal(out.Bytes(), &tok); err != nil || !strings.HasPrefix(tok.Token, "sct_") {
		t.Fatalf("bootstrap output %q: %v", out.String(), err)
	}
	whoami := func() int {
		req, _ := http.NewRequest("GET", base+"/v1/whoami", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := whoami(); s != 200 {
		t.Fatalf("whoami with the bootstrap token: %d", s)
	}
	// Agencies, users, tokens; revocation takes effect at once.
	for _, args := range [][]string{
		{"admin", "agency", "add", "--data", data, "--code", "MA-DOUANE-TGM", "--name", "Douane Tanger Med", "--country", "MA", "--kind", "customs"},
		{"admin", "user", "add", "--data", data, "--id", "nadia", "--agency", "MA-DOUANE-TGM", "--roles", "officer"},
		{"admin", "token", "create", "--data", data, "--user", "nadia", "--ttl", "1h"},
		{"admin", "token", "revoke", "--data", data, "--id", tok.ID},
	} {
		out.Reset()
		errb.Reset()
		if code := run(ctx, args, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
	}
	if s := whoami(); s != 401 {
		t.Fatalf("whoami with a revoked token: %d, want 401", s)
	}
	if code := run(ctx, []string{"admin", "user", "add", "--data", data, "--id", "x", "--agency", "NOPE", "--roles", "officer"}, &out, &errb); code == 0 {
		t.Fatal("adding a user to an unknown agency succeeded")
	}
	stop()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
}
