//go:build !linux

package sqlite

import "os"

// fdatasync flushes f to stable storage (fsync; fdatasync is Linux only).
func fdatasync(f *os.File) error { return f.Sync() }
