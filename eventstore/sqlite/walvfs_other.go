//go:build !linux

package sqlite

// Elsewhere than Linux the writer opens its file through SQLite's default
// VFS, which writes each WAL frame as it comes (see walvfs.go).
func writerVFSParams() ([]string, error) { return nil, nil }

// WALBufferVFS returns "": there is no shim here (see walvfs.go).
func WALBufferVFS() (string, error) { return "", nil }
