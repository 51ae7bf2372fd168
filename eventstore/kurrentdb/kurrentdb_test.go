package kurrentdb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/kurrentdb"
	"github.com/scelle-ledger/scelle/eventstore/storetest"
)

// defaultImage is the KurrentDB image the container test runs;
// SCELLE_KURRENTDB_IMAGE overrides it (an eventstore/eventstore:24.10 image
// works too: its settings take the EVENTSTORE_ prefix).
const defaultImage = "docker.kurrent.io/kurrent-latest/kurrentdb:25.0"

// TestConformanceKurrentDB runs the Store port's conformance suite against a
// real single-node KurrentDB in a container. Every subtest opens a store in
// a namespace of its own, so that each one starts empty on the one server.
// Without a container engine the test is skipped.
func TestConformanceKurrentDB(t *testing.T) {
	testcontainers.SkipIfProviderIsNotHealthy(t)
	url := startKurrentDB(t)
	var n atomic.Int64
	events := 20_000
	if testing.Short() {
		events = 3_000
	}
	storetest.Options{DensePositions: false, LargeStreamEvents: events}.Run(t, func(t *testing.T) eventstore.Store {
		t.Helper()
		s, err := kurrentdb.Open(t.Context(), url, kurrentdb.Options{Namespace: fmt.Sprintf("t%d-", n.Add(1))})
		if err != nil {
			t.Fatalf("open %s: got %v, want no error", url, err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil && !errors.Is(err, eventstore.ErrClosed) {
				t.Errorf("close: got %v, want no error", err)
			}
		})
		return s
	})
}

// startKurrentDB starts an insecure, in-memory, single-node KurrentDB and
// returns its URL in the kurrentdb:// form testcontainers modules use, so
// that Open's scheme rewriting is exercised too.
func startKurrentDB(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	image := defaultImage
	if v := os.Getenv("SCELLE_KURRENTDB_IMAGE"); v != "" {
		image = v
	}
	prefix := "KURRENTDB_"
	if strings.Contains(image, "eventstore/eventstore") {
		prefix = "EVENTSTORE_"
	}
	env := map[string]string{
		"INSECURE":        "true",
		"CLUSTER_SIZE":    "1",
		"MEM_DB":          "true",
		"RUN_PROJECTIONS": "None",
		// The largest event scelle accepts is 1 MiB of payload; with its
		// envelope metadata it exceeds the default 1 MiB append limit.
		"MAX_APPEND_SIZE": "16777216",
	}
	req := testcontainers.ContainerRequest{
		Image:        image,
		ExposedPorts: []string{"2113/tcp"},
		Env:          map[string]string{},
		WaitingFor: wait.ForAll(
			wait.ForHTTP("/health/live").WithPort("2113/tcp").
				WithStatusCodeMatcher(func(status int) bool { return status >= 200 && status < 300 }),
			// The node serves appends once it has elected itself leader.
			wait.ForLog("IS LEADER"),
		).WithDeadline(3 * time.Minute),
	}
	for k, v := range env {
		req.Env[prefix+k] = v
	}
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatalf("start %s: got %v, want a running container", image, err)
	}
	endpoint, err := ctr.PortEndpoint(ctx, "2113/tcp", "kurrentdb")
	if err != nil {
		t.Fatalf("endpoint of %s: got %v, want host and port", image, err)
	}
	return endpoint + "?tls=false"
}
