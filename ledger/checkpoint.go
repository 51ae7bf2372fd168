package ledger

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is the body of a c2sp.org/tlog-checkpoint: the log's origin,
// its size and its root hash.
//
//	<origin>\n
//	<size, decimal>\n
//	<root hash, base64>\n
//	[extension lines\n]
type Checkpoint struct {
	Origin     string
	Size       uint64
	Root       Hash
	Extensions []string
}

// ErrCheckpoint is returned (wrapped) for text that is not a checkpoint.
var ErrCheckpoint = errors.New("ledger: malformed checkpoint")

// Text returns the note text of c, ending with a newline.
func (c Checkpoint) Text() []byte {
	var b bytes.Buffer
	b.WriteString(c.Origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatUint(c.Size, 10))
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(c.Root[:]))
	b.WriteByte('\n')
	for _, e := range c.Extensions {
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseCheckpoint parses the note text of a checkpoint (without its
// signatures). It is strict: the size has no leading zeros, the root is 32
// bytes of standard base64, no line is empty.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	var c Checkpoint
	if len(text) == 0 || text[len(text)-1] != '\n' {
		return c, fmt.Errorf("%w: text must end with a newline", ErrCheckpoint)
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) < 3 {
		return c, fmt.Errorf("%w: want at least 3 lines, got %d", ErrCheckpoint, len(lines))
	}
	c.Origin = lines[0]
	if c.Origin == "" {
		return c, fmt.Errorf("%w: empty origin line", ErrCheckpoint)
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || (len(lines[1]) > 1 && lines[1][0] == '0') {
		return c, fmt.Errorf("%w: size %q is not a decimal without leading zeros", ErrCheckpoint, lines[1])
	}
	c.Size = size
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != len(c.Root) {
		return c, fmt.Errorf("%w: root hash %q is not 32 bytes of base64", ErrCheckpoint, lines[2])
	}
	copy(c.Root[:], root)
	for _, e := range lines[3:] {
		if e == "" {
			return c, fmt.Errorf("%w: empty extension line", ErrCheckpoint)
		}
		c.Extensions = append(c.Extensions, e)
	}
	return c, nil
}

// SignCheckpoint signs c with the log's signer and returns the note.
func SignCheckpoint(c Checkpoint, s note.Signer) ([]byte, error) {
	msg, err := note.Sign(&note.Note{Text: string(c.Text())}, s)
	if err != nil {
		return nil, fmt.Errorf("ledger: sign checkpoint %d: %w", c.Size, err)
	}
	return msg, nil
}

// SplitNote splits a signed note into its text (ending with a newline) and
// its signature lines (without their newlines).
func SplitNote(msg []byte) (text []byte, sigs []string, err error) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 || len(msg) == 0 || msg[len(msg)-1] != '\n' {
		return nil, nil, fmt.Errorf("%w: not a signed note", ErrCheckpoint)
	}
	text = msg[:i+1]
	rest := string(msg[i+2 : len(msg)-1])
	if rest == "" {
		return nil, nil, fmt.Errorf("%w: note has no signature line", ErrCheckpoint)
	}
	for _, l := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(l, "— ") {
			return nil, nil, fmt.Errorf("%w: signature line %q does not start with '— '", ErrCheckpoint, l)
		}
		sigs = append(sigs, l)
	}
	return text, sigs, nil
}

// SignatureCheck is the outcome of looking for one trusted key's signature
// in a note.
type SignatureCheck struct {
	Key   string // name of the key
	KeyID uint32
	Found bool // a signature line with the key's name and ID is present
	Valid bool // ... and it verifies
	// Sig is the signature (after the key ID) of the first matching line.
	Sig []byte
}

// CheckSignature looks for v's signature among the signature lines of a
// note and verifies it over text.
func CheckSignature(text []byte, sigs []string, v note.Verifier) SignatureCheck {
	c := SignatureCheck{Key: v.Name(), KeyID: v.KeyHash()}
	for _, l := range sigs {
		name, b64, ok := strings.Cut(strings.TrimPrefix(l, "— "), " ")
		if !ok || name != v.Name() {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) < 5 || binary.BigEndian.Uint32(raw) != v.KeyHash() {
			continue
		}
		c.Found = true
		c.Sig = raw[4:]
		if v.Verify(text, raw[4:]) {
			c.Valid = true
			return c
		}
	}
	return c
}

// OpenCheckpoint parses a signed checkpoint and verifies the log's
// signature. The origin MUST equal the log key's name.
func OpenCheckpoint(msg []byte, log note.Verifier) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(log))
	if err != nil {
		var unv *note.UnverifiedNoteError
		if errors.As(err, &unv) {
			return Checkpoint{}, fmt.Errorf("ledger: open checkpoint: no signature by log key %s+%08x", log.Name(), log.KeyHash())
		}
		return Checkpoint{}, fmt.Errorf("ledger: open checkpoint: %w", err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != log.Name() {
		return Checkpoint{}, fmt.Errorf("ledger: open checkpoint: origin %q is not the log key's name %q", c.Origin, log.Name())
	}
	return c, nil
}

// AddSignatureLines appends signature lines (each "— name base64\n", as a
// witness returns them) to a signed note, dropping lines already present.
func AddSignatureLines(msg []byte, lines []byte) ([]byte, error) {
	_, have, err := SplitNote(msg)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(have))
	for _, l := range have {
		seen[l] = true
	}
	out := append([]byte(nil), msg...)
	for _, l := range strings.Split(strings.TrimSuffix(string(lines), "\n"), "\n") {
		if l == "" {
			continue
		}
		name, b64, ok := strings.Cut(strings.TrimPrefix(l, "— "), " ")
		raw, err := base64.StdEncoding.DecodeString(b64)
		if !strings.HasPrefix(l, "— ") || !ok || !ValidKeyName(name) || err != nil || len(raw) < 5 {
			return nil, fmt.Errorf("%w: %q is not a note signature line", ErrCheckpoint, l)
		}
		if seen[l] {
			continue
		}
		seen[l] = true
		out = append(out, l...)
		out = append(out, '\n')
	}
	return out, nil
}
