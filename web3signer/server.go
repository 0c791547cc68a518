// Package web3signer serves the HTTP API that Ethereum validator clients (Lighthouse, Teku,
// Prysm, Nimbus, Lodestar) speak to a remote signer, as Consensys Web3Signer serves it: eth2
// signing, public keys, upcheck, healthcheck, reload, the high watermark, and the Keymanager API.
//
// It is a front door: it parses and checks requests, and hands the signing to a Backend it does
// not know the inside of. It must never hold a key or a share, never decide by itself that a
// message is safe to sign (slashing protection is the enclaves' job), and it imports neither
// host nor enclave.
package web3signer

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mpcsigner/mpcsigner/chains/eth2"
)

// Conditions a Backend reports; status maps each to one HTTP status.
var (
	// ErrBadRequest: the request is malformed or inconsistent.
	ErrBadRequest = errors.New("bad request")
	// ErrUnknownKey: no validator key with that public key.
	ErrUnknownKey = errors.New("public key not found")
	// ErrSlashing: slashing protection refused to sign.
	ErrSlashing = errors.New("signing refused by slashing protection")
	// ErrUnavailable: the signer cannot serve now (e.g. too few parties reachable).
	ErrUnavailable = errors.New("signer unavailable")
)

// PublicKey is a 48-byte compressed BLS12-381 public key.
type PublicKey [48]byte

func (pk PublicKey) String() string { return "0x" + hex.EncodeToString(pk[:]) }

// ParsePublicKey reads a 0x-prefixed (or bare) hex public key.
func ParsePublicKey(s string) (PublicKey, error) {
	var pk PublicKey
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != len(pk) {
		return pk, fmt.Errorf("%q is not a 48-byte hex BLS public key: %w", truncate(s, 120), ErrBadRequest)
	}
	copy(pk[:], b)
	return pk, nil
}

// Backend does the work behind the API.
type Backend interface {
	// Sign returns the 96-byte BLS signature of req's signing root (root, already recomputed
	// from req) under pk, after every participating enclave has applied its slashing protection.
	Sign(ctx context.Context, pk PublicKey, req *eth2.Request, root [32]byte, net *eth2.Network) ([]byte, error)
	// PublicKeys lists the validator keys that can sign.
	PublicKeys(ctx context.Context) ([]PublicKey, error)
	// Reload refreshes the list of keys.
	Reload(ctx context.Context) error
	// HighWatermark returns the high watermark, or nil when none is set.
	HighWatermark(ctx context.Context) (*Watermark, error)
	// Checks reports the named health checks.
	Checks(ctx context.Context) []Check
}

// Watermark is a slot and epoch at or beyond which nothing is signed.
type Watermark struct {
	Slot  uint64
	Epoch uint64
}

// Check is one named health check.
type Check struct {
	ID     string
	OK     bool
	Detail string
}

// Config configures the API.
type Config struct {
	// Network supplies the genesis fork version VALIDATOR_REGISTRATION needs.
	Network *eth2.Network
	// Keymanager serves /eth/v1/keystores when set.
	Keymanager Keymanager
	// KeymanagerToken is the bearer token of the Keymanager API (read from a file by the caller).
	KeymanagerToken string
	// Log receives one line per failed request.
	Log *slog.Logger
	// Observe, when set, is told the outcome and duration of every signing request.
	Observe func(op, result string, d time.Duration)
}

// Server is the HTTP handler of the API.
type Server struct {
	backend Backend
	cfg     Config
	mux     *http.ServeMux
}

// New returns the API's handler.
func New(b Backend, cfg Config) (*Server, error) {
	if b == nil {
		return nil, errors.New("web3signer: a backend is required")
	}
	if cfg.Network == nil {
		return nil, errors.New("web3signer: a network is required (it supplies the genesis fork version)")
	}
	if cfg.Keymanager != nil && len(cfg.KeymanagerToken) < 16 {
		return nil, errors.New("web3signer: the Keymanager API needs a bearer token of at least 16 characters")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{backend: b, cfg: cfg, mux: http.NewServeMux()}
	s.routes()
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Paths of the API, as Web3Signer serves them.
const (
	PathSign          = "/api/v1/eth2/sign/{identifier}"
	PathPublicKeys    = "/api/v1/eth2/publicKeys"
	PathHighWatermark = "/api/v1/eth2/highWatermark"
	PathUpcheck       = "/upcheck"
	PathHealthcheck   = "/healthcheck"
	PathReload        = "/reload"
	PathKeystores     = "/eth/v1/keystores"
)

func (s *Server) routes() {
	s.mux.HandleFunc("POST "+PathSign, s.handleSign)
	s.mux.HandleFunc("GET "+PathPublicKeys, s.handlePublicKeys)
	s.mux.HandleFunc("GET "+PathHighWatermark, s.handleHighWatermark)
	s.mux.HandleFunc("GET "+PathUpcheck, s.handleUpcheck)
	s.mux.HandleFunc("GET "+PathHealthcheck, s.handleHealthcheck)
	s.mux.HandleFunc("GET "+PathReload, s.handleReload)
	s.mux.HandleFunc("POST "+PathReload, s.handleReload)
	if s.cfg.Keymanager != nil {
		s.mux.HandleFunc("GET "+PathKeystores, s.bearer(s.handleListKeystores))
		s.mux.HandleFunc("POST "+PathKeystores, s.bearer(s.handleImportKeystores))
		s.mux.HandleFunc("DELETE "+PathKeystores, s.bearer(s.handleDeleteKeystores))
	}
}

func (s *Server) handleSign(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sig, typ, err := s.sign(r)
	result := "ok"
	if err != nil {
		result = resultLabel(err)
		s.fail(w, r, "sign", err)
	} else {
		writeSignature(w, r, sig)
	}
	if s.cfg.Observe != nil {
		s.cfg.Observe(strings.ToLower(string(typ)), result, time.Since(start))
	}
}

func (s *Server) sign(r *http.Request) ([]byte, eth2.Type, error) {
	pk, err := ParsePublicKey(r.PathValue("identifier"))
	if err != nil {
		return nil, "", err
	}
	body, err := readBody(r, eth2.MaxRequestBytes)
	if err != nil {
		return nil, "", err
	}
	req, err := eth2.ParseRequest(body)
	if err != nil {
		return nil, "", fmt.Errorf("%v: %w", err, ErrBadRequest)
	}
	// Recomputing here refuses a wrong supplied signingRoot before any enclave is asked; each
	// enclave recomputes it again, because this process is not trusted.
	root, err := req.SigningRoot(s.cfg.Network)
	if err != nil {
		return nil, req.Type, fmt.Errorf("%v: %w", err, ErrBadRequest)
	}
	sig, err := s.backend.Sign(r.Context(), pk, req, root, s.cfg.Network)
	return sig, req.Type, err
}

// writeSignature answers as Web3Signer does: JSON when the client accepts application/json or
// anything (*/*), otherwise the hex signature as text/plain.
func writeSignature(w http.ResponseWriter, r *http.Request, sig []byte) {
	hexSig := "0x" + hex.EncodeToString(sig)
	if acceptsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"signature": hexSig})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, hexSig)
}

