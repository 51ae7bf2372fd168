package replica

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/scelle-ledger/scelle/eventstore"
)

// BenchmarkAppend compares appends of one event through the replica (a
// SQLite primary, the notary, the replica) with appends to a SQLite store
// alone, from 16 concurrent callers on their own streams.
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []string{"sqlite", "replica"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			var st eventstore.Store
			if mode == "sqlite" {
				s, err := sqliteOpen(b, filepath.Join(dir, "events.db"))
				if err != nil {
					b.Fatal(err)
				}
				st = s
			} else {
				p, err := sqliteOpen(b, filepath.Join(dir, "primary.db"))
				if err != nil {
					b.Fatal(err)
				}
				l, err := sqliteOpen(b, filepath.Join(dir, "replica.db"))
				if err != nil {
					b.Fatal(err)
				}
				if st, err = Open(b.Context(), p, l, Options{}); err != nil {
					b.Fatal(err)
				}
			}
			defer st.Close()
			var n atomic.Int64
			b.SetParallelism(8) // 16 callers on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				stream := fmt.Sprintf("exhibit-%d", n.Add(1))
				i := 0
				for pb.Next() {
					if _, err := st.Append(b.Context(), stream, eventstore.Any, newEvent(i)); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}
