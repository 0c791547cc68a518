package host

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/host/api"
)

// maxBody caps a request body: room for a 1 MiB PSBT in base64 (the PSBT endpoint's limit),
// with the JSON around it. Every decoder behind it has its own, tighter limits.
const maxBody = 1500 << 10

// apiServer serves the native API. Every route but health needs the bearer token.
func (h *Host) apiServer() *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.PathHealth, h.handleHealth)
	mux.HandleFunc("GET "+api.PathHealthcheck, h.handleHealthcheck)
	mux.Handle("GET "+api.PathKeys, h.authed("list_keys", h.handleListKeys))
	mux.Handle("POST "+api.PathKeys, h.authed("create_key", h.handleCreateKey))
	mux.Handle("GET "+api.PathKey, h.authed("get_key", h.handleGetKey))
	mux.Handle("DELETE "+api.PathKey, h.authed("delete_key", h.handleDeleteKey))
	mux.Handle("POST "+api.PathSign, h.authed("sign", h.handleSign))
	mux.Handle("GET "+api.PathIdentity, h.authed("identity", h.handleIdentity))
	mux.Handle("POST "+api.PathImport, h.authed("import_key", h.handleImportKey))
	mux.Handle("GET "+api.PathChains, h.authed("chains", h.handleChains))
	mux.Handle("GET "+api.PathAddress, h.authed("address", h.handleAddress))
	mux.Handle("POST "+api.PathChainSign, h.authed("sign_transaction", h.handleChainSign))
	mux.Handle("POST "+api.PathPSBT, h.authed("sign_psbt", h.handlePSBT))
	mux.Handle("POST "+api.PathBackupExport, h.authed("backup_export", h.handleBackupExport))
	mux.Handle("POST "+api.PathBackupRestore, h.authed("backup_restore", h.handleBackupRestore))
	mux.Handle("GET "+api.PathXPub, h.authed("xpub", h.handleXPub))
	mux.Handle("POST "+api.PathReshare, h.authed("reshare_key", h.handleReshare))
	mux.Handle("POST "+api.PathRandom, h.authed("random", h.handleRandom))
	mux.Handle("GET "+api.PathHighWatermark, h.authed("high_watermark", h.handleHighWatermark))
	mux.Handle("PUT "+api.PathHighWatermark, h.authed("high_watermark", h.handleHighWatermark))
	mux.Handle("DELETE "+api.PathHighWatermark, h.authed("high_watermark", h.handleHighWatermark))
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) (any, error)

// authed checks the token, runs the handler, writes its result or error, and counts it.
func (h *Host) authed(op string, f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var out any
		var err error
		if h.tokenOK(r) {
			out, err = f(w, r)
		} else {
			err = errUnauthorized
		}
		result := "ok"
		if err != nil {
			result = resultLabel(err)
			writeError(w, err)
			h.log.Info("api request failed", "op", op, "err", err)
		} else {
			writeJSON(w, http.StatusOK, out)
		}
		h.metrics.requests.WithLabelValues(op, result).Inc()
		h.metrics.requestSeconds.WithLabelValues(op, result).Observe(time.Since(start).Seconds())
	})
}

var errUnauthorized = errors.New("unauthorized")

func (h *Host) tokenOK(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(tok), []byte(h.apiToken)) == 1
}

func (h *Host) handleHealth(w http.ResponseWriter, r *http.Request) {
	hl := h.Health()
	writeHealth(w, hl.Status == "ok", hl)
}

// writeHealth answers 200 when healthy and 503 when not, with the report either way.
func writeHealth(w http.ResponseWriter, ok bool, report any) {
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, report)
}

func (h *Host) handleListKeys(w http.ResponseWriter, r *http.Request) (any, error) {
	keys, err := h.ListKeys(r.Context())
	if err != nil {
		return nil, err
	}
	if keys == nil {
		keys = []api.Key{}
	}
	return api.KeyList{Keys: keys}, nil
}

func (h *Host) handleCreateKey(w http.ResponseWriter, r *http.Request) (any, error) {
	var req api.CreateKeyRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	return h.CreateKey(r.Context(), req)
}

func (h *Host) handleGetKey(w http.ResponseWriter, r *http.Request) (any, error) {
	return h.GetKey(r.Context(), r.PathValue("key"))
}

func (h *Host) handleSign(w http.ResponseWriter, r *http.Request) (any, error) {
	var req api.SignRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	return h.Sign(r.Context(), r.PathValue("key"), req)
}

// decodeBody reads a JSON body strictly: size-capped, unknown fields and trailing data refused.
func decodeBody(r *http.Request, v any) error {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("reading the body: %v: %w", err, ErrBadRequest)
	}
	if len(raw) > maxBody {
		return fmt.Errorf("body exceeds %d bytes: %w", maxBody, ErrBadRequest)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body is not a valid request: %v: %w", err, ErrBadRequest)
	}
	if dec.More() {
		return fmt.Errorf("body has data after the JSON object: %w", ErrBadRequest)
	}
	return nil
}

// httpError is the one place host errors become HTTP statuses and API error codes.
func httpError(err error) (int, string) {
	switch {
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, ErrBadRequest), errors.Is(err, chains.ErrInvalid):
		return http.StatusBadRequest, "bad_request"
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, ErrRefused):
		return http.StatusPreconditionFailed, "refused"
	case errors.Is(err, ErrQuorum):
		return http.StatusServiceUnavailable, "quorum_unavailable"
	case errors.Is(err, ErrNotReady):
		return http.StatusServiceUnavailable, "not_ready"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "quorum_unavailable"
	case errors.Is(err, ErrProtocol), errors.Is(err, chains.ErrSignature):
		return http.StatusBadGateway, "protocol_failed"
	}
	return http.StatusInternalServerError, "internal"
}

// resultLabel is the metrics label for an outcome: the API error code.
func resultLabel(err error) string {
	_, code := httpError(err)
	return code
}

func writeError(w http.ResponseWriter, err error) {
	status, code := httpError(err)
	body := api.Error{Code: code, Message: trimSentinel(err)}
	if errors.Is(err, errUnauthorized) {
		body.Message = "missing or wrong bearer token"
		w.Header().Set("WWW-Authenticate", `Bearer realm="mpcsigner"`)
	}
	for _, c := range Culprits(err) {
		body.Culprits = append(body.Culprits, uint16(c))
	}
	writeJSON(w, status, body)
}

// trimSentinel drops the sentinel text %w appends (": bad request"), which the code already says.
func trimSentinel(err error) string {
	msg := err.Error()
	for _, s := range []error{ErrBadRequest, ErrNotFound, ErrConflict, ErrRefused, ErrQuorum, ErrNotReady, ErrProtocol, ErrInternal, chains.ErrInvalid} {
		msg = strings.TrimSuffix(msg, ": "+s.Error())
	}
	return msg
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveHTTP serves srv on l, with TLS when configured, until srv is shut down.
func serveHTTP(srv *http.Server, l net.Listener, tlsCfg TLSConfig) error {
	var err error
	if tlsCfg.CertFile != "" {
		err = srv.ServeTLS(l, tlsCfg.CertFile, tlsCfg.KeyFile)
	} else {
		err = srv.Serve(l)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
