package checkpointdb_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/scelle-ledger/scelle/ledger"
	"github.com/scelle-ledger/scelle/ledger/checkpointdb"
)

func TestDB_AppendOnlyAndReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "checkpoints.db")
	db, err := checkpointdb.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.Latest(ctx); ok || err != nil {
		t.Fatalf("empty store: %v %v", ok, err)
	}
	notes := map[uint64]string{
		3: "scelle.example/log\n3\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— scelle.example/log AAAAAQ==\n",
		5: "scelle.example/log\n5\nAQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— scelle.example/log AAAAAQ==\n",
	}
	for _, size := range []uint64{3, 5} {
		c := &ledger.SignedCheckpoint{Body: ledger.Checkpoint{Origin: "scelle.example/log", Size: size, Root: ledger.Hash{1, 2, 3}}, Note: []byte(notes[size])}
		if err := db.Add(ctx, c); err != nil {
			t.Fatal(err)
		}
		if c.Seq == 0 {
			t.Fatal("Add did not set Seq")
		}
	}
	if err := db.Add(ctx, &ledger.SignedCheckpoint{Body: ledger.Checkpoint{Size: 4}, Note: []byte(notes[3])}); err == nil {
		t.Fatal("a smaller checkpoint was appended")
	}
	db.Close()

	// The table refuses UPDATE and DELETE even through plain SQL.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE checkpoints SET size = 1`); err == nil {
		t.Error("UPDATE accepted")
	}
	if _, err := raw.Exec(`DELETE FROM checkpoints`); err == nil {
		t.Error("DELETE accepted")
	}
	raw.Close()

	db, err = checkpointdb.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := db.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Body.Size != 3 || all[1].Body.Size != 5 || all[1].Body.Root != (ledger.Hash{1, 2, 3}) {
		t.Fatalf("reopened: %+v", all)
	}
	last, ok, err := db.Latest(ctx)
	if err != nil || !ok || last.Seq != all[1].Seq || string(last.Note) != notes[5] {
		t.Fatalf("latest: %+v %v %v", last, ok, err)
	}
}
