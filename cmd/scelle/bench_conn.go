package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// laneConn sends the requests of one lane of the measured loop.
type laneConn interface {
	send(ctx context.Context, user, method, path string, body []byte, out any) error
	close()
}

// httpLane sends through net/http (an https server).
type httpLane struct{ b *benchClient }

func (l httpLane) send(ctx context.Context, user, method, path string, body []byte, out any) error {
	return l.b.doRaw(ctx, user, method, path, body, out)
}

func (httpLane) close() {}

// rawLane speaks HTTP/1.1 on one kept-alive connection of its own, written
// and read in the lane's goroutine. net/http's client runs two goroutines
// per connection and hands every request and response between them; on a
// machine whose two cores also run the server, the load generator's own
// cost is part of the figures, so the measured loop uses this instead. It
// reads what the server sends: a Content-Length or a chunked body.
type rawLane struct {
	b          *benchClient
	addr, host string
	c          net.Conn
	r          *bufio.Reader
	req, body  []byte
}

func newLane(b *benchClient) (laneConn, error) {
	u, err := url.Parse(b.base)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return httpLane{b}, nil
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &rawLane{b: b, addr: addr, host: u.Host}, nil
}

func (l *rawLane) close() {
	if l.c != nil {
		l.c.Close()
		l.c = nil
	}
}

func (l *rawLane) send(ctx context.Context, user, method, path string, body []byte, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.c == nil {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", l.addr)
		if err != nil {
			return err
		}
		l.c, l.r = c, bufio.NewReaderSize(c, 64<<10)
	}
	status, keep, err := l.roundTrip(user, method, path, body)
	if err != nil || !keep {
		l.close()
	}
	if err != nil {
		return err
	}
	if status >= 300 {
		return &benchError{status: status, body: string(l.body)}
	}
	if out != nil {
		return json.Unmarshal(l.body, out)
	}
	return nil
}

func (l *rawLane) roundTrip(user, method, path string, body []byte) (status int, keep bool, err error) {
	if err := l.c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return 0, false, err
	}
	q := append(l.req[:0], method...)
	q = append(q, ' ')
	q = append(q, path...)
	q = append(q, " HTTP/1.1\r\nHost: "...)
	q = append(q, l.host...)
	q = append(q, "\r\nAuthorization: "...)
	q = append(q, l.b.auth[user]...)
	if body != nil {
		q = append(q, "\r\nContent-Type: application/json\r\nIdempotency-Key: "...)
		q = append(q, l.b.prefix...)
		q = strconv.AppendInt(q, l.b.seq.Add(1), 10)
		q = append(q, "\r\nContent-Length: "...)
		q = strconv.AppendInt(q, int64(len(body)), 10)
	}
	q = append(q, "\r\n\r\n"...)
	q = append(q, body...)
	l.req = q
	if _, err := l.c.Write(q); err != nil {
		return 0, false, err
	}

	line, err := l.r.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("bench: bad status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, false, fmt.Errorf("bench: bad status line %q", line)
	}
	keep = line[7] == '1' // HTTP/1.1 keeps the connection unless told
	length, chunked := -1, false
	for {
		h, err := l.r.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil {
				return 0, false, fmt.Errorf("bench: bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.Contains(bytes.ToLower(v), []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			if bytes.EqualFold(v, []byte("close")) {
				keep = false
			}
		}
	}
	l.body = l.body[:0]
	switch {
	case chunked:
		for {
			sz, err := l.r.ReadSlice('\n')
			if err != nil {
				return 0, false, err
			}
			sz = bytes.TrimRight(sz, "\r\n")
			if i := bytes.IndexByte(sz, ';'); i >= 0 {
				sz = sz[:i]
			}
			n, err := strconv.ParseUint(string(bytes.TrimSpace(sz)), 16, 32)
			if err != nil {
				return 0, false, fmt.Errorf("bench: bad chunk size %q", sz)
			}
			if n == 0 {
				for { // trailers, then the blank line
					t, err := l.r.ReadSlice('\n')
					if err != nil {
						return 0, false, err
					}
					if len(bytes.TrimRight(t, "\r\n")) == 0 {
						break
					}
				}
				break
			}
			if l.body, err = readN(l.r, l.body, int(n)); err != nil {
				return 0, false, err
			}
			if _, err := l.r.Discard(2); err != nil { // CRLF after the chunk
				return 0, false, err
			}
		}
	case length >= 0:
		if l.body, err = readN(l.r, l.body, length); err != nil {
			return 0, false, err
		}
	default:
		return 0, false, errors.New("bench: response without a length")
	}
	return status, keep, nil
}

// readN appends n bytes read from r to b.
func readN(r io.Reader, b []byte, n int) ([]byte, error) {
	start := len(b)
	b = slices.Grow(b, n)[:start+n]
	_, err := io.ReadFull(r, b[start:])
	return b, err
}
