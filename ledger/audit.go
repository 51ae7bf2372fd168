package ledger

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"sort"

	"golang.org/x/mod/sumdb/note"
)

// AuditSource reads a store's events by global position.
type AuditSource interface {
	// EventsInRange appends to dst the stored events whose positions are in
	// [from, to), in position order, and returns it.
	EventsInRange(ctx context.Context, from, to uint64, dst []StoredEvent) ([]StoredEvent, error)
	// EndPosition returns one past the highest stored position (0: empty).
	EndPosition(ctx context.Context) (uint64, error)
}

// LeafReader is an optional extension of NodeReader: the persisted leaf
// hashes (level-0 nodes) of positions [from, to), in one read. Audit uses
// it when the node reader has it, and Nodes otherwise.
type LeafReader interface {
	LeafHashes(ctx context.Context, from, to uint64) ([]Hash, error)
}

// Finding kinds.
const (
	FindingAltered           = "altered"            // the envelope does not hash to the stored hash
	FindingPayloadAltered    = "payload_altered"    // the payload does not hash to the envelope's digest
	FindingRemoved           = "removed"            // a position has no event
	FindingInserted          = "inserted"           // an event has no leaf, or sits where another was signed
	FindingReordered         = "reordered"          // a stream's revisions are out of order or repeated
	FindingChainBroken       = "chain_broken"       // prev_hash is not the stream's previous hash
	FindingLeafMismatch      = "leaf_mismatch"      // the event is not the leaf stored at its position
	FindingCheckpointInvalid = "checkpoint_invalid" // a stored checkpoint does not verify with the log key
	FindingRootMismatch      = "root_mismatch"      // the recomputed root differs from a signed checkpoint
	FindingNodeMismatch      = "node_mismatch"      // the stored tree nodes differ from a signed checkpoint
	FindingTruncated         = "truncated"          // the log is shorter than a signed checkpoint
)

// Finding is one problem audit found, as precisely placed as the evidence
// allows.
type Finding struct {
	Kind     string  `json:"kind"`
	Position *uint64 `json:"position,omitempty"`
	Stream   string  `json:"stream,omitempty"`
	Revision *uint64 `json:"revision,omitempty"`
	// Checkpoint is the sequence number of the checkpoint concerned.
	Checkpoint uint64 `json:"checkpoint,omitempty"`
	Detail     string `json:"detail"`
}

func (f Finding) String() string {
	s := f.Kind
	if f.Position != nil {
		s += fmt.Sprintf(" at position %d", *f.Position)
	}
	if f.Stream != "" && f.Revision != nil {
		s += fmt.Sprintf(" (%s@%d)", f.Stream, *f.Revision)
	}
	if f.Checkpoint != 0 {
		s += fmt.Sprintf(" [checkpoint %d]", f.Checkpoint)
	}
	return s + ": " + f.Detail
}

// AuditReport is the outcome of an audit.
type AuditReport struct {
	OK                  bool      `json:"ok"`
	Events              uint64    `json:"events"`
	TreeSize            uint64    `json:"tree_size"`
	Root                Hash      `json:"root"`
	Checkpoints         int       `json:"checkpoints"`
	CheckpointsVerified int       `json:"checkpoints_verified"`
	Findings            []Finding `json:"findings"`
	// Suppressed counts findings beyond MaxFindings.
	Suppressed int `json:"suppressed,omitempty"`
}

// AuditOptions tune an audit.
type AuditOptions struct {
	// LogKey verifies the stored checkpoints. Required.
	LogKey note.Verifier
	// PageSize is the number of positions read at once (default 4096).
	PageSize int
	// Workers read and hash pages in parallel (default GOMAXPROCS).
	Workers int
	// MaxFindings bounds the findings kept (default 1000).
	MaxFindings int
	// Progress, if set, is called after each page with the positions done
	// and the total.
	Progress func(done, total uint64)
}

