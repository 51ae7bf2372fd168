package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
)

// scelle bench drives a real server end to end, closed loop and paced, and
// every operation it sends succeeds.
func TestBench_smoke(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a server for a few seconds")
	}
	data := t.TempDir()
	base, stop := startServe(t, data)
	defer stop()
	ops := regexp.MustCompile(`(\d+) operations \((\d+) writes, each fsynced\), (\d+) errors`)
	runOnce := func(args ...string) (total, writes, errs int, out string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append([]string{"bench", "--url", base, "--data", data, "--clients", "4", "--duration", "2s"}, args...)
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("scelle %v: exit %d\n%s\n%s", args, code, stdout.String(), stderr.String())
		}
		m := ops.FindStringSubmatch(stdout.String())
		if m == nil {
			t.Fatalf("no summary line in:\n%s", stdout.String())
		}
		total, _ = strconv.Atoi(m[1])
		writes, _ = strconv.Atoi(m[2])
		errs, _ = strconv.Atoi(m[3])
		return total, writes, errs, stdout.String()
	}

	total, writes, errs, out := runOnce()
	if total == 0 || writes == 0 || errs != 0 {
		t.Fatalf("closed loop: %d operations, %d writes, %d errors:\n%s", total, writes, errs, out)
	}

	// Paced at 20 operations per second for 2 s, the clients cannot send
	// more than about 40 (one more per client for the round in flight).
	total, _, errs, out = runOnce("--rate", "20")
	if total == 0 || errs != 0 || total > 40+4 {
		t.Fatalf("paced at 20/s for 2s: %d operations, %d errors, want 1..44 and none:\n%s", total, errs, out)
	}
	if !bytes.Contains([]byte(out), []byte("paced: 20 ops/s")) {
		t.Errorf("paced run does not say it was paced:\n%s", out)
	}
}
