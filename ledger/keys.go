package ledger

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// Key algorithms of the signed-note key encoding (c2sp.org/signed-note).
const (
	// AlgEd25519 is a log key: Ed25519 over the note text.
	AlgEd25519 byte = 0x01
	// AlgCosignatureV1 is a witness key: Ed25519 over the
	// c2sp.org/tlog-cosignature "cosignature/v1" message, with a timestamp.
	AlgCosignatureV1 byte = 0x04
)

// KeyKind says what a generated key signs.
type KeyKind int

const (
	// LogKey signs checkpoints (note signature, algorithm 0x01).
	LogKey KeyKind = iota
	// WitnessKey cosigns checkpoints (cosignature/v1, algorithm 0x04).
	WitnessKey
)

func (k KeyKind) alg() (byte, error) {
	switch k {
	case LogKey:
		return AlgEd25519, nil
	case WitnessKey:
		return AlgCosignatureV1, nil
	}
	return 0, fmt.Errorf("ledger: unknown key kind %d", k)
}

// ErrKeyFile is returned (wrapped) for a key file that is missing,
// unreadable, too permissive or malformed.
var ErrKeyFile = errors.New("ledger: key file")

// ValidKeyName reports whether name can name a note key: non-empty UTF-8
// with no space and no '+'.
func ValidKeyName(name string) bool {
	return name != "" && utf8.ValidString(name) && strings.IndexFunc(name, unicode.IsSpace) < 0 && !strings.Contains(name, "+")
}

// KeyID returns the 32-bit key ID of a note key: the first four bytes of
// SHA-256(name || "\n" || alg || public key), big-endian.
func KeyID(name string, alg byte, pub []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', alg})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// GenerateKey returns a new Ed25519 signer key (secret) and verifier key in
// the signed-note encoding:
//
//	PRIVATE+KEY+<name>+<key id, 8 hex>+<base64(alg || 32-byte seed)>
//	<name>+<key id, 8 hex>+<base64(alg || 32-byte public key)>
func GenerateKey(rand io.Reader, name string, kind KeyKind) (skey, vkey string, err error) {
	if !ValidKeyName(name) {
		return "", "", fmt.Errorf("ledger: generate key: name %q must be non-empty, without spaces or '+'", name)
	}
	alg, err := kind.alg()
	if err != nil {
		return "", "", err
	}
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return "", "", fmt.Errorf("ledger: generate key: %w", err)
	}
	id := KeyID(name, alg, pub)
	skey = fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, id, base64.StdEncoding.EncodeToString(append([]byte{alg}, priv.Seed()...)))
	vkey = fmt.Sprintf("%s+%08x+%s", name, id, base64.StdEncoding.EncodeToString(append([]byte{alg}, pub...)))
	return skey, vkey, nil
}

// NewSigner parses a signer key. A log key (0x01) signs note text; a witness
// key (0x04) produces cosignature/v1 signatures timestamped with now (nil
// means time.Now).
func NewSigner(skey string, now func() time.Time) (note.Signer, error) {
	parts := strings.SplitN(strings.TrimSpace(skey), "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return nil, fmt.Errorf("%w: not a signer key (want PRIVATE+KEY+name+id+key)", ErrKeyFile)
	}
	name, id, key, err := parseKeyParts(parts[2], parts[3], parts[4])
	if err != nil {
		return nil, err
	}
	if len(key) != 1+ed25519.SeedSize {
		return nil, fmt.Errorf("%w: signer key %s: want %d key bytes, got %d", ErrKeyFile, name, 1+ed25519.SeedSize, len(key))
	}
	alg := key[0]
	priv := ed25519.NewKeyFromSeed(key[1:])
	pub := priv.Public().(ed25519.PublicKey)
	if KeyID(name, alg, pub) != id {
		return nil, fmt.Errorf("%w: signer key %s: key id %08x does not match the key", ErrKeyFile, name, id)
	}
	switch alg {
	case AlgEd25519:
		return &ed25519Signer{name: name, id: id, priv: priv}, nil
	case AlgCosignatureV1:
		if now == nil {
			now = time.Now
		}
		return &CosignatureSigner{name: name, id: id, priv: priv, now: now}, nil
	}
	return nil, fmt.Errorf("%w: signer key %s: unknown algorithm 0x%02x", ErrKeyFile, name, alg)
}

