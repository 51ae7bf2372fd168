package ledger

import "fmt"

// Link sets e.PrevHash to prev (the hash of the stream's previous event, zero
// for revision 0) and returns e's hash. Every store calls it, in revision
// order, for each event it appends: this is the one place the per-stream
// hash chain is computed.
func Link(e *Envelope, prev Hash) (Hash, error) {
	if e.Revision == 0 && !prev.IsZero() {
		return Hash{}, fmt.Errorf("ledger: link %s@0: the first event of a stream has no predecessor", e.Stream)
	}
	e.PrevHash = prev
	return e.Hash()
}

// ChainError names the first event at which a stream's hash chain breaks.
type ChainError struct {
	Stream   string
	Revision uint64
	Reason   string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("ledger: chain %s broken at revision %d: %s", e.Stream, e.Revision, e.Reason)
}

// VerifyChain checks that envs are revisions 0..n-1 of one stream, each
// linked to the previous one, and that each hashes to the matching value in
// hashes (the stored hashes). It returns a *ChainError naming the first
// break.
func VerifyChain(envs []Envelope, hashes []Hash) error {
	if len(envs) != len(hashes) {
		return fmt.Errorf("ledger: verify chain: %d envelopes but %d hashes", len(envs), len(hashes))
	}
	var prev Hash
	for i := range envs {
		e := &envs[i]
		if e.Stream != envs[0].Stream {
			return &ChainError{Stream: envs[0].Stream, Revision: uint64(i), Reason: fmt.Sprintf("event belongs to stream %q", e.Stream)}
		}
		if e.Revision != uint64(i) {
			return &ChainError{Stream: e.Stream, Revision: uint64(i), Reason: fmt.Sprintf("found revision %d", e.Revision)}
		}
		if e.PrevHash != prev {
			return &ChainError{Stream: e.Stream, Revision: e.Revision, Reason: fmt.Sprintf("prev_hash %s, want %s", e.PrevHash, prev)}
		}
		h, err := e.Hash()
		if err != nil {
			return &ChainError{Stream: e.Stream, Revision: e.Revision, Reason: err.Error()}
		}
		if h != hashes[i] {
			return &ChainError{Stream: e.Stream, Revision: e.Revision, Reason: fmt.Sprintf("hash %s, stored %s", h, hashes[i])}
		}
		prev = h
	}
	return nil
}