// acceptsJSON reports whether the Accept header names application/json or */*.
func acceptsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			switch strings.ToLower(strings.TrimSpace(mt)) {
			case "application/json", "*/*":
				return true
			}
		}
	}
	return false
}

func (s *Server) handlePublicKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.backend.PublicKeys(r.Context())
	if err != nil {
		s.fail(w, r, "public_keys", err)
		return
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.String()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleHighWatermark(w http.ResponseWriter, r *http.Request) {
	wm, err := s.backend.HighWatermark(r.Context())
	if err != nil {
		s.fail(w, r, "high_watermark", err)
		return
	}
	out := map[string]string{}
	if wm != nil {
		out["epoch"] = fmt.Sprint(wm.Epoch)
		out["slot"] = fmt.Sprint(wm.Slot)
	}
	writeJSON(w, http.StatusOK, out)
}

// handleUpcheck answers "OK" as Web3Signer does, or {"status":"OK"} to a client asking only for
// JSON.
func (s *Server) handleUpcheck(w http.ResponseWriter, r *http.Request) {
	if acceptsOnlyJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "OK"})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "OK")
}

// acceptsOnlyJSON is for endpoints whose Web3Signer default is text: JSON only when the client
// names application/json and not text/plain or */*.
func acceptsOnlyJSON(r *http.Request) bool {
	accept := strings.ToLower(strings.Join(r.Header.Values("Accept"), ","))
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/plain") && !strings.Contains(accept, "*/*")
}

// healthReport is Web3Signer's healthcheck body shape: an overall status, the named checks and
// the outcome.
type healthReport struct {
	Status  string        `json:"status"`
	Checks  []healthCheck `json:"checks"`
	Outcome string        `json:"outcome"`
}

type healthCheck struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

func (s *Server) handleHealthcheck(w http.ResponseWriter, r *http.Request) {
	rep := healthReport{Status: "UP", Outcome: "UP"}
	for _, c := range s.backend.Checks(r.Context()) {
		st := "UP"
		if !c.OK {
			st, rep.Status, rep.Outcome = "DOWN", "DOWN", "DOWN"
		}
		rep.Checks = append(rep.Checks, healthCheck{ID: c.ID, Status: st, Detail: c.Detail})
	}
	status := http.StatusOK
	if rep.Status != "UP" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, rep)
}

func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	if err := s.backend.Reload(r.Context()); err != nil {
		s.fail(w, r, "reload", err)
		return
	}
	if acceptsOnlyJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "reloaded"})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "Reload completed")
}

// status is the one place this API's errors become HTTP statuses.
func status(err error) int {
	switch {
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnknownKey):
		return http.StatusNotFound
	case errors.Is(err, ErrSlashing):
		return http.StatusPreconditionFailed
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func resultLabel(err error) string {
	switch status(err) {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusPreconditionFailed:
		return "slashing_refused"
	case http.StatusServiceUnavailable:
		return "unavailable"
	case http.StatusUnauthorized:
		return "unauthorized"
	}
	return "internal"
}

// fail writes err as Web3Signer does (a status and a short text), logging it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	code := status(err)
	s.cfg.Log.Info("web3signer request failed", "op", op, "status", code, "err", err)
	msg := err.Error()
	if code == http.StatusInternalServerError {
		msg = "Internal Web3Signer server error"
	}
	if acceptsJSON(r) {
		writeJSON(w, code, map[string]any{"code": code, "message": msg})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

// readBody reads at most limit bytes; a longer body is an error, not a truncation.
func readBody(r *http.Request, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %v: %w", err, ErrBadRequest)
	}
	if len(b) > limit {
		return nil, fmt.Errorf("body exceeds %d bytes: %w", limit, ErrBadRequest)
	}
	return b, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
