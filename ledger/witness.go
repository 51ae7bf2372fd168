package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"
)

// Witness errors, each mapped to the HTTP status c2sp.org/tlog-witness
// requires.
var (
	// ErrUnknownLog: the checkpoint's origin is not a log the witness
	// follows (404).
	ErrUnknownLog = errors.New("witness: unknown log origin")
	// ErrNotSigned: no signature by a trusted key of the log verifies (403).
	ErrNotSigned = errors.New("witness: checkpoint not signed by the log's key")
	// ErrBadRequest: the request is malformed, or old size > size (400).
	ErrBadRequest = errors.New("witness: bad request")
)

// SizeConflictError says the witness's latest cosigned size for the log is
// not the request's old size, or that the same size came with another root
// (409).
type SizeConflictError struct {
	Size   uint64
	Reason string
}

func (e *SizeConflictError) Error() string {
	return fmt.Sprintf("witness: conflict: latest cosigned size is %d: %s", e.Size, e.Reason)
}

// WitnessState persists the latest checkpoint a witness cosigned per log.
type WitnessState interface {
	Load(ctx context.Context, origin string) (Checkpoint, bool, error)
	Store(ctx context.Context, origin string, c Checkpoint, note []byte) error
}

// Witness is a c2sp.org/tlog-witness cosigner: it keeps the latest
// checkpoint it cosigned for each log and cosigns a new one only if a
// consistency proof shows it extends that one.
type Witness struct {
	signer note.Signer
	logs   map[string]note.Verifier
	state  WitnessState

	mu sync.Mutex // serialises check-and-update, as the protocol requires
}

// NewWitness returns a witness cosigning with signer (a cosignature/v1
// key) for the logs whose verifier keys are given (origin = key name).
func NewWitness(signer note.Signer, state WitnessState, logs ...note.Verifier) (*Witness, error) {
	if _, ok := signer.(*CosignatureSigner); !ok {
		return nil, errors.New("witness: the witness key must be a cosignature/v1 key (scelle keys generate --witness)")
	}
	m := make(map[string]note.Verifier, len(logs))
	for _, v := range logs {
		if _, dup := m[v.Name()]; dup {
			return nil, fmt.Errorf("witness: two keys for log %q", v.Name())
		}
		m[v.Name()] = v
	}
	return &Witness{signer: signer, logs: m, state: state}, nil
}

