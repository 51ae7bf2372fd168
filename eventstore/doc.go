// Package eventstore owns the Store port: an append-only store of event
// streams with KurrentDB's semantics, so that the embedded SQLite adapter
// (eventstore/sqlite) and the clustered KurrentDB adapter are interchangeable.
//
// Semantics, which every adapter MUST follow and eventstore/storetest checks:
//
//   - Streams are named by non-empty strings; revisions are 0-based and dense.
//   - Append takes an ExpectedRevision: Any, NoStream, StreamExists or
//     Exact(n). A mismatch fails with a *WrongRevisionError carrying the
//     actual revision, and writes nothing.
//   - An append is atomic: all its events are written, or none.
//   - Idempotency is deterministic: re-appending events whose IDs were already
//     written, to the same stream, in the same order and with the same
//     content, writes nothing and returns the original AppendResult whatever
//     the expected revision. Reusing an ID with other content, or in another
//     stream, fails with a *IDReusedError.
//   - The global order ($all) lists every event once, in commit order, at
//     strictly increasing positions. In the SQLite adapter positions are
//     dense and 0-based, and equal the event's leaf index in the Merkle log.
//   - A catch-up subscription starts after a position (exclusive) or at the
//     start, delivers the history, then turns live with no gap and no
//     duplicate.
//
// Every event is stored with its ledger.Envelope; hashes are computed by
// ledger.Link, never by an adapter of its own.
package eventstore
