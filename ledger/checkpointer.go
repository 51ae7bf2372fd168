package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"
)

// ErrInconsistent is returned (wrapped) when a tree is not an append-only
// extension of an earlier checkpoint: the log refuses to sign it, and a
// witness refuses to cosign it.
var ErrInconsistent = errors.New("ledger: inconsistent with the previous checkpoint")

// Cosigner is a witness as the log sees it (c2sp.org/tlog-witness
// add-checkpoint): given the size of the last checkpoint the witness
// cosigned, a consistency proof from it, and the new signed checkpoint, it
// returns its cosignature lines. A witness that has a different old size
// returns a *SizeConflictError carrying the size it has.
type Cosigner interface {
	AddCheckpoint(ctx context.Context, oldSize uint64, proof []Hash, checkpoint []byte) ([]byte, error)
}

// CheckpointerConfig configures a Checkpointer.
type CheckpointerConfig struct {
	// Signer is the log key; its name is the checkpoint origin.
	Signer note.Signer
	// Verifier is the log's public key; the checkpointer checks each note
	// it signs and the previous checkpoint with it.
	Verifier note.Verifier
	// Every issues a checkpoint once this many events were appended since
	// the last one (0: never by count).
	Every uint64
	// Interval issues a checkpoint when this much time has passed since the
	// last one and the log has grown (0: never by time).
	Interval time.Duration
	// Witnesses are asked to cosign each new checkpoint; a witness that
	// fails is logged and skipped.
	Witnesses []Cosigner
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Checkpointer issues signed checkpoints of the global log, each checked
// for consistency with the previous one before it is signed.
type Checkpointer struct {
	nodes NodeReader
	store CheckpointStore
	cfg   CheckpointerConfig

	mu   sync.Mutex
	last SignedCheckpoint
	has  bool
}

// NewCheckpointer loads the latest checkpoint from store and verifies it
// with the log key.
func NewCheckpointer(ctx context.Context, nodes NodeReader, store CheckpointStore, cfg CheckpointerConfig) (*Checkpointer, error) {
	if cfg.Signer == nil || cfg.Verifier == nil {
		return nil, errors.New("ledger: new checkpointer: a signer and a verifier key are required")
	}
	if cfg.Signer.Name() != cfg.Verifier.Name() || cfg.Signer.KeyHash() != cfg.Verifier.KeyHash() {
		return nil, fmt.Errorf("ledger: new checkpointer: signer %s+%08x and verifier %s+%08x are not one key",
			cfg.Signer.Name(), cfg.Signer.KeyHash(), cfg.Verifier.Name(), cfg.Verifier.KeyHash())
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Checkpointer{nodes: nodes, store: store, cfg: cfg}
	last, ok, err := store.Latest(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger: new checkpointer: %w", err)
	}
	if ok {
		body, err := OpenCheckpoint(last.Note, cfg.Verifier)
		if err != nil {
			return nil, fmt.Errorf("ledger: new checkpointer: latest checkpoint %d: %w", last.Seq, err)
		}
		last.Body = body
		c.last, c.has = last, true
	}
	return c, nil
}

// Latest returns the last checkpoint issued, and false if none was.
func (c *Checkpointer) Latest() (SignedCheckpoint, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last, c.has
}

// Appended is called by the server after an append: it issues a checkpoint
// if at least Every events were appended since the last one.
func (c *Checkpointer) Appended(ctx context.Context) (SignedCheckpoint, bool, error) {
	if c.cfg.Every == 0 {
		return SignedCheckpoint{}, false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	size, err := c.nodes.TreeSize(ctx)
	if err != nil {
		return SignedCheckpoint{}, false, fmt.Errorf("ledger: checkpoint: %w", err)
	}
	if size < c.lastSize()+c.cfg.Every {
		return SignedCheckpoint{}, false, nil
	}
	cp, err := c.issue(ctx, size)
	return cp, err == nil, err
}

// Tick issues a checkpoint if Interval has passed since the last one (as of
// now) and the log has grown. Run calls it from a ticker; tests call it
// with chosen times.
func (c *Checkpointer) Tick(ctx context.Context, now time.Time) (SignedCheckpoint, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg.Interval <= 0 || (c.has && now.Sub(c.last.Issued) < c.cfg.Interval) {
		return SignedCheckpoint{}, false, nil
	}
	size, err := c.nodes.TreeSize(ctx)
	if err != nil {
		return SignedCheckpoint{}, false, fmt.Errorf("ledger: checkpoint: %w", err)
	}
	if c.has && size == c.last.Body.Size {
		return SignedCheckpoint{}, false, nil
	}
	cp, err := c.issue(ctx, size)
	return cp, err == nil, err
}

// Checkpoint issues a checkpoint of the current tree now, unless the last
// one already covers it, in which case it returns that one.
func (c *Checkpointer) Checkpoint(ctx context.Context) (SignedCheckpoint, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	size, err := c.nodes.TreeSize(ctx)
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("ledger: checkpoint: %w", err)
	}
	if c.has && size == c.last.Body.Size {
		return c.last, nil
	}
	return c.issue(ctx, size)
}

// Run issues checkpoints by time until ctx is done. Errors are logged; the
// next tick tries again.
func (c *Checkpointer) Run(ctx context.Context) error {
	if c.cfg.Interval <= 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	t := time.NewTicker(c.cfg.Interval / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if _, _, err := c.Tick(ctx, c.cfg.Now()); err != nil {
				c.cfg.Logger.ErrorContext(ctx, "checkpoint failed", slog.Any("error", err))
			}
		}
	}
}

func (c *Checkpointer) lastSize() uint64 {
	if !c.has {
		return 0
	}
	return c.last.Body.Size
}

// issue signs the tree of the given size. Caller holds c.mu.
func (c *Checkpointer) issue(ctx context.Context, size uint64) (SignedCheckpoint, error) {
	root, err := RootAt(ctx, c.nodes, size)
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("ledger: checkpoint %d: %w", size, err)
	}
	if c.has {
		if err := checkConsistent(ctx, c.nodes, c.last.Body, size, root); err != nil {
			return SignedCheckpoint{}, fmt.Errorf("ledger: refuse to sign checkpoint %d: %w", size, err)
		}
	}
	body := Checkpoint{Origin: c.cfg.Signer.Name(), Size: size, Root: root}
	msg, err := SignCheckpoint(body, c.cfg.Signer)
	if err != nil {
		return SignedCheckpoint{}, err
	}
	if _, err := OpenCheckpoint(msg, c.cfg.Verifier); err != nil {
		return SignedCheckpoint{}, fmt.Errorf("ledger: checkpoint %d: own signature does not verify: %w", size, err)
	}
	msg = c.cosign(ctx, body, msg)
	cp := SignedCheckpoint{Issued: c.cfg.Now().UTC(), Body: body, Note: msg}
	if err := c.store.Add(ctx, &cp); err != nil {
		return SignedCheckpoint{}, err
	}
	c.last, c.has = cp, true
	c.cfg.Logger.InfoContext(ctx, "checkpoint issued", slog.Uint64("size", size), slog.String("root", root.String()), slog.Uint64("seq", cp.Seq))
	return cp, nil
}

