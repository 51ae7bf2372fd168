package sqlite

import (
	"context"
	"fmt"
	"net/url"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// capiConn is a read-only connection opened on SQLite's C API (the
// modernc.org/sqlite/lib translation) instead of through database/sql.
//
// It exists for speed. The driver opens every connection with
// SQLITE_OPEN_FULLMUTEX, so each sqlite3_column_* call takes and releases
// the connection's mutex, and it returns each column as a freshly
// allocated, boxed driver.Value: reading seventeen columns cost about three
// times what SQLite's own work does. A capiConn is opened with
// SQLITE_OPEN_NOMUTEX (it is used by one goroutine at a time: AuditReader's
// pool hands it out) and its callers copy the columns they need straight
// out of SQLite's memory into their own buffers.
type capiConn struct {
	tls   *libc.TLS
	db    uintptr
	stmts map[string]uintptr
	// names interns the short strings that repeat from row to row
	// (streams, event types, actors), so that a page of events does not
	// allocate one string per column per row.
	names map[string]string
}

// maxInterned bounds capiConn.names; the map is cleared when it is full.
const maxInterned = 1 << 14

// auditMmapSize is the PRAGMA mmap_size of audit connections: pages are
// read from the mapped file, without a pread and a copy each. SQLite caps
// it at its compile-time maximum.
const auditMmapSize = 1 << 40

// cptr turns an address SQLite returned into a pointer. The memory is
// SQLite's (its allocator or the mapped file), never Go's heap.
func cptr(p uintptr) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(nil), p) }

// openCAPI opens path read-only. It never creates the file: SQLite refuses
// a missing file under SQLITE_OPEN_READONLY.
func openCAPI(path string) (*capiConn, error) {
	c := &capiConn{tls: libc.NewTLS(), stmts: map[string]uintptr{}, names: map[string]string{}}
	name, err := libc.CString("file:" + (&url.URL{Path: path}).EscapedPath() + "?mode=ro")
	if err != nil {
		c.close()
		return nil, err
	}
	defer libc.Xfree(c.tls, name)
	pdb := c.tls.Alloc(int(unsafe.Sizeof(uintptr(0))))
	defer c.tls.Free(int(unsafe.Sizeof(uintptr(0))))
	*(*uintptr)(cptr(pdb)) = 0
	rc := sqlite3.Xsqlite3_open_v2(c.tls, name, pdb,
		sqlite3.SQLITE_OPEN_READONLY|sqlite3.SQLITE_OPEN_NOMUTEX|sqlite3.SQLITE_OPEN_URI, 0)
	c.db = *(*uintptr)(cptr(pdb))
	if rc != sqlite3.SQLITE_OK {
		err := c.err(rc)
		c.close()
		return nil, err
	}
	sqlite3.Xsqlite3_extended_result_codes(c.tls, c.db, 1)
	sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, 10000)
	if err := c.exec(fmt.Sprintf("PRAGMA query_only = 1; PRAGMA mmap_size = %d; PRAGMA cache_size = -16384", int64(auditMmapSize))); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// capiError is an error SQLite returned on an audit connection.
type capiError struct {
	code int32
	msg  string
}

func (e *capiError) Error() string { return fmt.Sprintf("%s (%d)", e.msg, e.code) }

// notADB reports whether SQLite found that the file is not a database.
func (e *capiError) notADB() bool { return e.code&0xff == sqlite3.SQLITE_NOTADB }

func (c *capiConn) err(rc int32) error {
	msg := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	if c.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
	}
	return &capiError{code: rc, msg: msg}
}

func (c *capiConn) exec(q string) error {
	z, err := libc.CString(q)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, z)
	if rc := sqlite3.Xsqlite3_exec(c.tls, c.db, z, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("%s: %w", q, c.err(rc))
	}
	return nil
}

// prepare returns the statement for q, prepared once per connection.
func (c *capiConn) prepare(q string) (uintptr, error) {
	if st, ok := c.stmts[q]; ok {
		return st, nil
	}
	z, err := libc.CString(q)
	if err != nil {
		return 0, err
	}
	defer libc.Xfree(c.tls, z)
	pst := c.tls.Alloc(int(unsafe.Sizeof(uintptr(0))))
	defer c.tls.Free(int(unsafe.Sizeof(uintptr(0))))
	*(*uintptr)(cptr(pst)) = 0
	if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, z, -1, pst, 0); rc != sqlite3.SQLITE_OK {
		return 0, fmt.Errorf("prepare %q: %w", q, c.err(rc))
	}
	st := *(*uintptr)(cptr(pst))
	c.stmts[q] = st
	return st, nil
}

// query runs q with args bound to ?1, ?2, ... and calls row for each
// result row; the columns that row reads are valid only until it returns.
// ctx is checked every 1024 rows.
func (c *capiConn) query(ctx context.Context, q string, args []int64, row func(st uintptr)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st, err := c.prepare(q)
	if err != nil {
		return err
	}
	defer sqlite3.Xsqlite3_reset(c.tls, st)
	for i, a := range args {
		if rc := sqlite3.Xsqlite3_bind_int64(c.tls, st, int32(i+1), a); rc != sqlite3.SQLITE_OK {
			return c.err(rc)
		}
	}
	for n := 1; ; n++ {
		switch rc := sqlite3.Xsqlite3_step(c.tls, st); rc {
		case sqlite3.SQLITE_ROW:
			row(st)
		case sqlite3.SQLITE_DONE:
			return nil
		default:
			return c.err(rc)
		}
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
}

// queryInt64 returns the first column of q's only row.
func (c *capiConn) queryInt64(ctx context.Context, q string) (int64, error) {
	var v int64
	err := c.query(ctx, q, nil, func(st uintptr) { v = c.int64At(st, 0) })
	return v, err
}

func (c *capiConn) int64At(st uintptr, col int32) int64 {
	return sqlite3.Xsqlite3_column_int64(c.tls, st, col)
}

// bytesAt returns column col of the current row as bytes (text as is,
// numbers in their text form, NULL as nil). The slice is SQLite's memory:
// copy what must outlive the row, and never keep the slice.
func (c *capiConn) bytesAt(st uintptr, col int32) []byte {
	p := sqlite3.Xsqlite3_column_blob(c.tls, st, col)
	n := sqlite3.Xsqlite3_column_bytes(c.tls, st, col)
	if p == 0 || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(cptr(p)), n)
}

// stringAt returns column col as an interned string. last is the value
// the column had in the previous row, checked before the intern map: event
// types and actors often repeat from one row to the next.
func (c *capiConn) stringAt(st uintptr, col int32, last *string) string {
	b := c.bytesAt(st, col)
	if string(b) == *last {
		return *last
	}
	if s, ok := c.names[string(b)]; ok {
		*last = s
		return s
	}
	if len(c.names) >= maxInterned {
		clear(c.names)
	}
	s := string(b)
	c.names[s] = s
	*last = s
	return s
}

func (c *capiConn) close() {
	for _, st := range c.stmts {
		sqlite3.Xsqlite3_finalize(c.tls, st)
	}
	c.stmts = nil
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
		c.db = 0
	}
	c.tls.Close()
}
