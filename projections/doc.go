// Package projections owns scelle's read side: read models kept in their own
// SQLite file (readmodels.db, beside the event store's), fed from the store's
// global order, and the queries the API runs against them.
//
// A Runner feeds every registered Projection from eventstore.Store.SubscribeAll
// (catch-up, then live). It applies events in batches, each batch inside one
// transaction of the read-model database that also writes the projection's
// checkpoint (the last global position applied): whatever crashes, an event's
// effect is applied exactly once, and a restart resumes from the checkpoint.
//
// Projections are disposable and versioned. Their tables are named
// <table>_v<version>_g<generation>; a rebuild (Runner.Rebuild, `scelle
// rebuild`) builds a new generation from zero beside the live one and swaps
// it in, in one transaction, once it has caught up. A projection whose
// version changed is rebuilt from zero at start instead of being migrated.
//
// Read-your-writes: Runner.WaitFor blocks until every live projection has
// applied a given position (notified by the runner, no polling), or fails
// with a *NotCaughtUpError. Health reports each projection's position and
// its lag behind the store's head, for /readyz and /metrics.
//
// Three projections (All): Custody (cases, participants, seizures, the
// current custody of every exhibit, holds, discrepancies, lab jobs), Stats
// (seizures and exhibits with the dimensions statistics group by) and Feed
// (the events an agency may see, in the order they became visible: their
// positions, the rest read from the store at query time). Each
// keeps its own copy of the case participants so it can be rebuilt alone.
// A seizure and its exhibits appear only once SeizureRecorded exists, a
// sub-sample only once SubSampleTaken exists.
//
// ReadModels (readmodels.go and the *_query.go files) answers the API's
// queries with filters and opaque cursors, always scoped to what the asking
// agency may see: the cases it owns or supervises and the cases shared with
// it (until revoked). Overdue checkouts are judged against the query's now,
// never a clock inside a projection.
package projections
