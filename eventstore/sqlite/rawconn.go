package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

// rawStmt is a statement prepared on the writer's driver connection. The
// writer runs inside sql.Conn.Raw for its whole life and calls the driver
// directly: this spares database/sql's locking and argument conversion on
// every statement of the hot path.
type rawStmt struct {
	st    driver.Stmt
	exec_ driver.StmtExecContext
	query driver.StmtQueryContext
	nv    []driver.NamedValue
}

func prepareRaw(ctx context.Context, dc any, query string) (*rawStmt, error) {
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("driver connection %T cannot prepare with a context", dc)
	}
	st, err := pc.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", query, err)
	}
	ec, ok1 := st.(driver.StmtExecContext)
	qc, ok2 := st.(driver.StmtQueryContext)
	if !ok1 || !ok2 {
		_ = st.Close()
		return nil, fmt.Errorf("driver statement %T lacks ExecContext or QueryContext", st)
	}
	return &rawStmt{st: st, exec_: ec, query: qc}, nil
}

func (s *rawStmt) bind(args []driver.Value) []driver.NamedValue {
	s.nv = s.nv[:0]
	for i, a := range args {
		s.nv = append(s.nv, driver.NamedValue{Ordinal: i + 1, Value: a})
	}
	return s.nv
}

// exec runs the statement with args (int64, string or []byte values).
func (s *rawStmt) exec(ctx context.Context, args ...driver.Value) error {
	_, err := s.exec_.ExecContext(ctx, s.bind(args))
	clear(s.nv) // do not keep payloads alive
	return err
}

// queryRow runs the statement and reads its first row into dest. found is
// false if there is no row.
func (s *rawStmt) queryRow(ctx context.Context, dest []driver.Value, args ...driver.Value) (found bool, err error) {
	rows, err := s.query.QueryContext(ctx, s.bind(args))
	clear(s.nv)
	if err != nil {
		return false, err
	}
	err = rows.Next(dest)
	cerr := rows.Close()
	if errors.Is(err, io.EOF) {
		return false, cerr
	}
	if err != nil {
		return false, err
	}
	return true, cerr
}

func (s *rawStmt) close() error {
	if s == nil {
		return nil
	}
	return s.st.Close()
}
