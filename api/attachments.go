package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"

	"github.com/danielgtaylor/huma/v2"
)

type uploadInput struct {
	ID          string `path:"id" format:"uuid" doc:"The case the attachment belongs to."`
	ContentType string `header:"Content-Type" required:"true" doc:"image/jpeg, image/png, image/webp, application/pdf or text/plain."`
	Filename    string `query:"filename" maxLength:"200" doc:"Original file name, for display."`
	RawBody     []byte `contentType:"application/octet-stream"`
}

type downloadInput struct {
	ID     string `path:"id" format:"uuid" doc:"The case the attachment belongs to."`
	Digest string `path:"sha256" pattern:"^[0-9a-f]{64}$" doc:"The attachment's SHA-256, lowercase hex."`
}

type downloadOutput struct {
	ContentType string `header:"Content-Type"`
	ETag        string `header:"ETag"`
	Body        []byte
}

var digestPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (s *Server) registerAttachments() {
	register(s, authenticated, huma.Operation{
		OperationID: "upload-attachment", Method: http.MethodPost, Path: "/v1/cases/{id}/attachments", Tags: []string{"attachments"},
		Summary:      "Upload a photo or document",
		Description:  fmt.Sprintf("Stores the body in the content-addressed blob store and returns its SHA-256, which events reference (attachments[].digest). At most %d bytes. Uploading the same bytes twice is harmless.", s.cfg.MaxAttachmentBytes),
		MaxBodyBytes: s.cfg.MaxAttachmentBytes,
		// The raw body is checked by the handler, not as a JSON schema.
		SkipValidateBody: true,
		Errors:           []int{http.StatusNotFound, http.StatusRequestEntityTooLarge},
	}, func(ctx context.Context, in *uploadInput) (*body[StoredAttachment], error) {
		id, err := parseID("path.id", in.ID)
		if err != nil {
			return nil, err
		}
		p := principalOf(ctx)
		if err := s.visibleStream(ctx, p, "case", id); err != nil {
			return nil, err
		}
		if len(in.RawBody) == 0 {
			return nil, &FieldError{Location: "body", Message: "is empty"}
		}
		mt, err := checkMediaType(in.ContentType, in.RawBody)
		if err != nil {
			return nil, err
		}
		digest, err := s.blobs.Put(in.RawBody)
		if err != nil {
			return nil, err
		}
		a := StoredAttachment{Digest: digest, CaseID: id.String(), MediaType: mt, Size: int64(len(in.RawBody)), Filename: in.Filename,
			UploadedBy: p.User, Agency: p.Agency, Created: s.now().UTC()}
		if err := s.idem.addAttachment(ctx, a); err != nil {
			return nil, err
		}
		stored, err := s.idem.attachment(ctx, a.CaseID, digest)
		if err != nil {
			return nil, err
		}
		return &body[StoredAttachment]{stored}, nil
	})
	register(s, authenticated, huma.Operation{
		OperationID: "download-attachment", Method: http.MethodGet, Path: "/v1/cases/{id}/attachments/{sha256}", Tags: []string{"attachments"},
		Summary: "Download an attachment", Description: "Only participants of the case may download its attachments; the content is checked against its digest on the way out.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *downloadInput) (*downloadOutput, error) {
		id, err := parseID("path.id", in.ID)
		if err != nil {
			return nil, err
		}
		if !digestPattern.MatchString(in.Digest) {
			return nil, &FieldError{Location: "path.sha256", Message: "want 64 lowercase hex digits"}
		}
		if err := s.visibleStream(ctx, principalOf(ctx), "case", id); err != nil {
			return nil, err
		}
		a, err := s.idem.attachment(ctx, id.String(), in.Digest)
		if err != nil {
			return nil, err
		}
		data, err := s.blobs.Get(in.Digest)
		if err != nil {
			return nil, err
		}
		return &downloadOutput{ContentType: a.MediaType, ETag: `"` + a.Digest + `"`, Body: data}, nil
	})
}
