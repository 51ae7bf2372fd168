// Package api owns scelle's HTTP interface: the huma v2 operations on
// net/http (OpenAPI 3.1), bearer-token authentication and the one place
// where authorisation is decided, the mapping of every error to an RFC 9457
// problem, idempotency keys, ETag / If-Match, read-your-writes, the
// attachment blob store, the server-sent events feed and the operational
// endpoints (/healthz, /readyz, /metrics, /openapi.json, /docs).
//
// The package consumes small interfaces it declares itself (ports owned by
// the consumer): the event store, the read models, the integrity layer.
// cmd/scelle wires the concrete adapters.
package api
