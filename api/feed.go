package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/projections"
)

type feedInput struct {
	CaseID      string `query:"case_id" format:"uuid" doc:"Only this case's events."`
	Limit       int    `query:"limit" minimum:"0" maximum:"500" doc:"Most items per page (default 50, at most 500)."`
	Cursor      string `query:"cursor" maxLength:"1024" doc:"The next_cursor of the previous page; absent for the first page."`
	MinPosition string `query:"min_position" doc:"Wait (up to a few seconds) until the read models include this global position: pass the position a write returned to read your own write."`
}

type feedStreamInput struct {
	CaseID      string `query:"case_id" format:"uuid" doc:"Only this case's events."`
	LastEventID string `header:"Last-Event-ID" maxLength:"1024" doc:"Resume after this event id (sent automatically by EventSource on reconnect)."`
	After       string `query:"after" maxLength:"1024" doc:"Resume after this cursor (the id of an earlier message, or a next_cursor of GET /v1/feed)."`
}

// feedKeepAlive is how often an idle feed sends a comment line, so that
// proxies keep the connection open.
const feedKeepAlive = 15 * time.Second

func (s *Server) registerFeed() {
	if s.cfg.Reads == nil || s.cfg.Progress == nil {
		return
	}
	rm := s.cfg.Reads
	register(s, authenticated, get("list-feed", "/v1/feed", "Feed, by page", "The events of the cases your agency takes part in, in the order they became visible. Page with next_cursor.", "feed"),
		func(ctx context.Context, in *feedInput) (*body[projections.FeedPage], error) {
			pg, err := pageOf(in)
			if err != nil {
				return nil, err
			}
			f := projections.FeedFilter{}
			if f.CaseID, err = optionalID("query.case_id", in.CaseID); err != nil {
				return nil, err
			}
			out, err := rm.FeedEvents(ctx, principalOf(ctx).Agency, f, pg)
			return &body[projections.FeedPage]{out}, err
		})

	op := get("feed", "/v1/feed/stream", "Live feed (server-sent events)",
		"A text/event-stream of the events of the cases your agency takes part in: history after the resume point, then live. "+
			"Each message is `event: <event type>`, `data: <feed item JSON>`; the last message of each batch carries an `id` to resume from "+
			"(Last-Event-ID). Delivery is at least once: deduplicate by event_id.", "feed")
	op.Responses = map[string]*huma.Response{"200": {
		Description: "Server-sent events; data is a feed item.",
		Content: map[string]*huma.MediaType{"text/event-stream": {
			Schema: &huma.Schema{Type: huma.TypeString, Description: "SSE messages whose data is a FeedItem (see GET /v1/feed)."},
		}},
	}}
	register(s, authenticated, op, func(ctx context.Context, in *feedStreamInput) (*huma.StreamResponse, error) {
		f := projections.FeedFilter{}
		var err error
		if f.CaseID, err = optionalID("query.case_id", in.CaseID); err != nil {
			return nil, err
		}
		cursor := in.After
		if in.LastEventID != "" {
			cursor = in.LastEventID
		}
		p := principalOf(ctx)
		// Fail early on a bad cursor, as a problem rather than a stream.
		first, err := rm.FeedEvents(ctx, p.Agency, f, projections.Page{Cursor: cursor, Limit: projections.MaxLimit})
		if err != nil {
			return nil, err
		}
		return &huma.StreamResponse{Body: func(hc huma.Context) {
			s.streamFeed(hc, p, f, cursor, first)
		}}, nil
	})
}

func (s *Server) streamFeed(hc huma.Context, p Principal, f projections.FeedFilter, cursor string, page projections.FeedPage) {
	ctx, cancel := context.WithCancel(hc.Context())
	defer cancel()
	go func() {
		select {
		case <-s.shutdown:
			cancel()
		case <-ctx.Done():
		}
	}()
	s.metrics.feed.Inc()
	defer s.metrics.feed.Dec()
	hc.SetHeader("Content-Type", "text/event-stream")
	hc.SetHeader("Cache-Control", "no-store")
	hc.SetHeader("X-Accel-Buffering", "no")
	hc.SetStatus(http.StatusOK)
	w := hc.BodyWriter()
	flush := func() {
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
	}
	fmt.Fprint(w, "retry: 2000\n\n")
	flush()
	// covered: the read models had applied at least this position before
	// the last page was read (-1: unknown).
	covered := int64(-1)
	for {
		for i, it := range page.Items {
			data, err := json.Marshal(it)
			if err != nil {
				return
			}
			if i == len(page.Items)-1 && page.NextCursor != "" {
				fmt.Fprintf(w, "id: %s\n", page.NextCursor)
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", it.Type, data); err != nil {
				return
			}
		}
		if len(page.Items) > 0 {
			flush()
			if page.NextCursor != "" {
				cursor = page.NextCursor
			}
		}
		if !page.HasMore {
			var ok bool
			if covered, ok = s.waitForNews(ctx, covered, w, flush); !ok {
				return
			}
		}
		var err error
		page, err = s.cfg.Reads.FeedEvents(ctx, p.Agency, f, projections.Page{Cursor: cursor, Limit: projections.MaxLimit})
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("feed query failed", "err", err, "request_id", requestIDFrom(ctx))
			}
			return
		}
	}
}

// waitForNews blocks until there may be something new to read: until the
// read models reach the store's head if they had not when the last page
// was read, else until they apply the event after it. It sends keep-alive
// comments meanwhile, and returns the new covered position, or false when
// the feed must end.
func (s *Server) waitForNews(ctx context.Context, covered int64, w interface{ Write([]byte) (int, error) }, flush func()) (int64, bool) {
	evs, err := s.store.ReadAll(ctx, eventstore.ReadOptions{Direction: eventstore.Backwards, From: eventstore.End, Count: 1})
	if err != nil {
		return covered, false
	}
	head := int64(-1)
	if len(evs) == 1 {
		head = int64(evs[0].Position)
	}
	target := head + 1
	if head > covered {
		target = head
	}
	for {
		err := s.cfg.Progress.WaitFor(ctx, uint64(target), feedKeepAlive)
		if err == nil {
			return target, true
		}
		if ctx.Err() != nil {
			return covered, false
		}
		if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
			return covered, false
		}
		flush()
	}
}
