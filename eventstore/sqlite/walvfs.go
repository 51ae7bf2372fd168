//go:build linux

package sqlite

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// The writer's connection opens the store through walVFS, a thin shim over
// SQLite's own "unix" VFS that changes one thing: writes to the WAL file are
// gathered in memory and reach the file as one pwrite per transaction.
//
// SQLite writes each WAL frame as two pwrites, its 24-byte header then its
// page, so a group commit of a few dozen pages cost the writer some hundred
// system calls, each several microseconds on these machines: about a third
// of the writer's time per event. The shim keeps the frames of a
// transaction, which SQLite writes at consecutive offsets, and writes them
// at once when the transaction's commit frame is complete.
//
// What SQLite can observe is unchanged: the shim writes out everything it
// holds before any other operation on the WAL file (read, sync, truncate,
// size, file control, close) and before a write that does not continue its
// run, and a commit frame is in the file before SQLite publishes the commit
// in the WAL index, which is when other connections may read it. Only the
// writer's connection writes WAL frames; readers, the checkpointer and the
// audit open the file through the unix VFS directly.
//
// Crash safety is SQLite's own: without an fsync the kernel may persist the
// writes of one commit in any order and any subset, whether they were one
// pwrite or a hundred, and recovery keeps only frames whose cumulative
// checksums verify. A failed pwrite fails the commit, and the frames held
// for it are dropped, never written later.

// walVFSName is the name the shim is registered under (URI parameter vfs).
const walVFSName = "scelle-walbuf"

// walFlushAt bounds the bytes held for one WAL file: a transaction larger
// than this (a big batch, or a cache spill) is written in pieces of about
// this size.
const walFlushAt = 4 << 20

// walFrameHeader is the size of a WAL frame header. No other write to a
// WAL file has this size (the WAL header is 32 bytes, pages are at least
// 512), and bytes 4..8 of a header are non-zero only for a commit frame.
const walFrameHeader = 24

var walVFS struct {
	once sync.Once
	err  error

	// The structures SQLite holds pointers to live in C memory: the
	// transpiled SQLite does pointer arithmetic on them, which the Go
	// runtime's pointer checks (-race) refuse on Go memory.
	unix    uintptr                     // SQLite's unix VFS
	vfs     uintptr                     // the shim: a copy of unix with xOpen replaced
	methods uintptr                     // WAL files' methods: unix's, some replaced
	real    sqlite3.Tsqlite3_io_methods // unix's methods for WAL files
	table   uintptr                     // where unix keeps them

	mu    sync.Mutex
	files map[uintptr]*walFile // open WAL files, by their sqlite3_file

	writes atomic.Int64 // WAL writes that reached the file, for tests
}

// walFile is the run of writes held for one WAL file.
type walFile struct {
	buf    []byte
	off    int64 // file offset of buf[0]
	commit bool  // the last write was a commit frame's header
}

// registerWALVFS registers the shim with SQLite, once per process.
func registerWALVFS() error {
	walVFS.once.Do(func() { walVFS.err = doRegisterWALVFS() })
	return walVFS.err
}

func doRegisterWALVFS() error {
	tls := libc.NewTLS()
	defer tls.Close()
	if rc := sqlite3.Xsqlite3_initialize(tls); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("sqlite: initialise: code %d", rc)
	}
	unix := sqlite3.Xsqlite3_vfs_find(tls, 0)
	if unix == 0 {
		return fmt.Errorf("sqlite: no default VFS")
	}
	name, err := libc.CString(walVFSName) // never freed: the VFS lives as long as the process
	if err != nil {
		return err
	}
	walVFS.unix = unix
	walVFS.files = make(map[uintptr]*walFile)
	// Never freed either.
	walVFS.vfs = libc.Xcalloc(tls, 1, libc.Tsize_t(unsafe.Sizeof(sqlite3.Tsqlite3_vfs{})))
	walVFS.methods = libc.Xcalloc(tls, 1, libc.Tsize_t(unsafe.Sizeof(sqlite3.Tsqlite3_io_methods{})))
	if walVFS.vfs == 0 || walVFS.methods == 0 {
		return fmt.Errorf("sqlite: register VFS %s: out of memory", walVFSName)
	}
	v := (*sqlite3.Tsqlite3_vfs)(cptr(walVFS.vfs))
	*v = *(*sqlite3.Tsqlite3_vfs)(cptr(unix))
	v.FpNext = 0
	v.FzName = name
	*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&v.FxOpen)) = walOpen
	if rc := sqlite3.Xsqlite3_vfs_register(tls, walVFS.vfs, 0); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("sqlite: register VFS %s: code %d", walVFSName, rc)
	}
	return nil
}