// NewVerifier parses a verifier key of either algorithm.
func NewVerifier(vkey string) (note.Verifier, error) {
	parts := strings.SplitN(strings.TrimSpace(vkey), "+", 3)
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: not a verifier key (want name+id+key)", ErrKeyFile)
	}
	name, id, key, err := parseKeyParts(parts[0], parts[1], parts[2])
	if err != nil {
		return nil, err
	}
	if len(key) != 1+ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: verifier key %s: want %d key bytes, got %d", ErrKeyFile, name, 1+ed25519.PublicKeySize, len(key))
	}
	alg, pub := key[0], ed25519.PublicKey(key[1:])
	if KeyID(name, alg, pub) != id {
		return nil, fmt.Errorf("%w: verifier key %s: key id %08x does not match the key", ErrKeyFile, name, id)
	}
	switch alg {
	case AlgEd25519:
		v, err := note.NewVerifier(strings.TrimSpace(vkey))
		if err != nil {
			return nil, fmt.Errorf("%w: verifier key %s: %w", ErrKeyFile, name, err)
		}
		return v, nil
	case AlgCosignatureV1:
		return &CosignatureVerifier{name: name, id: id, pub: pub}, nil
	}
	return nil, fmt.Errorf("%w: verifier key %s: unknown algorithm 0x%02x", ErrKeyFile, name, alg)
}

func parseKeyParts(name, id16, key64 string) (string, uint32, []byte, error) {
	if !ValidKeyName(name) {
		return "", 0, nil, fmt.Errorf("%w: key name %q is not valid", ErrKeyFile, name)
	}
	id, err := strconv.ParseUint(id16, 16, 32)
	if len(id16) != 8 || err != nil {
		return "", 0, nil, fmt.Errorf("%w: key %s: key id %q is not 8 hex digits", ErrKeyFile, name, id16)
	}
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil {
		return "", 0, nil, fmt.Errorf("%w: key %s: key material is not base64: %w", ErrKeyFile, name, err)
	}
	return name, uint32(id), key, nil
}

// KeyFileNames returns the file names keys generate writes for a key name:
// the name with every character outside [A-Za-z0-9._-] replaced by '_',
// then ".key" (secret) and ".vkey" (public).
func KeyFileNames(name string) (skeyFile, vkeyFile string) {
	safe := strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && (r == '.' || r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return '_'
	}, name)
	return safe + ".key", safe + ".vkey"
}

// WriteKeyFiles writes a key pair into dir: the signer key with mode 0600
// and the verifier key with mode 0644. It never overwrites an existing file.
func WriteKeyFiles(dir, name, skey, vkey string) (skeyPath, vkeyPath string, err error) {
	sf, vf := KeyFileNames(name)
	skeyPath, vkeyPath = filepath.Join(dir, sf), filepath.Join(dir, vf)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("ledger: write keys: %w", err)
	}
	if err := writeNew(skeyPath, skey+"\n", 0o600); err != nil {
		return "", "", err
	}
	if err := writeNew(vkeyPath, vkey+"\n", 0o644); err != nil {
		os.Remove(skeyPath)
		return "", "", err
	}
	return skeyPath, vkeyPath, nil
}

func writeNew(path, content string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("ledger: write key %s: %w", path, err)
	}
	// The umask may have removed bits; set the exact mode.
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("ledger: write key %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return fmt.Errorf("ledger: write key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("ledger: write key %s: %w", path, err)
	}
	return f.Close()
}

