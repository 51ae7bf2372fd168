package ledger_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"github.com/scelle-ledger/scelle/ledger"
)

// memLog is an in-memory log built exactly as a store builds one: ledger.Link
// for the chain, Tree.Append for the Merkle nodes it persists.
type memLog struct {
	mu     sync.Mutex
	events []ledger.StoredEvent
	heads  map[string]ledger.Hash
	revs   map[string]uint64
	tree   *ledger.Tree
	nodes  map[ledger.NodeID]ledger.Hash
	clock  time.Time
	// deterministic derives event, correlation and causation IDs from the
	// position, so that two runs build the same log (fuzz corpus).
	deterministic bool
}

func newMemLog() *memLog {
	return &memLog{heads: map[string]ledger.Hash{}, revs: map[string]uint64{}, tree: ledger.NewTree(),
		nodes: map[ledger.NodeID]ledger.Hash{}, clock: time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC)}
}

func (m *memLog) append(t testing.TB, stream, typ, payload string) ledger.StoredEvent {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	rev, ok := m.revs[stream]
	if ok {
		rev++
	}
	m.clock = m.clock.Add(time.Minute)
	id, corr, caus := uuid.New(), uuid.New(), uuid.New()
	if m.deterministic {
		n := []byte(fmt.Sprint(len(m.events)))
		id, corr, caus = uuid.NewSHA1(uuid.NameSpaceOID, n), uuid.NewSHA1(uuid.NameSpaceURL, n), uuid.NewSHA1(uuid.NameSpaceX500, n)
	}
	e := ledger.StoredEvent{
		Envelope: ledger.Envelope{
			EventID: id, Stream: stream, Revision: rev, Type: typ, SchemaVersion: 1,
			OccurredAt: m.clock.Add(-30 * time.Second), RecordedAt: m.clock,
			Actor:         ledger.Actor{User: "agent-17", Agency: "MA-DOUANE", Role: "officer"},
			CorrelationID: corr, CausationID: caus,
			PayloadDigest: ledger.PayloadDigest([]byte(payload)),
		},
		Payload:  []byte(payload),
		Position: uint64(len(m.events)),
	}
	h, err := ledger.Link(&e.Envelope, m.heads[stream])
	if err != nil {
		t.Fatal(err)
	}
	e.Hash = h
	nodes, err := m.tree.Append(ledger.LeafHash(h))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		m.nodes[n.ID] = n.Hash
	}
	m.heads[stream], m.revs[stream] = h, rev
	m.events = append(m.events, e)
	return e
}

func (m *memLog) TreeSize(context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tree.Size(), nil
}

func (m *memLog) Nodes(_ context.Context, ids []ledger.NodeID) ([]ledger.Hash, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]ledger.Hash, len(ids))
	for i, id := range ids {
		h, ok := m.nodes[id]
		if !ok {
			return nil, fmt.Errorf("node %+v not persisted", id)
		}
		out[i] = h
	}
	return out, nil
}

// stream returns every event of one stream.
func (m *memLog) stream(name string) []ledger.StoredEvent {
	var out []ledger.StoredEvent
	for _, e := range m.events {
		if e.Stream == name {
			out = append(out, e)
		}
	}
	return out
}

type keyPair struct {
	skey, vkey string
	signer     note.Signer
	verifier   note.Verifier
}

func newKey(t testing.TB, name string, kind ledger.KeyKind) keyPair {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(rand.Reader, name, kind)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.NewSigner(skey, func() time.Time { return time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	v, err := ledger.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{skey: skey, vkey: vkey, signer: s, verifier: v}
}

const testOrigin = "scelle.example/MA-DOUANE-TGM"

// seizureLog fills a log with the reference case's shape: a seizure, an
// exhibit with its custody events, two sub-samples, and unrelated noise.
func seizureLog(t testing.TB) *memLog {
	m := newMemLog()
	m.append(t, "seizure-2026-TGM-0042", "SeizureRecorded", `{"place":"Tanger Med","mass_mg":1250000000}`)
	m.append(t, "exhibit-E1", "ExhibitRegistered", `{"seal":"S-0001","mass_mg":1250000000}`)
	m.append(t, "other-1", "ExhibitRegistered", `{"seal":"X"}`)
	m.append(t, "exhibit-E1", "TransferOffered", `{"to":"LAB-CASA"}`)
	m.append(t, "exhibit-E1", "TransferAccepted", `{"seal":"S-0001"}`)
	m.append(t, "exhibit-E1-S1", "SubSampleTaken", `{"parent":"exhibit-E1","mass_mg":5000}`)
	m.append(t, "other-1", "TransferOffered", `{"to":"Y"}`)
	m.append(t, "exhibit-E1-S2", "SubSampleTaken", `{"parent":"exhibit-E1","mass_mg":5000}`)
	m.append(t, "exhibit-E1-S1", "AnalysisReported", `{"substance":"cannabis resin","thc_bp":2150}`)
	m.append(t, "exhibit-E1", "Sealed", `{"seal":"S-0002"}`)
	return m
}

// exhibitEvents returns the exhibit, its sub-samples, in any order.
func exhibitEvents(m *memLog) []ledger.StoredEvent {
	var out []ledger.StoredEvent
	for _, s := range []string{"exhibit-E1-S2", "exhibit-E1", "exhibit-E1-S1"} {
		out = append(out, m.stream(s)...)
	}
	return out
}

// signedAt signs the log's current tree with key and returns the note.
func signedAt(t testing.TB, m *memLog, key keyPair) []byte {
	t.Helper()
	cp := ledger.Checkpoint{Origin: key.signer.Name(), Size: uint64(len(m.events)), Root: m.tree.Root()}
	msg, err := ledger.SignCheckpoint(cp, key.signer)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// EventsInRange and EndPosition make memLog an AuditSource.
func (m *memLog) EventsInRange(_ context.Context, from, to uint64, dst []ledger.StoredEvent) ([]ledger.StoredEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := sort.Search(len(m.events), func(i int) bool { return m.events[i].Position >= from })
	for ; i < len(m.events) && m.events[i].Position < to; i++ {
		dst = append(dst, m.events[i])
	}
	return dst, nil
}

func (m *memLog) EndPosition(context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.events) == 0 {
		return 0, nil
	}
	return m.events[len(m.events)-1].Position + 1, nil
}
