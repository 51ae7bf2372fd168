package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxAddCheckpointBody bounds an add-checkpoint request: 63 proof lines and
// a checkpoint with a few dozen signatures fit easily.
const maxAddCheckpointBody = 64 << 10

// Handler serves the c2sp.org/tlog-witness HTTP interface:
// POST /add-checkpoint.
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", w.serveAddCheckpoint)
	return mux
}

func (w *Witness) serveAddCheckpoint(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxAddCheckpointBody))
	if err != nil {
		http.Error(rw, "request body too large or unreadable", http.StatusBadRequest)
		return
	}
	oldSize, p, cp, err := ParseAddCheckpoint(body)
	if err == nil {
		var lines []byte
		if lines, err = w.AddCheckpoint(r.Context(), oldSize, p, cp); err == nil {
			rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
			rw.Write(lines)
			return
		}
	}
	var conflict *SizeConflictError
	switch {
	case errors.As(err, &conflict):
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", conflict.Size)
	case errors.Is(err, ErrUnknownLog):
		http.Error(rw, err.Error(), http.StatusNotFound)
	case errors.Is(err, ErrNotSigned):
		http.Error(rw, err.Error(), http.StatusForbidden)
	case errors.Is(err, ErrBadRequest):
		http.Error(rw, err.Error(), http.StatusBadRequest)
	case errors.Is(err, ErrInconsistent):
		http.Error(rw, err.Error(), http.StatusUnprocessableEntity)
	default:
		http.Error(rw, "internal error", http.StatusInternalServerError)
	}
}

// WitnessClient is a Cosigner that talks to a c2sp.org/tlog-witness server.
type WitnessClient struct {
	// URL is the submission prefix; the client posts to URL+"/add-checkpoint".
	URL  string
	HTTP *http.Client
}

var _ Cosigner = (*WitnessClient)(nil)
var _ Cosigner = (*Witness)(nil)

// AddCheckpoint posts the request and maps the witness's status codes back
// to the errors Witness.AddCheckpoint returns.
func (c *WitnessClient) AddCheckpoint(ctx context.Context, oldSize uint64, p []Hash, checkpoint []byte) ([]byte, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+"/add-checkpoint",
		bytes.NewReader(FormatAddCheckpoint(oldSize, p, checkpoint)))
	if err != nil {
		return nil, fmt.Errorf("witness client: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("witness client: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAddCheckpointBody))
	if err != nil {
		return nil, fmt.Errorf("witness client: %w", err)
	}
	msg := strings.TrimSpace(string(body))
	switch resp.StatusCode {
	case http.StatusOK:
		return body, nil
	case http.StatusConflict:
		if resp.Header.Get("Content-Type") == "text/x.tlog.size" {
			if n, err := strconv.ParseUint(msg, 10, 64); err == nil {
				return nil, &SizeConflictError{Size: n, Reason: "reported by witness"}
			}
		}
		return nil, fmt.Errorf("witness client: %w: 409 %s", ErrInconsistent, msg)
	case http.StatusNotFound:
		return nil, fmt.Errorf("witness client: %w: %s", ErrUnknownLog, msg)
	case http.StatusForbidden:
		return nil, fmt.Errorf("witness client: %w: %s", ErrNotSigned, msg)
	case http.StatusBadRequest:
		return nil, fmt.Errorf("witness client: %w: %s", ErrBadRequest, msg)
	case http.StatusUnprocessableEntity:
		return nil, fmt.Errorf("witness client: %w: %s", ErrInconsistent, msg)
	}
	return nil, fmt.Errorf("witness client: unexpected status %d: %s", resp.StatusCode, msg)
}