// Audit recomputes, over the whole store, every event hash, payload digest,
// chain link and Merkle leaf, and the Merkle root at every signed
// checkpoint, and names each event that was altered, removed, inserted or
// reordered. An error means the audit could not run; problems in the data
// are findings in the report.
func Audit(ctx context.Context, src AuditSource, nodes NodeReader, checkpoints []SignedCheckpoint, opts AuditOptions) (*AuditReport, error) {
	if opts.LogKey == nil {
		return nil, errors.New("ledger: audit: a log verifier key is required")
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 4096
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.MaxFindings <= 0 {
		opts.MaxFindings = 1000
	}
	a := &auditor{opts: opts, rep: &AuditReport{Checkpoints: len(checkpoints)}, streams: map[string]streamHead{}}
	targets := a.verifyCheckpoints(checkpoints)

	size, err := nodes.TreeSize(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger: audit: %w", err)
	}
	end, err := src.EndPosition(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger: audit: %w", err)
	}
	a.rep.TreeSize = size
	total := max(size, end)
	a.end = end
	signed := uint64(0)
	if len(targets) > 0 {
		signed = targets[len(targets)-1].Body.Size
	}
	if want := max(size, signed); end < want {
		f := Finding{Kind: FindingTruncated, Detail: fmt.Sprintf("the store's events end at position %d, but the Merkle tree has %d leaves and the last checkpoint signed %d: the log was truncated", end, size, signed)}
		if signed > end {
			f.Checkpoint = targets[len(targets)-1].Seq
		}
		a.add(f)
	}
	leaves, _ := nodes.(LeafReader)
	err = a.stream(ctx, src, nodes, leaves, total, size, targets)
	if err != nil {
		return nil, err
	}
	for _, c := range targets {
		if c.Body.Size > size {
			continue
		}
		stored, err := RootAt(ctx, nodes, c.Body.Size)
		if err != nil {
			a.add(Finding{Kind: FindingNodeMismatch, Checkpoint: c.Seq, Detail: fmt.Sprintf("cannot read the stored tree at size %d: %v", c.Body.Size, err)})
			continue
		}
		if stored != c.Body.Root {
			a.add(Finding{Kind: FindingNodeMismatch, Checkpoint: c.Seq,
				Detail: fmt.Sprintf("the stored tree nodes give root %s at size %d, checkpoint %d signed %s", stored, c.Body.Size, c.Seq, c.Body.Root)})
		}
	}
	a.rep.OK = len(a.rep.Findings) == 0 && a.rep.Suppressed == 0
	return a.rep, nil
}

type streamHead struct {
	revision uint64
	hash     Hash
}

type auditor struct {
	opts    AuditOptions
	rep     *AuditReport
	streams map[string]streamHead
	border  border
	// lastGood is the size of the last checkpoint whose root matched.
	lastGood uint64
	// end is one past the highest stored position.
	end uint64
}

func (a *auditor) add(f Finding) {
	if len(a.rep.Findings) >= a.opts.MaxFindings {
		a.rep.Suppressed++
		return
	}
	a.rep.Findings = append(a.rep.Findings, f)
}

func (a *auditor) addAt(kind string, e *StoredEvent, format string, args ...any) {
	pos, rev := e.Position, e.Revision
	a.add(Finding{Kind: kind, Position: &pos, Stream: e.Stream, Revision: &rev, Detail: fmt.Sprintf(format, args...)})
}

// verifyCheckpoints keeps the checkpoints whose note verifies, in size
// order, reporting the others.
func (a *auditor) verifyCheckpoints(cps []SignedCheckpoint) []SignedCheckpoint {
	var ok []SignedCheckpoint
	for _, c := range cps {
		body, err := OpenCheckpoint(c.Note, a.opts.LogKey)
		if err != nil {
			a.add(Finding{Kind: FindingCheckpointInvalid, Checkpoint: c.Seq, Detail: fmt.Sprintf("checkpoint %d does not verify with the log key (replaced or altered): %v", c.Seq, err)})
			continue
		}
		if len(ok) > 0 && body.Size < ok[len(ok)-1].Body.Size {
			a.add(Finding{Kind: FindingCheckpointInvalid, Checkpoint: c.Seq, Detail: fmt.Sprintf("checkpoint %d has size %d, below an earlier checkpoint's %d", c.Seq, body.Size, ok[len(ok)-1].Body.Size)})
		}
		c.Body = body
		ok = append(ok, c)
	}
	a.rep.CheckpointsVerified = len(ok)
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].Body.Size < ok[j].Body.Size })
	return ok
}