// checkConsistent verifies, with a consistency proof read from nodes, that
// the tree of size with root extends prev.
func checkConsistent(ctx context.Context, nodes NodeReader, prev Checkpoint, size uint64, root Hash) error {
	if size < prev.Size {
		return fmt.Errorf("%w: size %d is below the previous checkpoint's %d", ErrInconsistent, size, prev.Size)
	}
	p, err := ConsistencyProof(ctx, nodes, prev.Size, size)
	if err != nil {
		return err
	}
	if err := proof.VerifyConsistency(Hasher, prev.Size, size, hashSlices(p), prev.Root[:], root[:]); err != nil {
		return fmt.Errorf("%w: from size %d to %d: %w", ErrInconsistent, prev.Size, size, err)
	}
	return nil
}

// witnessTimeout bounds one witness's answer: a slow witness delays a
// checkpoint, never the log.
const witnessTimeout = 10 * time.Second

// cosign asks each witness for its cosignature and adds the lines it
// returns to msg. A witness reporting another old size gets a second try
// with a proof from that size.
func (c *Checkpointer) cosign(ctx context.Context, body Checkpoint, msg []byte) []byte {
	for i, w := range c.cfg.Witnesses {
		wctx, cancel := context.WithTimeout(ctx, witnessTimeout)
		lines, err := c.askWitness(wctx, w, body, msg)
		cancel()
		if err == nil {
			var out []byte
			if out, err = AddSignatureLines(msg, lines); err == nil {
				msg = out
				continue
			}
		}
		c.cfg.Logger.WarnContext(ctx, "witness did not cosign", slog.Int("witness", i), slog.Uint64("size", body.Size), slog.Any("error", err))
	}
	return msg
}

func (c *Checkpointer) askWitness(ctx context.Context, w Cosigner, body Checkpoint, msg []byte) ([]byte, error) {
	old := c.lastSize()
	for try := 0; try < 2; try++ {
		var p []Hash
		if old > 0 {
			var err error
			if p, err = ConsistencyProof(ctx, c.nodes, old, body.Size); err != nil {
				return nil, err
			}
		}
		lines, err := w.AddCheckpoint(ctx, old, p, msg)
		var conflict *SizeConflictError
		if errors.As(err, &conflict) && conflict.Size != old && conflict.Size <= body.Size {
			old = conflict.Size
			continue
		}
		return lines, err
	}
	return nil, fmt.Errorf("ledger: witness keeps reporting another size")
}

func hashSlices(hs []Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}
