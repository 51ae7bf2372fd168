package api

import (
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A resolved token is served from memory while auth.db is unchanged; a
// revocation or a disabled user, written by another process's store, takes
// effect on the very next request.
func TestAuthenticate_cacheFollowsOtherWriters(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "auth.db")
	srv, err := OpenAuthStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	admin, err := OpenAuthStore(ctx, path) // `scelle admin`, as another process would
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	now := time.Now()
	if err := admin.AddAgency(ctx, Agency{Code: "MA-DOUANE-TGM", Name: "douane", Country: "MA", Kind: "customs"}, now); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"nadia", "youssef"} {
		if err := admin.AddUser(ctx, User{ID: id, Agency: "MA-DOUANE-TGM", Roles: []string{RoleOfficer}}, now); err != nil {
			t.Fatal(err)
		}
	}
	tokN, secN, err := admin.IssueToken(ctx, "nadia", "", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	_, secY, err := admin.IssueToken(ctx, "youssef", "", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		for _, sec := range []string{secN, secY} {
			if _, err := srv.Authenticate(ctx, sec, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := len(srv.cache.tokens); n != 2 {
		t.Fatalf("%d tokens cached, want 2", n)
	}
	if !srv.cache.sig.ok {
		t.Fatal("the log's signature was never taken: every request reads the pragma")
	}
	if _, err := srv.Authenticate(ctx, secN, now.Add(2*time.Hour)); err == nil {
		t.Fatal("an expired token served from the cache")
	}
	if err := admin.RevokeToken(ctx, tokN.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Authenticate(ctx, secN, now); err == nil {
		t.Fatal("a token revoked by another store still authenticates")
	}
	if _, err := srv.Authenticate(ctx, secY, now); err != nil {
		t.Fatal(err)
	}
	if err := admin.SetUserDisabled(ctx, "youssef", true); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Authenticate(ctx, secY, now); err == nil {
		t.Fatal("a user disabled by another store still authenticates")
	}
	// The server's own writes are seen too.
	if err := srv.SetUserDisabled(ctx, "youssef", false); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Authenticate(ctx, secY, now); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetUserDisabled(ctx, "youssef", true); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Authenticate(ctx, secY, now); err == nil {
		t.Fatal("a user disabled by the server's own store still authenticates")
	}
}

// Requests sharing data_version reads never get one older than their
// arrival: once a revocation is committed, every request that starts
// after it is refused, however many run at once.
func TestAuthenticate_concurrentRevocation(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "auth.db")
	srv, err := OpenAuthStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	admin, err := OpenAuthStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	now := time.Now()
	if err := admin.AddAgency(ctx, Agency{Code: "MA-DOUANE-TGM", Name: "douane", Country: "MA", Kind: "customs"}, now); err != nil {
		t.Fatal(err)
	}
	if err := admin.AddUser(ctx, User{ID: "nadia", Agency: "MA-DOUANE-TGM", Roles: []string{RoleOfficer}}, now); err != nil {
		t.Fatal(err)
	}
	tok, sec, err := admin.IssueToken(ctx, "nadia", "", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	var revoking, revoked atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				before, after := !revoking.Load(), revoked.Load()
				_, err := srv.Authenticate(ctx, sec, now)
				if after && err == nil {
					errs <- "a request started after the revocation was authenticated"
					return
				}
				if after && i > 50 {
					return
				}
				if before && !revoking.Load() && err != nil { // ran wholly before the revocation
					errs <- "before the revocation: " + err.Error()
					return
				}
			}
		}()
	}
	for range 200 {
		if _, err := srv.Authenticate(ctx, sec, now); err != nil {
			t.Fatal(err)
		}
	}
	revoking.Store(true)
	if err := admin.RevokeToken(ctx, tok.ID, now); err != nil {
		t.Fatal(err)
	}
	revoked.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
