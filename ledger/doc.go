// Package ledger owns scelle's integrity layer: the event envelope and its
// canonical encoding, the per-stream hash chain, the global RFC 6962 Merkle
// log, signed checkpoints, proofs and evidence bundles.
//
// Every backend computes hashes through this package and nowhere else, so
// that the same event stored by SQLite or by KurrentDB carries the same
// bytes and the same hash. The encoding is specified in docs/VERIFICATION.md;
// the frozen fixtures in testdata/ MUST always decode and hash to the same
// values.
package ledger
