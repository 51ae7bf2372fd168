// Package sqlite is scelle's embedded, default event store: an
// eventstore.Store over one SQLite file (modernc.org/sqlite, pure Go), which
// also sequences the global Merkle log and serves its nodes
// (ledger.NodeReader) for roots, inclusion and consistency proofs.
//
// # File
//
// One file in WAL mode. An append is acknowledged only after the WAL
// frames of the transaction holding it are fsynced: the durability of
// synchronous=FULL. The writer's connection commits with
// synchronous=NORMAL and a syncer goroutine issues the fsync (fdatasync on
// Linux) of the WAL file after each commit, so that the writer stages and
// writes the next group while the disk flushes the previous one; callers,
// readers, subscribers and the Merkle size (TreeSize) see a group only once
// its fsync has returned. A failed fsync fails the appends it covered and
// every later append with ErrSyncFailed until the store is reopened. The file
// carries PRAGMA application_id 0x5343454C ("SCEL") and PRAGMA user_version
// SchemaVersion; Open refuses any other SQLite file (ErrNotStore) and a newer
// schema (ErrNewerSchema), and changes nothing in a file it refuses.
//
// # Schema (version 1)
//
//	events(position INTEGER PRIMARY KEY,   -- global order: 0-based, dense, = Merkle leaf index
//	       event_id BLOB UNIQUE,           -- 16-byte UUID: the idempotency key
//	       stream TEXT, revision INTEGER,  -- UNIQUE (stream, revision)
//	       type, schema_version, occurred_at, recorded_at (Unix ns, UTC),
//	       actor_user, actor_agency, actor_role, correlation_id, causation_id,
//	       payload_digest, prev_hash, hash, -- the ledger.Envelope and its ledger.Link hash
//	       payload BLOB)                   -- the JSON payload, byte for byte
//	merkle_nodes(id INTEGER PRIMARY KEY,   -- (completing leaf << 6) | level, so inserts append
//	             hash BLOB,                -- every node ledger.Tree.Append completed, leaves included
//	             level, idx)               -- generated from id: the node covers leaves
//	                                       -- [idx << level, (idx+1) << level)
//
// Triggers refuse UPDATE and DELETE on both tables, so that a mistaken
// statement cannot alter history; the hash chains and the Merkle log are what
// detect deliberate tampering (a DROP TABLE or INSERT OR REPLACE from another
// connection bypasses triggers).
//
// # Write path
//
// Append validates its input (eventstore.ValidateAppend), then queues a
// request for the single writer goroutine, which owns the one write
// connection, the Merkle right border (ledger.Tree) and a bounded cache of
// stream heads (last revision and hash). Each turn, the writer takes every
// request already queued (up to Options.MaxBatchEvents events or 16 MiB of
// payload; when the queue
// runs dry it yields once so that the callers it just answered can join) and
// writes them in one BEGIN IMMEDIATE transaction — a group commit: while one
// group is being fsynced, the next one is staged and written. Within the transaction,
// each append is decided on its own, in queue order, against the state the
// transaction sees (the file plus the appends staged before it):
//
//  1. the expected revision is checked against the stream's head; if it does
//     not match, the event IDs are looked up first, because a retry of an
//     append already written wins over the revision check;
//  2. each event's envelope is completed (recorded_at from Options.Now, one
//     instant per group; payload digest; prev_hash from the stream's head)
//     and hashed by ledger.Link, and the rows are inserted (under a SAVEPOINT
//     when the append has several events);
//  3. if the UNIQUE constraint on event_id fires, the append is undone and
//     its IDs looked up: the same events, in this stream, consecutively and
//     with the same content (eventstore.SameContent) return the original
//     result; any other overlap is an *eventstore.IDReusedError;
//  4. each leaf ledger.LeafHash(hash) is appended to a clone of the Merkle
//     border, and every node the border returns is inserted (32 rows per
//     statement).
//
// A refused append writes nothing and does not disturb its neighbours. The
// group is committed; only then do the border and the head cache take the
// new state; once the syncer's fsync covering the commit returns, the
// visible size advances and the callers get their results.
// If the transaction itself fails (an I/O error, say), nothing of the group
// is kept and each append is retried in a transaction of its own. Insert
// order is commit order, so positions are dense and a reader never sees a
// later position before an earlier one.
//
// A caller whose context ends before the writer takes its request gets
// ctx.Err() and nothing is written; once taken, the caller waits for the
// true outcome. The writer calls the SQLite driver directly (sql.Conn.Raw)
// with prepared statements, and so do reads of event pages. On Linux its
// connection opens the file through a thin VFS shim over SQLite's unix VFS
// (walvfs.go) that gathers a transaction's WAL frames, which SQLite writes
// as two pwrites each, into one write at the commit frame: a third of the
// writer's time went into those system calls.
//
// One Store per file: the writer trusts its cached heads and Merkle border,
// so two writers on one file would fail each other's appends (never corrupt
// them: the UNIQUE constraints refuse). Open refuses a second Store of the
// same file in one process (ErrAlreadyOpen); across processes it is the
// operator's rule.
//
// # Checkpoints
//
// A checkpointer goroutine on its own connection copies the WAL back into
// the database file (PRAGMA wal_checkpoint(PASSIVE)) every 2000 committed
// events, so that the writer does not stall for the copy and its fsync; the
// writer still checkpoints by itself when the WAL reaches 16000 pages, which
// bounds the WAL if the checkpointer falls behind.
//
// # Read path
//
// Reads use a pool of read-only connections (PRAGMA query_only); in WAL mode
// they never block the writer nor wait for it. A subscription keeps only its
// next position and one page of events: it reads history page by page, then
// waits for the writer's commit notification and reads again, so the switch
// from catch-up to live has no gap and no duplicate, and a slow subscriber
// costs one page of memory.
package sqlite
