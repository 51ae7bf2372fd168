package projections

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// ErrBadCursor is matched by every *CursorError.
var ErrBadCursor = errors.New("projections: bad cursor")

// CursorError: a pagination cursor that this query did not issue.
type CursorError struct {
	Reason string
}

func (e *CursorError) Error() string { return "projections: invalid cursor: " + e.Reason }

func (e *CursorError) Is(target error) bool { return target == ErrBadCursor }

// ErrBadFilter is matched by every *FilterError.
var ErrBadFilter = errors.New("projections: bad filter")

// FilterError: a query filter or page field out of range. Field names it.
type FilterError struct {
	Field  string
	Reason string
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("projections: invalid %s: %s", e.Field, e.Reason)
}

func (e *FilterError) Is(target error) bool { return target == ErrBadFilter }

// Page asks for one page of a list.
type Page struct {
	// Limit is the most items returned: 1..MaxLimit, 0 means DefaultLimit.
	Limit int `json:"limit,omitempty"`
	// Cursor is the NextCursor of the previous page, empty for the first.
	Cursor string `json:"cursor,omitempty"`
	// MinPosition, if set, makes the query wait until the read models have
	// applied that global position (read-your-writes).
	MinPosition *uint64 `json:"min_position,omitempty"`
}

const (
	DefaultLimit = 50
	MaxLimit     = 500
)

func (p Page) limit() (int, error) {
	switch {
	case p.Limit == 0:
		return DefaultLimit, nil
	case p.Limit < 0 || p.Limit > MaxLimit:
		return 0, &FilterError{Field: "limit", Reason: fmt.Sprintf("%d is outside 1..%d", p.Limit, MaxLimit)}
	}
	return p.Limit, nil
}

// cursor is the decoded form of an opaque cursor: the view that issued it
// and the sort key of the last item returned.
type cursor struct {
	View string   `json:"v"`
	Key  []string `json:"k"`
}

func encodeCursor(view string, key ...string) string {
	b, _ := json.Marshal(cursor{View: view, Key: key})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the key of a cursor issued by view, nil for an
// empty cursor.
func decodeCursor(view, s string, n int) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, &CursorError{Reason: "not base64url"}
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, &CursorError{Reason: "not a scelle cursor"}
	}
	if c.View != view {
		return nil, &CursorError{Reason: fmt.Sprintf("issued by the %q list, not %q", c.View, view)}
	}
	if len(c.Key) != n {
		return nil, &CursorError{Reason: fmt.Sprintf("has %d key parts, want %d", len(c.Key), n)}
	}
	return c.Key, nil
}

// limitClause returns " LIMIT ?N" with N the number after args, and args
// with n appended: a limit bound as a parameter keeps the query's text, and
// so its prepared statement, the same for every page size.
func limitClause(args []any, n int) (string, []any) {
	return " LIMIT ?" + strconv.Itoa(len(args)+1), append(args, n)
}