// AddCheckpoint implements Cosigner: it verifies checkpoint's signature by
// the log, that oldSize is the size it last cosigned, and the consistency
// proof from it; then it records the checkpoint and returns its
// cosignature line.
func (w *Witness) AddCheckpoint(ctx context.Context, oldSize uint64, p []Hash, msg []byte) ([]byte, error) {
	text, sigs, err := SplitNote(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	c, err := ParseCheckpoint(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	v, ok := w.logs[c.Origin]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownLog, c.Origin)
	}
	if sc := CheckSignature(text, sigs, v); !sc.Valid {
		return nil, fmt.Errorf("%w: origin %q", ErrNotSigned, c.Origin)
	}
	if oldSize > c.Size {
		return nil, fmt.Errorf("%w: old size %d is above the checkpoint size %d", ErrBadRequest, oldSize, c.Size)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	prev, has, err := w.state.Load(ctx, c.Origin)
	if err != nil {
		return nil, err
	}
	if !has {
		prev = Checkpoint{Origin: c.Origin}
	}
	if oldSize != prev.Size {
		return nil, &SizeConflictError{Size: prev.Size, Reason: fmt.Sprintf("request says old size %d", oldSize)}
	}
	switch {
	case oldSize == 0:
		if len(p) != 0 {
			return nil, fmt.Errorf("%w: the proof from size 0 must be empty", ErrInconsistent)
		}
	case oldSize == c.Size:
		if prev.Root != c.Root {
			return nil, &SizeConflictError{Size: prev.Size, Reason: fmt.Sprintf("same size with root %s, cosigned %s (fork)", c.Root, prev.Root)}
		}
	default:
		if err := proof.VerifyConsistency(Hasher, oldSize, c.Size, hashSlices(p), prev.Root[:], c.Root[:]); err != nil {
			return nil, fmt.Errorf("%w: from size %d to %d: %w", ErrInconsistent, oldSize, c.Size, err)
		}
	}
	line, err := note.Sign(&note.Note{Text: string(text)}, w.signer)
	if err != nil {
		return nil, fmt.Errorf("witness: cosign: %w", err)
	}
	if err := w.state.Store(ctx, c.Origin, c, msg); err != nil {
		return nil, err
	}
	// note.Sign returns text + "\n" + signature lines; keep the lines.
	return line[len(text)+1:], nil
}

// ParseAddCheckpoint parses an add-checkpoint request body: "old N\n",
// up to 63 base64 proof lines, an empty line, then the signed checkpoint.
func ParseAddCheckpoint(body []byte) (oldSize uint64, p []Hash, checkpoint []byte, err error) {
	head, cp, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return 0, nil, nil, fmt.Errorf("%w: no empty line before the checkpoint", ErrBadRequest)
	}
	lines := strings.Split(string(head), "\n")
	sz, ok := strings.CutPrefix(lines[0], "old ")
	if !ok {
		return 0, nil, nil, fmt.Errorf("%w: first line must be \"old <size>\"", ErrBadRequest)
	}
	oldSize, err = strconv.ParseUint(sz, 10, 64)
	if err != nil || (len(sz) > 1 && sz[0] == '0') {
		return 0, nil, nil, fmt.Errorf("%w: old size %q is not a decimal without leading zeros", ErrBadRequest, sz)
	}
	if len(lines)-1 > 63 {
		return 0, nil, nil, fmt.Errorf("%w: %d proof lines, at most 63", ErrBadRequest, len(lines)-1)
	}
	for i, l := range lines[1:] {
		b, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(b) != len(Hash{}) {
			return 0, nil, nil, fmt.Errorf("%w: proof line %d is not a base64 SHA-256 hash", ErrBadRequest, i+1)
		}
		var h Hash
		copy(h[:], b)
		p = append(p, h)
	}
	return oldSize, p, cp, nil
}

// FormatAddCheckpoint renders an add-checkpoint request body.
func FormatAddCheckpoint(oldSize uint64, p []Hash, checkpoint []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", oldSize)
	for _, h := range p {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(checkpoint)
	return b.Bytes()
}

// WitnessFile is a WitnessState in one JSON file, rewritten atomically
// (temporary file, fsync, rename) on every update.
type WitnessFile struct {
	path string
	mu   sync.Mutex
}

type witnessRecord struct {
	Size uint64 `json:"size"`
	Root Hash   `json:"root"`
	Note string `json:"note"`
}

// NewWitnessFile returns the state kept at path (created on first Store).
func NewWitnessFile(path string) *WitnessFile { return &WitnessFile{path: path} }

func (f *WitnessFile) read() (map[string]witnessRecord, error) {
	m := map[string]witnessRecord{}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("witness: read state: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("witness: read state %s: %w", f.path, err)
	}
	return m, nil
}

// Load returns the latest checkpoint cosigned for origin.
func (f *WitnessFile) Load(_ context.Context, origin string) (Checkpoint, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.read()
	if err != nil {
		return Checkpoint{}, false, err
	}
	r, ok := m[origin]
	return Checkpoint{Origin: origin, Size: r.Size, Root: r.Root}, ok, nil
}

// Store records c as the latest cosigned checkpoint of origin.
func (f *WitnessFile) Store(_ context.Context, origin string, c Checkpoint, msg []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.read()
	if err != nil {
		return err
	}
	m[origin] = witnessRecord{Size: c.Size, Root: c.Root, Note: string(msg)}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("witness: write state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".witness-state-*")
	if err != nil {
		return fmt.Errorf("witness: write state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("witness: write state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("witness: write state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("witness: write state: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("witness: write state: %w", err)
	}
	return nil
}
