package web3signer

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Keymanager is the backend of the Ethereum Keymanager API (/eth/v1/keystores).
//
// The standard hands the signer each EIP-2335 keystore together with its password, so whoever
// runs this API (the untrusted host) sees both for a moment: operators who do not accept that
// leave it switched off and import with `mpcsigner key import`, which encrypts the keystore to
// an enclave's attested key.
type Keymanager interface {
	ListKeystores(ctx context.Context) ([]KeystoreEntry, error)
	// ImportKeystores imports keystores[i] unlocked by passwords[i], after importing the
	// EIP-3076 slashing protection data (if any) into every enclave.
	ImportKeystores(ctx context.Context, keystores, passwords []string, slashingProtection []byte) ([]ImportResult, error)
	// DeleteKeystores first makes every enclave refuse to sign with the keys, then exports
	// their slashing protection data (EIP-3076 JSON).
	DeleteKeystores(ctx context.Context, pubkeys []PublicKey) ([]DeleteResult, []byte, error)
}

// KeystoreEntry is one key of the list.
type KeystoreEntry struct {
	ValidatingPubkey string `json:"validating_pubkey"`
	DerivationPath   string `json:"derivation_path,omitempty"`
	Readonly         bool   `json:"readonly"`
}

// ImportResult is the outcome of one keystore: imported, duplicate or error.
type ImportResult struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// DeleteResult is the outcome of one key: deleted, not_active, not_found or error.
type DeleteResult struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// maxKeymanagerBody bounds an import: keystores are about 1 KiB each, slashing data can be
// large for many validators.
const maxKeymanagerBody = 16 << 20

var errUnauthorized = errors.New("missing or wrong bearer token")

// bearer admits a request only with the Keymanager API token.
func (s *Server) bearer(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.KeymanagerToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="keymanager"`)
			writeKeymanagerError(w, errUnauthorized)
			return
		}
		f(w, r)
	}
}

func (s *Server) handleListKeystores(w http.ResponseWriter, r *http.Request) {
	keys, err := s.cfg.Keymanager.ListKeystores(r.Context())
	if err != nil {
		s.cfg.Log.Info("keymanager list failed", "err", err)
		writeKeymanagerError(w, err)
		return
	}
	if keys == nil {
		keys = []KeystoreEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": keys})
}

type importRequest struct {
	Keystores          []string `json:"keystores"`
	Passwords          []string `json:"passwords"`
	SlashingProtection string   `json:"slashing_protection,omitempty"`
}

func (s *Server) handleImportKeystores(w http.ResponseWriter, r *http.Request) {
	var req importRequest
	if err := decodeStrict(r, maxKeymanagerBody, &req); err != nil {
		writeKeymanagerError(w, err)
		return
	}
	if len(req.Keystores) != len(req.Passwords) {
		writeKeymanagerError(w, fmt.Errorf("%d keystores but %d passwords: passwords[i] must unlock keystores[i]: %w", len(req.Keystores), len(req.Passwords), ErrBadRequest))
		return
	}
	var slashing []byte
	if req.SlashingProtection != "" {
		slashing = []byte(req.SlashingProtection)
	}
	res, err := s.cfg.Keymanager.ImportKeystores(r.Context(), req.Keystores, req.Passwords, slashing)
	if err != nil {
		s.cfg.Log.Info("keymanager import failed", "err", err)
		writeKeymanagerError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": res})
}

type deleteRequest struct {
	Pubkeys []string `json:"pubkeys"`
}

func (s *Server) handleDeleteKeystores(w http.ResponseWriter, r *http.Request) {
	var req deleteRequest
	if err := decodeStrict(r, 1<<20, &req); err != nil {
		writeKeymanagerError(w, err)
		return
	}
	pks := make([]PublicKey, len(req.Pubkeys))
	for i, s := range req.Pubkeys {
		pk, err := ParsePublicKey(s)
		if err != nil {
			writeKeymanagerError(w, err)
			return
		}
		pks[i] = pk
	}
	res, interchange, err := s.cfg.Keymanager.DeleteKeystores(r.Context(), pks)
	if err != nil {
		s.cfg.Log.Info("keymanager delete failed", "err", err)
		writeKeymanagerError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": res, "slashing_protection": string(interchange)})
}

// writeKeymanagerError answers in the Keymanager API's error shape {"message": ...}.
func writeKeymanagerError(w http.ResponseWriter, err error) {
	code := status(err)
	msg := err.Error()
	if code == http.StatusInternalServerError {
		msg = "internal error"
	}
	writeJSON(w, code, map[string]string{"message": msg})
}

// decodeStrict reads a JSON body: size-capped, unknown fields and trailing data refused.
func decodeStrict(r *http.Request, limit int, v any) error {
	b, err := readBody(r, limit)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body is not a valid request: %v: %w", err, ErrBadRequest)
	}
	if dec.More() {
		return fmt.Errorf("body has data after the JSON object: %w", ErrBadRequest)
	}
	return nil
}
