package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
)

// sqliteConn is what database/sql uses of a modernc.org/sqlite connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// readConn is a connection of the read pool. Closing it first closes the
// statements kept prepared on it (see readStmts): the pool closes a
// connection whenever it discards one, as it does one whose query was
// interrupted by its context, and a statement closed after its connection
// crashes the driver.
type readConn struct {
	sqliteConn
	stmts *readStmts
}

func (c *readConn) Close() error {
	return errors.Join(c.stmts.closeConn(c), c.sqliteConn.Close())
}

// readConnector opens the read pool's connections on dsn.
type readConnector struct {
	drv   driver.Driver
	dsn   string
	stmts *readStmts
}

func (c *readConnector) Connect(context.Context) (driver.Conn, error) {
	dc, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(sqliteConn)
	if !ok {
		_ = dc.Close()
		return nil, fmt.Errorf("driver connection %T lacks a method the read pool needs", dc)
	}
	return &readConn{sqliteConn: sc, stmts: c.stmts}, nil
}

func (c *readConnector) Driver() driver.Driver { return c.drv }