// walOpen opens a file through the unix VFS and, for a WAL file, swaps in
// the buffering methods. The unix file structure stays at the start of
// pFile, so the unix methods work on it unchanged.
func walOpen(tls *libc.TLS, pVfs, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	unix := (*sqlite3.Tsqlite3_vfs)(cptr(walVFS.unix))
	rc := (*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{unix.FxOpen})))(tls, walVFS.unix, zName, pFile, flags, pOutFlags)
	file := (*sqlite3.Tsqlite3_file)(cptr(pFile))
	if rc != sqlite3.SQLITE_OK || flags&sqlite3.SQLITE_OPEN_WAL == 0 || file.FpMethods == 0 {
		return rc
	}
	walVFS.mu.Lock()
	defer walVFS.mu.Unlock()
	if walVFS.table == 0 {
		walVFS.table = file.FpMethods
		walVFS.real = *(*sqlite3.Tsqlite3_io_methods)(cptr(file.FpMethods))
		m := (*sqlite3.Tsqlite3_io_methods)(cptr(walVFS.methods))
		*m = walVFS.real
		*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&m.FxClose)) = walClose
		*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxRead)) = walRead
		*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&m.FxWrite)) = walWrite
		*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&m.FxTruncate)) = walTruncate
		*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&m.FxSync)) = walSync
		*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&m.FxFileSize)) = walFileSize
		*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&m.FxFileControl)) = walFileControl
	} else if file.FpMethods != walVFS.table {
		// Another unix locking style than the first WAL file's: leave this
		// file unbuffered rather than mix method tables.
		return rc
	}
	walVFS.files[pFile] = &walFile{}
	file.FpMethods = walVFS.methods
	return rc
}

func walState(pFile uintptr) *walFile {
	walVFS.mu.Lock()
	f := walVFS.files[pFile]
	walVFS.mu.Unlock()
	return f
}

// flush writes out what f holds. The run is dropped whatever the outcome:
// after a failure SQLite gives up the transaction it belonged to.
func (f *walFile) flush(tls *libc.TLS, pFile uintptr) int32 {
	if len(f.buf) == 0 {
		return sqlite3.SQLITE_OK
	}
	// One pwrite on the unix file's descriptor: unixWrite would cut the
	// run into pieces of under 128 KiB, each an lseek and a write.
	uf := (*sqlite3.TunixFile)(cptr(pFile))
	buf, off := f.buf, f.off
	f.buf = f.buf[:0]
	f.commit = false
	for len(buf) > 0 {
		n, err := syscall.Pwrite(int(uf.Fh), buf, off)
		walVFS.writes.Add(1)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.ENOSPC || (err == nil && n == 0):
			uf.FlastErrno = int32(syscall.ENOSPC)
			return sqlite3.SQLITE_FULL
		case err != nil:
			if en, ok := err.(syscall.Errno); ok {
				uf.FlastErrno = int32(en)
			}
			return sqlite3.SQLITE_IOERR_WRITE
		}
		buf, off = buf[n:], off+int64(n)
	}
	return sqlite3.SQLITE_OK
}

func realWrite(tls *libc.TLS, pFile, p uintptr, n int32, off int64) int32 {
	walVFS.writes.Add(1)
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&struct{ uintptr }{walVFS.real.FxWrite})))(tls, pFile, p, n, off)
}

func walWrite(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	f := walState(pFile)
	if f == nil || iAmt <= 0 {
		return realWrite(tls, pFile, zBuf, iAmt, iOfst)
	}
	if len(f.buf) > 0 && f.off+int64(len(f.buf)) != iOfst {
		if rc := f.flush(tls, pFile); rc != sqlite3.SQLITE_OK {
			return rc
		}
	}
	if len(f.buf) == 0 {
		f.off = iOfst
	}
	src := unsafe.Slice((*byte)(cptr(zBuf)), iAmt)
	f.buf = append(f.buf, src...)
	switch {
	case iAmt == walFrameHeader:
		f.commit = src[4]|src[5]|src[6]|src[7] != 0
		return sqlite3.SQLITE_OK
	case f.commit || len(f.buf) >= walFlushAt:
		// The page of a commit frame: the transaction is complete, and
		// SQLite publishes it as soon as this write returns.
		return f.flush(tls, pFile)
	}
	return sqlite3.SQLITE_OK
}

func walRead(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	if rc := flushFile(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&struct{ uintptr }{walVFS.real.FxRead})))(tls, pFile, zBuf, iAmt, iOfst)
}

func walTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	if rc := flushFile(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&struct{ uintptr }{walVFS.real.FxTruncate})))(tls, pFile, size)
}

func walSync(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	if rc := flushFile(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&struct{ uintptr }{walVFS.real.FxSync})))(tls, pFile, flags)
}

func walFileSize(tls *libc.TLS, pFile, pSize uintptr) int32 {
	if rc := flushFile(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{walVFS.real.FxFileSize})))(tls, pFile, pSize)
}

func walFileControl(tls *libc.TLS, pFile uintptr, op int32, pArg uintptr) int32 {
	if rc := flushFile(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{walVFS.real.FxFileControl})))(tls, pFile, op, pArg)
}

func walClose(tls *libc.TLS, pFile uintptr) int32 {
	rc := flushFile(tls, pFile)
	walVFS.mu.Lock()
	delete(walVFS.files, pFile)
	walVFS.mu.Unlock()
	if crc := (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{walVFS.real.FxClose})))(tls, pFile); rc == sqlite3.SQLITE_OK {
		rc = crc
	}
	return rc
}

func flushFile(tls *libc.TLS, pFile uintptr) int32 {
	if f := walState(pFile); f != nil {
		return f.flush(tls, pFile)
	}
	return sqlite3.SQLITE_OK
}

// writerVFSParams returns the DSN parameters that open the writer's
// connection through the shim.
func writerVFSParams() ([]string, error) {
	if err := registerWALVFS(); err != nil {
		return nil, err
	}
	return []string{"vfs", walVFSName}, nil
}

// WALBufferVFS registers the shim and returns its name, for the URI
// parameter vfs of another SQLite file's writing connection (the read
// models'); "" where there is no shim. Connections that only read gain
// nothing from it.
func WALBufferVFS() (string, error) {
	if err := registerWALVFS(); err != nil {
		return "", err
	}
	return walVFSName, nil
}
