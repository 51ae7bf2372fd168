package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
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
	var nadia struct {
		Token string `json:"token"`
	}
	for _, args := range [][]string{
		{"admin", "agency", "add", "--data", data, "--code", "MA-DOUANE-TGM", "--name", "Douane Tanger Med", "--country", "MA", "--kind", "customs"},
		{"admin", "user", "add", "--data", data, "--id", "nadia", "--agency", "MA-DOUANE-TGM", "--roles", "officer"},
		{"admin", "token", "create", "--data", data, "--user", "nadia", "--ttl", "1h", "--json"},
		{"admin", "token", "revoke", "--data", data, "--id", tok.ID},
	} {
		out.Reset()
		errb.Reset()
		if code := run(ctx, args, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		if args[2] == "create" {
			if err := json.Unmarshal(out.Bytes(), &nadia); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Nadia opens a case; its bundle, downloaded over HTTP, passes
	// `scelle verify` offline with the key serve created.
	post := func(cmd, body string) map[string]any {
		req, _ := http.NewRequest("POST", base+"/v1/commands/"+cmd, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+nadia.Token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", cmd+"-1")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != 200 {
			t.Fatalf("%s: %d %v %v", cmd, res.StatusCode, m, err)
		}
		return m
	}
	opened := post("open-case", `{"reference":"MA-TGM-2026-0412","country":"MA","legal_framework":"customs"}`)
	caseID := opened["created"].([]any)[0].(map[string]any)["id"].(string)
	verifyCaseBundle(t, ctx, base, nadia.Token, caseID, data)
	if s := whoami(); s != 401 {
		t.Fatalf("whoami with a revoked token: %d, want 401", s)
	}
	if code := run(ctx, []string{"admin", "user", "add", "--data", data, "--id", "x", "--agency", "NOPE", "--roles", "officer"}, &out, &errb); code == 0 {
		t.Fatal("adding a user to an unknown agency succeeded")
	}
	stop()
	if code := exitStatus(t, done); code != 0 {
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	}
}

// verifyCaseBundle downloads the case's evidence bundle with token and
// checks it offline with `scelle verify` and the data directory's log key.
func verifyCaseBundle(t *testing.T, ctx context.Context, base, token, caseID, data string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/v1/cases/"+caseID+"/bundle", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	bundle, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("case bundle: %d %s", res.StatusCode, bundle)
	}
	bpath := filepath.Join(t.TempDir(), "case.bundle.json")
	if err := os.WriteFile(bpath, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"verify", bpath, "--key", filepath.Join(data, "keys", "scelle-log.vkey")}, &out, &errb); code != 0 {
		t.Fatalf("scelle verify: exit %d\n%s%s", code, out.String(), errb.String())
	}
}

// exitStatus waits (at most 30 s) for a serve started by serveOnFreePort
// to return, and gives its exit status.
func exitStatus(t *testing.T, done <-chan int) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
		return -1
	}
}

// serveOnFreePort runs `scelle serve` with args on a free port until ctx ends,
// and returns its base URL, its exit code (once it returns) and its
// standard error.
func serveOnFreePort(t *testing.T, ctx context.Context, args ...string) (base string, done <-chan int, stderr *bytes.Buffer) {
	t.Helper()
	pr, pw := io.Pipe()
	exit := make(chan int, 1)
	stderr = new(bytes.Buffer)
	go func() {
		exit <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), pw, stderr)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "scelle is listening on "); ok {
			base = rest
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if base == "" {
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	return base, exit, stderr
}
