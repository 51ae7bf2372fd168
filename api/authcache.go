package api

import (
	"context"
	"database/sql"
	"os"
	"sync"
	"time"
)

// authCache remembers resolved tokens while auth.db is unchanged, so that
// a request costs one PRAGMA data_version instead of a join. The pragma,
// read on one connection kept for it, changes whenever any other
// connection commits (`scelle admin` in another process as much as this
// store's own pool): the whole cache is then dropped, so revocations,
// disabled users and role changes still take effect at once. Expiry is
// checked on every use.
type authCache struct {
	mu      sync.Mutex
	conn    *sql.Conn
	version *sql.Stmt // PRAGMA data_version, on conn
	seen    int64
	tokens  map[[32]byte]cachedToken
	gate    versionGate
	// shm is auth.db's WAL index, and sig the header it had when seen was
	// read (see walSig): while it is unchanged, nothing was committed, and
	// the pragma need not be read.
	shmPath string
	shm     *os.File
	sig     walSig
}

// walSig is the header of a WAL index (the -shm file; SQLite's file
// format, "The WAL-Index Format"): its change counter is incremented by
// every transaction, and its last frame number and checksum move with
// every commit, WAL restarts included. (The WAL file's own size and header
// would not do: after a restart, commits overwrite frames inside a longer
// file.) An equal header means no commit in between; anything unreadable
// counts as a change.
type walSig struct {
	ok     bool
	header [96]byte // the header's two copies
}

func (c *authCache) walSignature() walSig {
	if c.shm == nil {
		f, err := os.Open(c.shmPath)
		if err != nil {
			return walSig{}
		}
		c.shm = f
	}
	var s walSig
	if _, err := c.shm.ReadAt(s.header[:], 0); err != nil {
		return walSig{}
	}
	// SQLite keeps the header twice and writes one copy, then the other:
	// copies that differ are a commit in progress.
	if [48]byte(s.header[:48]) != [48]byte(s.header[48:]) {
		return walSig{}
	}
	s.ok = true
	return s
}

// versionGate shares data_version reads among concurrent requests without
// giving any of them a read older than its arrival: a request that finds
// a read under way waits for the next one, which starts once the current
// one ends and answers every request that joined it. Under load one read
// serves many requests; alone, a request reads at once.
type versionGate struct {
	mu        sync.Mutex
	cur, next *versionRead
}

type versionRead struct {
	done chan struct{}
	v    int64
	err  error
}

func (g *versionGate) read(run func() (int64, error)) (int64, error) {
	g.mu.Lock()
	if g.cur == nil {
		r := &versionRead{done: make(chan struct{})}
		g.cur = r
		g.mu.Unlock()
		return g.lead(r, run)
	}
	if r := g.next; r != nil {
		g.mu.Unlock()
		<-r.done
		return r.v, r.err
	}
	r := &versionRead{done: make(chan struct{})}
	g.next = r
	prev := g.cur
	g.mu.Unlock()
	<-prev.done // prev's leader has made r the current read
	return g.lead(r, run)
}

// lead runs r, the current read, then makes the waiting read (if any) the
// current one before waking its requests: reads never overlap.
func (g *versionGate) lead(r *versionRead, run func() (int64, error)) (int64, error) {
	r.v, r.err = run()
	g.mu.Lock()
	g.cur, g.next = g.next, nil
	g.mu.Unlock()
	close(r.done)
	return r.v, r.err
}

type cachedToken struct {
	p       Principal
	expires int64
}

const maxCachedTokens = 4096

// lookup returns the cached principal of token hash h, if auth.db has not
// changed since it was cached, and the data version now.
func (c *authCache) lookup(ctx context.Context, h [32]byte, now time.Time) (Principal, bool, int64, error) {
	c.mu.Lock()
	sig := c.walSignature()
	if sig.ok && sig == c.sig {
		// Nothing committed since seen was read: answer from the cache.
		v := c.seen
		t, ok := c.tokens[h]
		c.mu.Unlock()
		if !ok || now.UnixNano() >= t.expires {
			return Principal{}, false, v, nil
		}
		return t.p, true, v, nil
	}
	c.mu.Unlock()
	v, err := c.gate.read(func() (int64, error) {
		var v int64
		// Not cancellable: the pragma reads a header, and a cancellable
		// context costs a watcher goroutine per call.
		err := c.version.QueryRowContext(context.WithoutCancel(ctx)).Scan(&v)
		return v, err
	})
	if err != nil {
		return Principal{}, false, 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v != c.seen {
		clear(c.tokens)
		c.seen = v
		c.sig = sig // read before v: a commit after it changes the log again
		return Principal{}, false, v, nil
	}
	if v == c.seen && sig.ok {
		c.sig = sig
	}
	t, ok := c.tokens[h]
	if !ok || now.UnixNano() >= t.expires {
		return Principal{}, false, v, nil
	}
	return t.p, true, v, nil
}

// remember caches a principal read at data version v, unless auth.db has
// changed since.
func (c *authCache) remember(h [32]byte, p Principal, expires, v int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v != c.seen {
		return
	}
	if len(c.tokens) >= maxCachedTokens {
		clear(c.tokens)
	}
	c.tokens[h] = cachedToken{p: p, expires: expires}
}
