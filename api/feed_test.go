package api_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sse reads server-sent events from a live response.
type sse struct {
	res *http.Response
	sc  *bufio.Scanner
}

type sseMsg struct{ id, event, data string }

func (e *env) openFeed(ctx context.Context, user, lastID string) *sse {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.http.URL+"/v1/feed/stream", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[user])
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		e.t.Fatalf("feed: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return &sse{res: res, sc: bufio.NewScanner(res.Body)}
}

// next returns the next message with data, skipping comments.
func (s *sse) next(t *testing.T) sseMsg {
	t.Helper()
	var m sseMsg
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if m.data != "" {
				return m
			}
		case strings.HasPrefix(line, "id: "):
			m.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			m.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			m.data = line[6:]
		}
	}
	t.Fatalf("feed ended: %v", s.sc.Err())
	return m
}

// TestFeed_liveAndResumable: the feed delivers history then live events,
// and a reconnect with Last-Event-ID resumes after what was received.
func TestFeed_liveAndResumable(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	caseID := openCase(e, "nadia", "MA-TGM-2026-0412")
	f := e.openFeed(ctx, "nadia", "")
	m := f.next(t)
	if m.event != "CaseOpened" || !strings.Contains(m.data, caseID) || m.id == "" {
		t.Fatalf("first message: %+v", m)
	}
	f.res.Body.Close()
	// Live: a share arrives on a new connection resumed after the first.
	f = e.openFeed(ctx, "nadia", m.id)
	e.cmd("idriss", "share-case", map[string]any{"case_id": caseID, "agency": "FR-JI-MRS", "country": "FR", "legal_basis": "EIM-2026-FR-MA-0088"}, 200)
	m2 := f.next(t)
	if m2.event != "CaseShared" || m2.id == "" || m2.id == m.id {
		t.Fatalf("after resume: %+v, want CaseShared only", m2)
	}
	f.res.Body.Close()
	// The French judge now sees the case's events from the start.
	f = e.openFeed(ctx, "helene", "")
	if m3 := f.next(t); m3.event != "CaseOpened" {
		t.Fatalf("shared agency's first message: %+v", m3)
	}
	f.res.Body.Close()
}

func TestAttachments_roundTrip(t *testing.T) {
	e := newEnv(t)
	caseID := openCase(e, "nadia", "MA-TGM-2026-0412")
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
	r := e.do("nadia", "POST", "/v1/cases/"+caseID+"/attachments?filename=bale.png", png, "Content-Type", "image/png")
	var a struct {
		SHA256    string `json:"sha256"`
		MediaType string `json:"media_type"`
		Size      int64
	}
	r.json(t, &a)
	if r.Status != 200 || len(a.SHA256) != 64 || a.MediaType != "image/png" || a.Size != int64(len(png)) {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	d := e.do("karim", "GET", "/v1/cases/"+caseID+"/attachments/"+a.SHA256, nil)
	if d.Status != 200 || string(d.Body) != string(png) || d.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("download: %d %q", d.Status, d.Header.Get("Content-Type"))
	}
	// Attached to another case the caller owns: not found there.
	other := openCase(e, "nadia", "MA-TGM-2026-0413")
	if d := e.do("nadia", "GET", "/v1/cases/"+other+"/attachments/"+a.SHA256, nil); d.Status != 404 {
		t.Fatalf("download through another case: %d", d.Status)
	}
}