// LoadSigner reads a signer key file. The file MUST be readable by its
// owner only (no group or other permission bits): a more permissive file
// is refused, as is a missing or unreadable one.
func LoadSigner(path string, now func() time.Time) (note.Signer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w %s: does not exist (create one with 'scelle keys generate')", ErrKeyFile, path)
		}
		return nil, fmt.Errorf("%w %s: %w", ErrKeyFile, path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w %s: not a regular file", ErrKeyFile, path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w %s: mode %04o is too permissive: a signer key must be 0600 (chmod 600 %s)", ErrKeyFile, path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrKeyFile, path, err)
	}
	s, err := NewSigner(string(b), now)
	if err != nil {
		return nil, fmt.Errorf("load signer %s: %w", path, err)
	}
	return s, nil
}

// LoadVerifier reads a verifier key file.
func LoadVerifier(path string) (note.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w %s: does not exist", ErrKeyFile, path)
		}
		return nil, fmt.Errorf("%w %s: %w", ErrKeyFile, path, err)
	}
	v, err := NewVerifier(string(b))
	if err != nil {
		return nil, fmt.Errorf("load verifier %s: %w", path, err)
	}
	return v, nil
}

// ReadVerifierKey reads a verifier key file and returns its text (trimmed)
// after checking that it parses.
func ReadVerifierKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w %s: %w", ErrKeyFile, path, err)
	}
	k := strings.TrimSpace(string(b))
	if _, err := NewVerifier(k); err != nil {
		return "", fmt.Errorf("read verifier %s: %w", path, err)
	}
	return k, nil
}

type ed25519Signer struct {
	name string
	id   uint32
	priv ed25519.PrivateKey
}

func (s *ed25519Signer) Name() string    { return s.name }
func (s *ed25519Signer) KeyHash() uint32 { return s.id }
func (s *ed25519Signer) Sign(msg []byte) ([]byte, error) {
	return ed25519.Sign(s.priv, msg), nil
}

// CosignatureSigner signs checkpoints as a c2sp.org/tlog-cosignature
// Ed25519 cosigner: the signature is timestamp (8 bytes, big-endian POSIX
// seconds) || Ed25519 over "cosignature/v1\ntime <timestamp>\n" || note text.
type CosignatureSigner struct {
	name string
	id   uint32
	priv ed25519.PrivateKey
	now  func() time.Time
}

func (s *CosignatureSigner) Name() string    { return s.name }
func (s *CosignatureSigner) KeyHash() uint32 { return s.id }

// Sign returns timestamp || signature.
func (s *CosignatureSigner) Sign(msg []byte) ([]byte, error) {
	t := s.now().Unix()
	if t < 0 {
		return nil, fmt.Errorf("ledger: cosign: clock %d is before the epoch", t)
	}
	sig := make([]byte, 8, 8+ed25519.SignatureSize)
	binary.BigEndian.PutUint64(sig, uint64(t))
	return append(sig, ed25519.Sign(s.priv, cosignedMessage(uint64(t), msg))...), nil
}

// CosignatureVerifier verifies c2sp.org/tlog-cosignature Ed25519
// cosignatures.
type CosignatureVerifier struct {
	name string
	id   uint32
	pub  ed25519.PublicKey
}

func (v *CosignatureVerifier) Name() string    { return v.name }
func (v *CosignatureVerifier) KeyHash() uint32 { return v.id }

// Verify checks sig = timestamp || Ed25519 signature over the cosigned
// message of msg.
func (v *CosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > 1<<63-1 {
		return false
	}
	return ed25519.Verify(v.pub, cosignedMessage(t, msg), sig[8:])
}

// CosignatureTime returns the timestamp of a cosignature's signature bytes.
func CosignatureTime(sig []byte) (time.Time, bool) {
	if len(sig) != 8+ed25519.SignatureSize {
		return time.Time{}, false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > 1<<63-1 {
		return time.Time{}, false
	}
	return time.Unix(int64(t), 0).UTC(), true
}

func cosignedMessage(t uint64, text []byte) []byte {
	m := make([]byte, 0, 40+len(text))
	m = append(m, "cosignature/v1\ntime "...)
	m = strconv.AppendUint(m, t, 10)
	m = append(m, '\n')
	return append(m, text...)
}
