package storetest

import (
	"testing"

	"github.com/google/uuid"

	"github.com/scelle-ledger/scelle/eventstore"
)

// testLargeStream appends one large stream in batches and reads it back
// whole, forwards and backwards, and in pages.
func (s *suite) testLargeStream(t *testing.T) {
	ctx := testCtx(t)
	st := s.open(t)
	n := s.opts.LargeStreamEvents
	if n == 0 {
		n = 100_000
		if testing.Short() {
			n = 5_000
		}
	}
	const (
		batch  = 1_000
		stream = "exhibit-large"
	)
	want := make([]uuid.UUID, 0, n)
	for len(want) < n {
		evs := newEvents("InventoryAudited", min(batch, n-len(want)))
		exp := eventstore.NoStream
		if len(want) > 0 {
			exp = eventstore.Exact(uint64(len(want) - 1))
		}
		res := mustAppend(t, ctx, st, stream, exp, evs...)
		want = append(want, ids(evs)...)
		if res.Revision != uint64(len(want)-1) {
			t.Fatalf("append of a batch: got revision %d, want %d", res.Revision, len(want)-1)
		}
	}

	fwd := readStream(t, ctx, st, stream)
	checkSameEvents(t, "large stream forwards", fwd, want)
	checkChain(t, fwd)

	bwd, err := st.ReadStream(ctx, stream, eventstore.ReadOptions{Direction: eventstore.Backwards, From: eventstore.End})
	if err != nil {
		t.Fatalf("read backwards: got %v, want no error", err)
	}
	if len(bwd) != n {
		t.Fatalf("large stream backwards: got %d events, want %d", len(bwd), n)
	}
	for i, e := range bwd {
		r := uint64(n - 1 - i)
		if e.Revision != r || e.EventID != want[r] || e.Hash != fwd[r].Hash || e.Position != fwd[r].Position {
			t.Fatalf("large stream backwards event %d: got revision %d id %s, want revision %d id %s", i, e.Revision, e.EventID, r, want[r])
		}
	}

	// Pages of 777 forwards from the middle and backwards from a revision.
	mid := uint64(n / 2)
	page, err := st.ReadStream(ctx, stream, eventstore.ReadOptions{From: eventstore.At(mid), Count: 777})
	if err != nil {
		t.Fatalf("read a page: got %v, want no error", err)
	}
	checkSameEvents(t, "page forwards from the middle", page, want[mid:min(uint64(n), mid+777)])
	page, err = st.ReadStream(ctx, stream, eventstore.ReadOptions{Direction: eventstore.Backwards, From: eventstore.At(mid), Count: 777})
	if err != nil {
		t.Fatalf("read a page backwards: got %v, want no error", err)
	}
	var wantPage []uuid.UUID
	for r := int(mid); r >= 0 && len(wantPage) < 777; r-- {
		wantPage = append(wantPage, want[r])
	}
	checkSameEvents(t, "page backwards from the middle", page, wantPage)

	all := readAll(t, ctx, st)
	checkSameEvents(t, "global order", all, want)
	s.checkPositions(t, all)
}
