package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scelle-ledger/scelle/eventstore"
	"github.com/scelle-ledger/scelle/eventstore/sqlite"
)

// rawDB opens the store's file directly, as any SQLite client would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatalf("open raw: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestFile_triggersRefuseUpdateAndDelete(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	if _, err := s.Append(ctx, "exhibit-1", eventstore.NoStream, event("t1"), event("t2")); err != nil {
		t.Fatalf("append: %v", err)
	}
	db := rawDB(t, s.Path())
	for _, stmt := range []string{
		`UPDATE events SET payload = '{"net_mg":1}' WHERE position = 0`,
		`UPDATE events SET stream = 'exhibit-2'`,
		`DELETE FROM events WHERE position = 1`,
		`DELETE FROM events`,
		`UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 0`,
		`DELETE FROM merkle_nodes WHERE level = 1`,
		`DELETE FROM merkle_nodes`,
	} {
		_, err := db.ExecContext(ctx, stmt)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: got %v, want the append-only trigger's error", stmt, err)
		}
	}
	evs, err := s.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil || len(evs) != 2 || evs[0].Stream != "exhibit-1" {
		t.Fatalf("read all after refused statements: got %d events (%v), want the 2 originals", len(evs), err)
	}
	if string(evs[0].Payload) != string(event("t1").Payload) {
		t.Fatalf("payload changed: got %s", evs[0].Payload)
	}
}

func TestFile_notAStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	t.Run("not sqlite", func(t *testing.T) {
		path := filepath.Join(dir, "text.db")
		content := strings.Repeat("this is not a database\n", 200)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		if !errors.Is(err, sqlite.ErrNotStore) {
			if s != nil {
				_ = s.Close()
			}
			t.Fatalf("open: got %v, want %v", err, sqlite.ErrNotStore)
		}
		got, _ := os.ReadFile(path)
		if string(got) != content {
			t.Fatalf("open changed the file it refused")
		}
	})

	t.Run("another sqlite database", func(t *testing.T) {
		path := filepath.Join(dir, "other.db")
		db := rawDB(t, path)
		if _, err := db.ExecContext(ctx, `CREATE TABLE seizures (id INTEGER PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		if !errors.Is(err, sqlite.ErrNotStore) {
			if s != nil {
				_ = s.Close()
			}
			t.Fatalf("open: got %v, want %v", err, sqlite.ErrNotStore)
		}
		var mode string
		if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "delete" {
			t.Fatalf("journal mode of the refused file: got %q (%v), want it unchanged (delete)", mode, err)
		}
	})

	t.Run("newer schema", func(t *testing.T) {
		path := filepath.Join(dir, "newer.db")
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		db := rawDB(t, path)
		if _, err := db.ExecContext(ctx, `PRAGMA user_version = 2`); err != nil {
			t.Fatal(err)
		}
		s, err = sqlite.Open(ctx, path, sqlite.Options{})
		if !errors.Is(err, sqlite.ErrNewerSchema) {
			if s != nil {
				_ = s.Close()
			}
			t.Fatalf("open: got %v, want %v", err, sqlite.ErrNewerSchema)
		}
	})
}

func TestAppend_badInputWritesNothing(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "")
	big := event("big")
	big.Payload = []byte(`{"x":"` + strings.Repeat("a", eventstore.MaxEventSize) + `"}`)
	notJSON := event("notjson")
	notJSON.Payload = []byte(`{"net_mg":`)
	noID := event("noid")
	noID.ID = [16]byte{}
	cases := []struct {
		name     string
		stream   string
		expected eventstore.ExpectedRevision
		events   []eventstore.EventData
		field    string
	}{
		{"empty stream", "", eventstore.Any, []eventstore.EventData{event("e1")}, "stream"},
		{"space in stream", "exhibit 1", eventstore.Any, []eventstore.EventData{event("e2")}, "stream"},
		{"unknown expected revision", "exhibit-1", eventstore.ExpectedRevision{}, []eventstore.EventData{event("e3")}, "expected_revision"},
		{"no events", "exhibit-1", eventstore.Any, nil, "events"},
		{"over 1 MiB", "exhibit-1", eventstore.Any, []eventstore.EventData{event("e4"), big}, "events[1].payload"},
		{"not JSON", "exhibit-1", eventstore.Any, []eventstore.EventData{notJSON}, "events[0].payload"},
		{"nil id", "exhibit-1", eventstore.Any, []eventstore.EventData{event("e5"), noID}, "events[1].id"},
		{"duplicate id", "exhibit-1", eventstore.Any, []eventstore.EventData{event("e6"), event("e6")}, "events[1].id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Append(ctx, c.stream, c.expected, c.events...)
			var ie *eventstore.InvalidError
			if !errors.As(err, &ie) || ie.Field != c.field {
				t.Fatalf("append: got %v, want an invalid %s error", err, c.field)
			}
		})
	}
	evs, err := s.ReadAll(ctx, eventstore.ReadOptions{})
	if err != nil || len(evs) != 0 {
		t.Fatalf("read all after bad input: got %d events (%v), want none", len(evs), err)
	}
	if size, _ := s.TreeSize(ctx); size != 0 {
		t.Fatalf("tree size after bad input: got %d, want 0", size)
	}
}

func TestClose_thenEverythingFails(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "exhibit-1", eventstore.NoStream, event("c1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := s.Append(ctx, "exhibit-1", eventstore.Any, event("c2")); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("append after close: got %v, want %v", err, eventstore.ErrClosed)
	}
	if _, err := s.ReadAll(ctx, eventstore.ReadOptions{}); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("read after close: got %v, want %v", err, eventstore.ErrClosed)
	}
	if _, err := s.TreeSize(ctx); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("tree size after close: got %v, want %v", err, eventstore.ErrClosed)
	}
	if err := s.Close(); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("second close: got %v, want %v", err, eventstore.ErrClosed)
	}
}

func TestOpen_pathsNeedingEscapes(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"with space.db", "q?x.db", "h#x.db", "pct%20.db"} {
		path := filepath.Join(t.TempDir(), name)
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatalf("open %q: %v", name, err)
		}
		if _, err := s.Append(ctx, "exhibit-1", eventstore.NoStream, event("p")); err != nil {
			t.Fatalf("append: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("the store is not at %q: %v", path, err)
		}
	}
}

func TestOpen_twiceInOneProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	// The same file by another spelling of its path.
	other := filepath.Join(filepath.Dir(path), ".", "events.db")
	if s2, err := sqlite.Open(ctx, other, sqlite.Options{}); !errors.Is(err, sqlite.ErrAlreadyOpen) {
		if s2 != nil {
			_ = s2.Close()
		}
		t.Fatalf("second open: got %v, want %v", err, sqlite.ErrAlreadyOpen)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}
