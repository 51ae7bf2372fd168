//go:build linux

package sqlite

// WALWrites returns how many writes the writer's WAL shim has made to WAL
// files, in this process.
func WALWrites() int64 { return walVFS.writes.Load() }
