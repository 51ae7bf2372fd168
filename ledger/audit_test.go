package ledger_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/scelle-ledger/scelle/ledger"
)

// auditFixture is a log of 40 events with checkpoints at 10, 25 and 40.
func auditFixture(t *testing.T) (*memLog, keyPair, []ledger.SignedCheckpoint) {
	t.Helper()
	m := newMemLog()
	k := newKey(t, testOrigin, ledger.LogKey)
	var cps []ledger.SignedCheckpoint
	for i := range 40 {
		m.append(t, fmt.Sprintf("exhibit-%d", i%4), "Noted", fmt.Sprintf(`{"n":%d}`, i))
		if n := len(m.events); n == 10 || n == 25 || n == 40 {
			msg := signedAt(t, m, k)
			cps = append(cps, ledger.SignedCheckpoint{Seq: uint64(len(cps) + 1), Body: ledger.Checkpoint{Origin: testOrigin, Size: uint64(n), Root: m.tree.Root()}, Note: msg})
		}
	}
	return m, k, cps
}

func runAudit(t *testing.T, m *memLog, k keyPair, cps []ledger.SignedCheckpoint) *ledger.AuditReport {
	t.Helper()
	var last uint64
	r, err := ledger.Audit(context.Background(), m, m, cps, ledger.AuditOptions{LogKey: k.verifier, PageSize: 7, Workers: 3,
		Progress: func(done, total uint64) {
			if done < last || done > total {
				t.Errorf("progress %d/%d after %d", done, total, last)
			}
			last = done
		}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// hasFinding asserts a finding of kind at position pos (-1: any, or none).
func hasFinding(t *testing.T, r *ledger.AuditReport, kind string, pos int) {
	t.Helper()
	if r.OK {
		t.Fatal("audit passes a tampered log")
	}
	for _, f := range r.Findings {
		if f.Kind == kind && (pos < 0 || f.Position != nil && int(*f.Position) == pos) {
			return
		}
	}
	var s []string
	for _, f := range r.Findings {
		s = append(s, f.String())
	}
	t.Fatalf("no %s finding at %d; findings:\n%s", kind, pos, strings.Join(s, "\n"))
}

func TestAudit_CleanLog(t *testing.T) {
	m, k, cps := auditFixture(t)
	r := runAudit(t, m, k, cps)
	if !r.OK || r.Events != 40 || r.CheckpointsVerified != 3 || r.Root != m.tree.Root() {
		t.Fatalf("clean log: %+v", r)
	}
}

func TestAudit_Tampering(t *testing.T) {
	for name, tc := range map[string]struct {
		tamper func(m *memLog, k keyPair, cps []ledger.SignedCheckpoint) []ledger.SignedCheckpoint
		kind   string
		pos    int
	}{
		"payload byte": {func(m *memLog, _ keyPair, c []ledger.SignedCheckpoint) []ledger.SignedCheckpoint {
			m.events[12].Payload = []byte(`{"n":13}`)
			return c
		}, ledger.FindingPayloadAltered, 12},
		"type": {func(m *memLog, _ keyPair, c []ledger.SignedCheckpoint) []ledger.SignedCheckpoint {
			m.events[3].Type = "Destroyed"
			return c
		}, ledger.FindingAltered, 3},
		"type with hash recomputed": {func(m *memLog, _ keyPair, c []ledger.SignedCheckpoint) []ledger.SignedCheckpoint {
			m.events[3].Type = "Destroyed"
			m.events[3].Hash, _ = m.events[3].Envelope.Hash()
			return c
		}, ledger.FindingChainBroken, 7},
		"removed": {func(m *memLog, _ keyPair, c []ledger.SignedCheckpoint) []ledger.SignedCheckpoint {
			m.events = append(m.events[:20:20], m.events[21:]...)
			return c
		}, ledger.FindingRemoved, 20},
		"swapped": {func(m *memLog, _ keyPair, c []ledger.SignedCheckpoint) []ledger.SignedCheckpoint {
			a, b := m.events[5], m.events[9]
			a.Position, b.Position = 9, 5
			m.events[5], m.events[9] = b, a
			return c
		}, ledger.FindingLeafMismatch, 5},
		"truncated": {func(m *memLog, _ keyPair, c []ledger.SignedCheckpoint) []ledger.SignedCheckpoint {
			m.events = m.events[:30]
			return c
		}, ledger.FindingTruncated, -1},
		"checkpoint replaced": {func(m *memLog, _ keyPair, c []ledger.SignedCheckpoint) []ledger.SignedCheckpoint {
			other := newKey(t, testOrigin, ledger.LogKey)
			c[1].Note = signedAt(t, m, other)
			return c
		}, ledger.FindingCheckpointInvalid, -1},
		"inserted at the end": {func(m *memLog, _ keyPair, c []ledger.SignedCheckpoint) []ledger.SignedCheckpoint {
			e := m.events[39]
			e.Position = 40
			m.events = append(m.events, e)
			return c
		}, ledger.FindingInserted, 40},
	} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			m, k, cps := auditFixture(t)
			cps = tc.tamper(m, k, cps)
			hasFinding(t, runAudit(t, m, k, cps), tc.kind, tc.pos)
		})
	}
}

func TestAudit_RewrittenHistoryCaughtByCheckpoint(t *testing.T) {
	// Someone rebuilds the whole log from position 15 with one event
	// changed: hashes, chains, leaves and nodes are all consistent, only
	// the signed checkpoints betray it.
	m, k, cps := auditFixture(t)
	re := newMemLog()
	for i, e := range m.events {
		if i == 15 {
			e.Payload = []byte(`{"n":999}`)
			e.PayloadDigest = ledger.PayloadDigest(e.Payload)
		}
		var err error
		if e.Hash, err = ledger.Link(&e.Envelope, re.heads[e.Stream]); err != nil {
			t.Fatal(err)
		}
		re.heads[e.Stream] = e.Hash
		nodes, err := re.tree.Append(ledger.LeafHash(e.Hash))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			re.nodes[n.ID] = n.Hash
		}
		re.events = append(re.events, e)
	}
	r := runAudit(t, re, k, cps)
	hasFinding(t, r, ledger.FindingRootMismatch, -1)
	var got []string
	for _, f := range r.Findings {
		if f.Kind == ledger.FindingRootMismatch {
			got = append(got, fmt.Sprintf("%d %s", f.Checkpoint, f.Detail[strings.LastIndex(f.Detail, "["):]))
		}
	}
	want := []string{"2 [10, 25) differs from what was signed", "3 [10, 40) differs from what was signed"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("root mismatches %q, want %q", got, want)
	}
}
