// Package kurrentdb is scelle's clustered event store: an eventstore.Store
// over KurrentDB (or a recent EventStoreDB: its stream reads must report
// each event's position, which older servers did not; such a server is
// refused on the first read with a clear error), through the v4 gRPC client
// github.com/EventStore/EventStore-Client-Go/v4/esdb. It owns the
// mapping of scelle's events to KurrentDB events, the append protocol that
// keeps the hash chain and deterministic idempotency on a server that has
// neither, and the translation of KurrentDB errors to the port's.
// docs/KURRENTDB.md is the operator's view.
//
// # Events
//
// A scelle stream is a KurrentDB stream named Options.Namespace + name. Each
// event is one KurrentDB event: its ID is the event ID (never the nil UUID:
// the client would replace it with a random one, and ValidateAppend refuses
// it), its type the event type, its data the payload byte for byte (content
// type JSON), and its user metadata a JSON object carrying the rest of the
// ledger.Envelope and the event's hash:
//
//	{"scelle_metadata":1, "stream":"exhibit-…", "revision":3,
//	 "schema_version":1, "occurred_at":"2026-03-14T09:26:53.589793238+01:00",
//	 "recorded_at":"…Z", "actor":{"user":…,"agency":…,"role":…},
//	 "correlation_id":"…", "causation_id":"…",
//	 "payload_digest":"<hex>", "prev_hash":"<hex>", "hash":"<hex>"}
//
// Times keep their nanoseconds (occurred_at its UTC offset too). Stream and
// revision repeat KurrentDB's own so that an event copied or moved by hand
// is refused on read. The hash is computed by ledger.Link only, over the
// stream name without the namespace.
//
// # Appends
//
// KurrentDB has no hash chain, so prev_hash needs the stream's head before
// the write, and the write must be conditional on that head. Append, under a
// per-stream lock of this process:
//
//  1. reads the events of the stream it has not seen yet (all of them the
//     first time; streams in this domain are short) into a stream index:
//     head revision, head hash, head recorded_at and every event ID, checking
//     revisions and prev_hash as it goes;
//  2. looks the proposed IDs up (see Idempotency); if any is known, the
//     append is decided as a retry or refused as an ID reuse, whatever the
//     expected revision;
//  3. checks the caller's expected revision against the head, and returns a
//     *eventstore.WrongRevisionError with the actual revision if it fails;
//  4. seals the events on the head (recorded_at from Options.Now, never
//     before the head's; payload digest; ledger.Link) and appends them with
//     the head as KurrentDB's exact expected revision (NoStream for a new
//     stream);
//  5. if KurrentDB answers ErrorCodeWrongExpectedVersion (another process
//     wrote meanwhile), goes back to 1, so that Any and StreamExists are
//     retried (up to Options.MaxConflictRetries) and NoStream or Exact(n)
//     fail with the revision the stream actually moved to;
//  6. reads the events back, for their own $all positions (the append's
//     result has one position for the whole append) and to see what
//     KurrentDB kept.
//
// Conflicts are recognised with errors.As(err, **esdb.Error) and
// ErrorCodeWrongExpectedVersion, never through esdb.FromError, whose bool
// is inverted (true means no error).
//
// # Idempotency
//
// KurrentDB's own deduplication is best effort (it looks at recent events
// of the stream only, and not at all for expected revision Any), so it is
// not relied on. Step 2 looks the IDs up in the stream index, which is
// complete for the target stream: the same events, consecutive, in order
// and with the same content (eventstore.SameContent, on the events read
// again) return the original AppendResult; any other overlap is an
// *eventstore.IDReusedError, and nothing is written.
//
// What cannot be detected without a global index of event IDs, which
// KurrentDB does not have: an ID already written to another stream, by
// another process, or by this one before its cache (Options.CacheEvents)
// dropped that stream. Such an append is written. The adapter narrows the
// gap to what one process can know: every ID it has read or written, and
// every ID of an append in flight, is mapped to its stream, so a reuse in
// another stream is refused when it happens in the same process while the
// first stream is cached (IDs derived from idempotency keys make a
// cross-stream reuse a bug of the caller, not a race). The notary that will
// follow $all (below) is where a global check belongs.
//
// # Global order and positions
//
// Positions are KurrentDB commit positions: byte offsets in its log, so
// strictly increasing but sparse (storetest Options.DensePositions false).
// A position passed back to ReadAll or SubscribeAll MUST be one an event of
// this store was read at. ReadAll and subscriptions skip system streams and
// types ('$…') and streams outside the namespace. ReadAll pages through
// $all and filters on the client (the v4 client has no filtered read);
// SubscribeAll always passes From explicitly (SubscribeToAll defaults to
// End), filters stream prefixes on the server and event types on the
// client, drops repeats at or before the last position delivered, and turns
// a dropped subscription into an error from Recv.
//
// # Merkle log: not here
//
// This adapter does not maintain the Merkle log. $all positions are sparse
// byte offsets, and leaf indices must be dense and assigned by one
// sequencer: in KurrentDB mode that is a single fenced notary following
// $all, which is out of scope for now. Until it exists, a KurrentDB ledger
// has per-stream hash chains (verifiable by scelle audit) but no signed
// checkpoints or inclusion proofs.
package kurrentdb
