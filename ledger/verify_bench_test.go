package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/scelle-ledger/scelle/ledger"
)

// BenchmarkVerify_1000EventExhibit decodes and verifies the bundle of an
// exhibit with 1,000 events spread over a log of 100,000 (every 100th
// event), cosigned by one witness: what `scelle verify` does after reading
// the file.
func BenchmarkVerify_1000EventExhibit(b *testing.B) {
	m := newMemLog()
	var exhibit []ledger.StoredEvent
	for i := range 100_000 {
		if i%100 == 0 {
			exhibit = append(exhibit, m.append(b, "exhibit-E1", "CustodyNoted", fmt.Sprintf(`{"n":%d,"seal":"S-%06d"}`, i, i)))
			continue
		}
		m.append(b, fmt.Sprintf("noise-%d", i%97), "Noted", `{}`)
	}
	k := newKey(b, testOrigin, ledger.LogKey)
	w := newKey(b, "witness.example/DGDDI", ledger.WitnessKey)
	msg := signedAt(b, m, k)
	text, _, _ := ledger.SplitNote(msg)
	cosig, err := note.Sign(&note.Note{Text: string(text)}, w.signer)
	if err != nil {
		b.Fatal(err)
	}
	if msg, err = ledger.AddSignatureLines(msg, cosig[len(text)+1:]); err != nil {
		b.Fatal(err)
	}
	bundle, err := ledger.BuildBundle(context.Background(), exhibit, m, msg, ledger.BuildOptions{Now: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := bundle.Encode(&buf); err != nil {
		b.Fatal(err)
	}
	hashes := 0
	for _, e := range bundle.Events {
		hashes += len(e.Inclusion)
	}
	b.ReportMetric(float64(buf.Len()), "bundle-bytes")
	b.ReportMetric(float64(hashes)/float64(len(bundle.Events)), "proof-hashes/event")
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		d, err := ledger.DecodeBundle(buf.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		if r := ledger.Verify(d, []note.Verifier{k.verifier}, []note.Verifier{w.verifier}, ledger.Policy{MinWitnesses: 1}); !r.OK {
			b.Fatal("bundle does not verify")
		}
	}
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkAudit_InMemory audits a log of 100,000 events held in memory:
// the library's own cost per event, without the store's reads.
func BenchmarkAudit_InMemory(b *testing.B) {
	m := newMemLog()
	for i := range 100_000 {
		m.append(b, fmt.Sprintf("exhibit-%d", i%1000), "CustodyNoted", fmt.Sprintf(`{"n":%d}`, i))
	}
	k := newKey(b, testOrigin, ledger.LogKey)
	cps := []ledger.SignedCheckpoint{{Seq: 1, Note: signedAt(b, m, k)}}
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		r, err := ledger.Audit(context.Background(), m, m, cps, ledger.AuditOptions{LogKey: k.verifier, PageSize: 8192})
		if err != nil || !r.OK {
			b.Fatalf("audit: %v %+v", err, r)
		}
	}
	b.ReportMetric(float64(100_000*b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(100_000*b.N)/(processCPU()-cpu0).Seconds(), "events/cpu-s")
}

// processCPU is the process's user+system CPU time: on a shared machine it
// says what the work costs when wall-clock time says how busy the box was.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
