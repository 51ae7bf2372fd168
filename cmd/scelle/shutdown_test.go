package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// startServe runs serve on data and returns its base URL and a stop
// function that cancels it and returns its exit status.
func startServe(t *testing.T, data string) (string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	base, done, _ := serveOnFreePort(t, ctx, "--data", data, "--log-level", "error")
	return base, func() int {
		cancel()
		return exitStatus(t, done)
	}
}

// TestServe_shutdownFinishesWrites: writes in flight when the server is
// told to stop complete; every write acknowledged with 200 is there after
// a restart, and no request gets a 5xx.
func TestServe_shutdownFinishesWrites(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	base, stop := startServe(t, data)
	ctx := context.Background()
	var out, errb bytes.Buffer
	for _, args := range [][]string{
		{"admin", "agency", "add", "--data", data, "--code", "MA-DOUANE-TGM", "--name", "Douane", "--country", "MA", "--kind", "customs"},
		{"admin", "user", "add", "--data", data, "--id", "nadia", "--agency", "MA-DOUANE-TGM", "--roles", "officer"},
	} {
		if code := run(ctx, args, &out, &errb); code != 0 {
			t.Fatalf("%v: %s", args, errb.String())
		}
	}
	out.Reset()
	if code := run(ctx, []string{"admin", "token", "create", "--data", data, "--user", "nadia", "--json"}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	var tok struct{ Token string }
	if err := json.Unmarshal(out.Bytes(), &tok); err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		acked  []string
		bad    []int
		n      atomic.Int64
		wg     sync.WaitGroup
		enough = make(chan struct{})
		once   sync.Once
	)
	client := &http.Client{Timeout: 30 * time.Second}
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				body := fmt.Sprintf(`{"reference":"C-%d-%d","country":"MA","legal_framework":"customs"}`, w, i)
				req, _ := http.NewRequest("POST", base+"/v1/commands/open-case", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tok.Token)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", fmt.Sprintf("k-%d-%d", w, i))
				res, err := client.Do(req)
				if err != nil {
					return // the server has stopped listening
				}
				var r struct {
					Created []struct{ ID string }
				}
				_ = json.NewDecoder(res.Body).Decode(&r)
				res.Body.Close()
				mu.Lock()
				if res.StatusCode == 200 && len(r.Created) == 1 {
					acked = append(acked, r.Created[0].ID)
				} else if res.StatusCode >= 500 {
					bad = append(bad, res.StatusCode)
				}
				mu.Unlock()
				if n.Add(1) == 100 {
					once.Do(func() { close(enough) })
				}
			}
		}()
	}
	<-enough
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d requests got 5xx during shutdown: %v", len(bad), bad)
	}
	// Restart: every acknowledged case is there.
	base, stop = startServe(t, data)
	defer stop()
	for _, id := range acked {
		req, _ := http.NewRequest("GET", base+"/v1/cases/"+id+"/history", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("acknowledged case %s: %d after restart", id, res.StatusCode)
		}
	}
	if len(acked) < 100 {
		t.Fatalf("only %d writes acknowledged", len(acked))
	}
}
