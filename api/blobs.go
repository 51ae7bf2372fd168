package api

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// AllowedMediaTypes are the attachment types accepted: photos and
// documents. The declared type must match what the bytes look like.
var AllowedMediaTypes = map[string]bool{
	"image/jpeg":      true,
	"image/png":       true,
	"image/webp":      true,
	"application/pdf": true,
	"text/plain":      true,
}

// BlobStore keeps attachments by their SHA-256 under blobs/ in the data
// directory: blobs/sha256/ab/abcdef... Files are written to a temporary
// name, synced, then renamed, so a blob is either whole or absent.
type BlobStore struct {
	dir   string
	limit int64
}

// OpenBlobStore opens (creating) the blob directory of dataDir.
func OpenBlobStore(dataDir string, limit int64) (*BlobStore, error) {
	dir := filepath.Join(dataDir, "blobs", "sha256")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("api: open blob store: %w", err)
	}
	return &BlobStore{dir: dir, limit: limit}, nil
}

func (b *BlobStore) path(digest string) string {
	return filepath.Join(b.dir, digest[:2], digest)
}

// Put stores data and returns its lowercase hex SHA-256.
func (b *BlobStore) Put(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	p := b.path(digest)
	if _, err := os.Stat(p); err == nil {
		return digest, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return "", fmt.Errorf("api: put blob: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return "", fmt.Errorf("api: put blob: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("api: put blob: %w", err)
	}
	return digest, nil
}

// Get reads a blob and checks its digest on the way.
func (b *BlobStore) Get(digest string) ([]byte, error) {
	data, err := os.ReadFile(b.path(digest))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNotVisible
	}
	if err != nil {
		return nil, fmt.Errorf("api: get blob: %w", err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != digest {
		return nil, fmt.Errorf("api: get blob %s: content does not match its digest", digest)
	}
	return data, nil
}

// checkMediaType refuses types not in AllowedMediaTypes and bytes that do
// not look like the declared type.
func checkMediaType(declared string, data []byte) (string, error) {
	mt, _, _ := strings.Cut(declared, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if !AllowedMediaTypes[mt] {
		return "", &FieldError{Location: "header.Content-Type", Message: fmt.Sprintf("%q is not accepted; use one of image/jpeg, image/png, image/webp, application/pdf, text/plain", mt)}
	}
	sniffed, _, _ := strings.Cut(http.DetectContentType(data), ";")
	if sniffed != mt && !(mt == "image/webp" && sniffed == "image/webp") {
		return "", &FieldError{Location: "body", Message: fmt.Sprintf("content looks like %s, not the declared %s", sniffed, mt)}
	}
	return mt, nil
}

// StoredAttachment is an uploaded file attached to a case.
type StoredAttachment struct {
	Digest     string    `json:"sha256" doc:"SHA-256 of the content, lowercase hex: what events reference."`
	CaseID     string    `json:"case_id"`
	MediaType  string    `json:"media_type"`
	Size       int64     `json:"size"`
	Filename   string    `json:"filename,omitempty"`
	UploadedBy string    `json:"uploaded_by"`
	Agency     string    `json:"agency"`
	Created    time.Time `json:"created_at"`
}

func (i *idempotency) addAttachment(ctx context.Context, a StoredAttachment) error {
	_, err := i.db.ExecContext(ctx, `INSERT INTO attachments(digest,case_id,media_type,size,filename,uploaded_by,agency,created_at)
		VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(digest,case_id) DO NOTHING`,
		a.Digest, a.CaseID, a.MediaType, a.Size, a.Filename, a.UploadedBy, a.Agency, a.Created.UnixNano())
	if err != nil {
		return fmt.Errorf("api: record attachment: %w", err)
	}
	return nil
}

func (i *idempotency) attachment(ctx context.Context, caseID, digest string) (StoredAttachment, error) {
	a := StoredAttachment{Digest: digest, CaseID: caseID}
	var created int64
	err := i.db.QueryRowContext(ctx, `SELECT media_type,size,filename,uploaded_by,agency,created_at FROM attachments WHERE digest=? AND case_id=?`, digest, caseID).
		Scan(&a.MediaType, &a.Size, &a.Filename, &a.UploadedBy, &a.Agency, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return a, errNotVisible
	}
	if err != nil {
		return a, fmt.Errorf("api: attachment: %w", err)
	}
	a.Created = time.Unix(0, created).UTC()
	return a, nil
}