// page is one range of positions, read and hashed by a worker.
type page struct {
	from, to uint64
	events   []StoredEvent
	hashes   []Hash // recomputed event hashes
	leaves   []Hash // their RFC 6962 leaf hashes
	encodeOK []bool
	payload  []bool // payload digest matches
	stored   []Hash // stored leaves of [from, to), nil if unavailable
	err      error
	done     chan struct{}
}

// stream reads [0, total) in pages, workers reading and hashing ahead, and
// checks them in order.
func (a *auditor) stream(ctx context.Context, src AuditSource, nodes NodeReader, leaves LeafReader, total, size uint64, targets []SignedCheckpoint) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ps := uint64(a.opts.PageSize)
	npages := (total + ps - 1) / ps
	pages := make(chan *page, a.opts.Workers*2)
	work := make(chan *page, a.opts.Workers*2)
	go func() {
		defer close(pages)
		defer close(work)
		for i := uint64(0); i < npages; i++ {
			p := &page{from: i * ps, to: min((i+1)*ps, total), done: make(chan struct{})}
			select {
			case work <- p:
			case <-ctx.Done():
				return
			}
			select {
			case pages <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range a.opts.Workers {
		go func() {
			for p := range work {
				p.load(ctx, src, nodes, leaves, size)
				close(p.done)
			}
		}()
	}
	next := 0
	for p := range pages {
		select {
		case <-p.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if p.err != nil {
			return fmt.Errorf("ledger: audit: positions [%d, %d): %w", p.from, p.to, p.err)
		}
		next = a.check(p, targets, next)
		if a.opts.Progress != nil {
			a.opts.Progress(p.to, total)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Checkpoints beyond what was read (truncation) were reported already.
	a.rep.Root = a.border.root()
	return nil
}

func (p *page) load(ctx context.Context, src AuditSource, nodes NodeReader, leaves LeafReader, size uint64) {
	p.events, p.err = src.EventsInRange(ctx, p.from, p.to, make([]StoredEvent, 0, p.to-p.from))
	if p.err != nil {
		return
	}
	n := len(p.events)
	p.hashes, p.leaves, p.encodeOK, p.payload = make([]Hash, n), make([]Hash, n), make([]bool, n), make([]bool, n)
	var (
		buf []byte
		lb  [1 + sha256.Size]byte // 0x00 || event hash
	)
	for i := range p.events {
		e := &p.events[i]
		var err error
		buf, err = e.AppendCanonical(buf[:0])
		if err == nil {
			p.hashes[i] = sha256.Sum256(buf)
			p.encodeOK[i] = true
		}
		copy(lb[1:], p.hashes[i][:])
		p.leaves[i] = sha256.Sum256(lb[:])
		p.payload[i] = sha256.Sum256(e.Payload) == e.PayloadDigest
	}
	if to := min(p.to, size); p.from < to {
		if leaves != nil {
			p.stored, p.err = leaves.LeafHashes(ctx, p.from, to)
		} else {
			ids := make([]NodeID, 0, to-p.from)
			for i := p.from; i < to; i++ {
				ids = append(ids, NodeID{Level: 0, Index: i})
			}
			p.stored, p.err = nodes.Nodes(ctx, ids)
		}
	}
}

// check runs the sequential checks over one page; next is the index of the
// next checkpoint target to reach.
func (a *auditor) check(p *page, targets []SignedCheckpoint, next int) int {
	pos := p.from
	for i := range p.events {
		e := &p.events[i]
		for pos < e.Position && pos < p.to {
			a.missing(pos, p)
			next = a.reach(targets, next)
			pos++
		}
		if e.Position != pos {
			a.addAt(FindingReordered, e, "read out of position order (expected position %d)", pos)
			continue
		}
		a.event(e, p, i)
		next = a.reach(targets, next)
		pos++
	}
	for ; pos < p.to; pos++ {
		a.missing(pos, p)
		next = a.reach(targets, next)
	}
	a.rep.Events += uint64(len(p.events))
	return next
}

// missing handles a position with no event: the event was removed. The
// stored leaf keeps the recomputed tree aligned so that later checkpoints
// still check the rest of the log.
func (a *auditor) missing(pos uint64, p *page) {
	if pos < a.end { // past the end, the truncation finding says it
		q := pos
		a.add(Finding{Kind: FindingRemoved, Position: &q, Detail: fmt.Sprintf("no event at position %d: it was removed", pos)})
	}
	if i := pos - p.from; p.stored != nil && i < uint64(len(p.stored)) {
		a.border.push(p.stored[i])
	} else {
		a.border.push(Hash{}) // unknowable: the roots from here on will differ
	}
}

func (a *auditor) event(e *StoredEvent, p *page, i int) {
	h := p.hashes[i]
	switch {
	case !p.encodeOK[i]:
		a.addAt(FindingAltered, e, "the envelope cannot be encoded")
	case h != e.Hash:
		a.addAt(FindingAltered, e, "the envelope (type, times, actor, ids or digests) hashes to %s, the store says %s: the event was altered", h, e.Hash)
	}
	if !p.payload[i] {
		a.addAt(FindingPayloadAltered, e, "the payload hashes to %s, the envelope says %s: the payload was altered", PayloadDigest(e.Payload), e.PayloadDigest)
	}
	head, seen := a.streams[e.Stream]
	switch {
	case !seen && e.Revision != 0:
		a.addAt(FindingRemoved, e, "the stream's first event in the log has revision %d: revisions 0..%d are missing", e.Revision, e.Revision-1)
	case seen && e.Revision <= head.revision:
		a.addAt(FindingReordered, e, "revision %d comes after revision %d in the log", e.Revision, head.revision)
	case seen && e.Revision > head.revision+1:
		a.addAt(FindingRemoved, e, "revision %d follows revision %d: revisions in between are missing", e.Revision, head.revision)
	}
	switch {
	case seen && e.Revision == head.revision+1 && e.PrevHash != head.hash:
		a.addAt(FindingChainBroken, e, "prev_hash %s, but revision %d is stored with hash %s", e.PrevHash, head.revision, head.hash)
	case !seen && e.Revision == 0 && !e.PrevHash.IsZero():
		a.addAt(FindingChainBroken, e, "revision 0 has a non-zero prev_hash %s", e.PrevHash)
	}
	a.streams[e.Stream] = streamHead{revision: e.Revision, hash: e.Hash}
	leaf := p.leaves[i]
	if j := e.Position - p.from; p.stored != nil && j < uint64(len(p.stored)) {
		if p.stored[j] != leaf {
			a.addAt(FindingLeafMismatch, e, "the event's leaf is %s, the tree stores %s at this position: the event was altered, moved or inserted", leaf, p.stored[j])
		}
	} else if e.Position >= a.rep.TreeSize {
		a.addAt(FindingInserted, e, "the event is beyond the Merkle tree (size %d): it was inserted outside the ledger", a.rep.TreeSize)
	}
	a.border.push(leaf)
}

// reach compares the recomputed root with every checkpoint whose size the
// recomputed tree has just reached.
func (a *auditor) reach(targets []SignedCheckpoint, next int) int {
	for next < len(targets) && targets[next].Body.Size <= a.border.size {
		c := targets[next]
		if c.Body.Size == a.border.size {
			if r := a.border.root(); r != c.Body.Root {
				a.add(Finding{Kind: FindingRootMismatch, Checkpoint: c.Seq,
					Detail: fmt.Sprintf("the events give root %s at size %d, checkpoint %d signed %s: an event in positions [%d, %d) differs from what was signed",
						r, c.Body.Size, c.Seq, c.Body.Root, a.lastGood, c.Body.Size)})
			} else {
				a.lastGood = c.Body.Size
			}
		}
		next++
	}
	return next
}

// border is the right border of an RFC 6962 tree, hashing in place.
type border struct {
	size  uint64
	n     int
	stack [64]Hash
}

func (b *border) push(leaf Hash) {
	h := leaf
	for s := b.size; s&1 == 1; s >>= 1 {
		b.n--
		h = hashChildren(&b.stack[b.n], &h)
	}
	b.stack[b.n] = h
	b.n++
	b.size++
}

func (b *border) root() Hash {
	if b.n == 0 {
		return sha256.Sum256(nil)
	}
	h := b.stack[b.n-1]
	for i := b.n - 2; i >= 0; i-- {
		h = hashChildren(&b.stack[i], &h)
	}
	return h
}

func hashChildren(l, r *Hash) Hash {
	var buf [1 + 2*sha256.Size]byte
	buf[0] = 1
	copy(buf[1:], l[:])
	copy(buf[1+sha256.Size:], r[:])
	return sha256.Sum256(buf[:])
}
