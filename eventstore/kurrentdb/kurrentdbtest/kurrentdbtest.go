// Package kurrentdbtest starts a throwaway KurrentDB for tests: the one
// container setup the store's conformance test and the server's
// KurrentDB-mode test share. It is imported by tests only.
package kurrentdbtest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// DefaultImage is the KurrentDB image Start runs; SCELLE_KURRENTDB_IMAGE
// overrides it (an eventstore/eventstore:24.10 image works too: its
// settings take the EVENTSTORE_ prefix).
const DefaultImage = "docker.kurrent.io/kurrent-latest/kurrentdb:25.0"

// Start skips t when no container engine is reachable; otherwise it starts
// an insecure, in-memory, single-node KurrentDB, removed when t ends, and
// returns its URL in the kurrentdb:// form testcontainers modules use (so
// that Open's scheme rewriting is exercised too).
func Start(t *testing.T) string {
	t.Helper()
	testcontainers.SkipIfProviderIsNotHealthy(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	image := DefaultImage
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
