package api

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// A key recorded before a restart is still answered from api.db after it,
// although new keys skip the lookup (the key filter is loaded at open).
func TestIdempotency_keysSurviveRestart(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	calls := 0
	run := func(i *idempotency, key string, digest [32]byte) (CommandResult, error) {
		var out CommandResult
		err := i.do(ctx, "nadia", key, digest, &out, func() (any, error) {
			calls++
			return CommandResult{Command: "OpenCase", Position: uint64(calls)}, nil
		}, time.Now())
		return out, err
	}
	d1, d2 := [32]byte{1}, [32]byte{2}
	i, err := openIdempotency(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 100 {
		if _, err := run(i, "k"+strconv.Itoa(n), d1); err != nil {
			t.Fatal(err)
		}
	}
	if err := i.close(); err != nil {
		t.Fatal(err)
	}
	if i, err = openIdempotency(ctx, dir); err != nil {
		t.Fatal(err)
	}
	defer i.close()
	for n := range 100 {
		if !i.known.mayHold("nadia\x00k" + strconv.Itoa(n)) {
			t.Fatalf("key k%d not in the filter after a restart", n)
		}
	}
	res, err := run(i, "k7", d1)
	if err != nil || res.Position != 8 || calls != 100 {
		t.Fatalf("retry after a restart: %+v, %v, %d calls; want the first answer (position 8) and no new call", res, err, calls)
	}
	if _, err := run(i, "k7", d2); !errors.Is(err, errKeyReused) {
		t.Fatalf("same key, other request, after a restart: %v, want errKeyReused", err)
	}
	if res, err := run(i, "new", d1); err != nil || res.Position != 101 {
		t.Fatalf("new key: %+v, %v", res, err)
	}
}

// A command is answered only once its record is committed in api.db: a
// server killed right after answering (what another process reading the
// file sees at that moment is what a restart finds) still holds the
// record, so a retry gets the same response instead of a new decision.
func TestIdempotency_recordCommittedBeforeAnswer(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	i, err := openIdempotency(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer i.close()
	other, err := openSQLite(ctx, filepath.Join(dir, "api.db"), "NORMAL")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for n := range 50 {
		key := "k" + strconv.Itoa(n)
		var out CommandResult
		if err := i.do(ctx, "nadia", key, [32]byte{byte(n)}, &out, func() (any, error) {
			return CommandResult{Command: "AcceptTransfer", Position: uint64(n)}, nil
		}, time.Now()); err != nil {
			t.Fatal(err)
		}
		var resp []byte
		if err := other.QueryRowContext(ctx, `SELECT response FROM idempotency WHERE scope = ? AND key = ?`, "nadia", key).Scan(&resp); err != nil {
			t.Fatalf("command %d answered, but its record is not in api.db: %v", n, err)
		}
		var stored CommandResult
		if err := json.Unmarshal(resp, &stored); err != nil || stored.Position != uint64(n) {
			t.Fatalf("command %d: stored response %s (%v), want position %d", n, resp, err, n)
		}
	}
}
