// Package eth1 serves the execution-layer front door of the signer, one http.Handler with three
// faces:
//
//   - Web3Signer's eth1 REST API: POST /api/v1/eth1/sign/{identifier} signs keccak256(data) and
//     answers the 65-byte r||s||v signature (v 27/28) as text/plain hex; GET
//     /api/v1/eth1/publicKeys lists the keys as 0x-prefixed 64-byte uncompressed public keys
//     (X||Y, no 0x04 prefix), the identifiers the sign endpoint takes.
//   - Web3Signer's eth1 JSON-RPC 2.0 on POST /: eth_accounts, eth_sign (EIP-191 personal
//     message), eth_signTransaction (raw signed transaction hex), eth_signTypedData and
//     eth_signTypedData_v4 (EIP-712), eth_sendTransaction (nonce from the downstream node when
//     missing, signed, sent with eth_sendRawTransaction), health_status; every other method is
//     proxied unchanged to the downstream node.
//   - The account_* external-signer API that go-ethereum's accounts/external client (geth
//     --signer) calls, with clef's semantics: account_version, account_list, account_signData
//     (text/plain and data/typed), account_signTransaction ({raw, tx}), account_signTypedData.
//
// Wire rules: a JSON-RPC body is at most MaxBodyBytes, a batch at most MaxBatch requests;
// request objects are decoded strictly (jsonrpc "2.0", a string method, params an array or an
// object, an id that is a string, a number or null; unknown or repeated members are refused);
// transaction objects and EIP-712 documents by chains/ethereum's strict decoders. Errors are
// JSON-RPC error objects with the standard codes (-32700, -32600, -32601, -32602) or -32000
// for what the signer refuses or fails at (unknown account, other chain id, signing failure,
// unreachable node), each with a message that names the problem; an error object the
// downstream node answered is passed on unchanged. Transactions are signed for Config.ChainID
// only. eth_sendTransaction is serialised per sender inside one Server, and retries a filled-in
// nonce the node calls too low (at most maxNonceRetries times, each a new signature).
//
// It is a front door: it decodes and checks requests, computes digests with chains/ethereum and
// hands each digest to a Backend it does not know the inside of. It must never hold a key or a
// share; it must never answer a signature it has not recovered to the requested account, and
// never answer or send a transaction whose recovered sender is not the requested account. It
// decides nothing about whether a message or transaction may be signed (policy is the
// enclaves'), and it imports neither host nor enclave.
package eth1

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/chains/ethereum"
)

// Conditions a Backend reports; rpcError maps each to a JSON-RPC error, status to an HTTP status.
var (
	// ErrUnknownAccount: no key of this signer has that address or public key.
	ErrUnknownAccount = errors.New("no account of this signer matches")
	// ErrBadRequest: the request is malformed or inconsistent.
	ErrBadRequest = errors.New("bad request")
	// ErrUnavailable: the signer cannot serve now (e.g. too few parties reachable).
	ErrUnavailable = errors.New("signer unavailable")
)

// Account is one secp256k1 key the cluster can sign with.
type Account struct {
	Address   common.Address
	PublicKey []byte // 33-byte compressed
}

// Backend does the signing behind the API.
type Backend interface {
	// Accounts lists the keys that can sign.
	Accounts(ctx context.Context) ([]Account, error)
	// Sign returns R||S||V (V 0 or 1) over digest with the key of from. It has the shape of
	// chains/ethereum.SignFunc.
	Sign(ctx context.Context, from common.Address, digest [32]byte) ([65]byte, error)
}

// Config configures the API.
type Config struct {
	// ChainID is the chain every transaction is signed for; a request naming another is refused.
	ChainID *big.Int
	// Downstream is the URL of the Ethereum node that unknown methods are proxied to and that
	// eth_sendTransaction uses; "" means none.
	Downstream string
	// Log receives one line per failed request.
	Log *slog.Logger
	// Client talks to the downstream node; nil means a client with DownstreamTimeout.
	Client *http.Client
}

// Limits of the API.
const (
	// MaxBodyBytes bounds a request body (go-ethereum's HTTP server uses the same 5 MiB).
	MaxBodyBytes = 5 << 20
	// MaxBatch bounds the requests of one JSON-RPC batch.
	MaxBatch = 100
	// MaxDownstreamBytes bounds one response of the downstream node.
	MaxDownstreamBytes = 32 << 20
	// DownstreamTimeout bounds one exchange with the downstream node.
	DownstreamTimeout = 30 * time.Second
)

// Paths of the API, as Web3Signer serves them.
const (
	PathSign       = "/api/v1/eth1/sign/{identifier}"
	PathPublicKeys = "/api/v1/eth1/publicKeys"
	PathJSONRPC    = "/"
)

// Server is the HTTP handler of the API.
type Server struct {
	backend    Backend
	cfg        Config
	downstream string
	client     *http.Client
	mux        *http.ServeMux
	sendLocks  [64]chan struct{} // eth_sendTransaction, striped by sender address
}

// New returns the API's handler.
func New(b Backend, cfg Config) (*Server, error) {
	if b == nil {
		return nil, errors.New("eth1: a backend is required")
	}
	if cfg.ChainID == nil || cfg.ChainID.Sign() <= 0 {
		return nil, errors.New("eth1: a positive chain id is required (transactions are signed for it)")
	}
	if cfg.Downstream != "" {
		u, err := url.Parse(cfg.Downstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("eth1: downstream %q is not an http(s) URL", cfg.Downstream)
		}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		backend:    b,
		cfg:        cfg,
		downstream: cfg.Downstream,
		client:     cfg.Client,
		mux:        http.NewServeMux(),
	}
	s.cfg.ChainID = new(big.Int).Set(cfg.ChainID)
	if s.client == nil {
		s.client = &http.Client{Timeout: DownstreamTimeout}
	}
	for i := range s.sendLocks {
		s.sendLocks[i] = make(chan struct{}, 1)
	}
	s.mux.HandleFunc("POST "+PathSign, s.handleSign)
	s.mux.HandleFunc("GET "+PathPublicKeys, s.handlePublicKeys)
	s.mux.HandleFunc("POST "+PathJSONRPC+"{$}", s.handleJSONRPC)
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// identifier is Web3Signer's name of an eth1 key: 0x and the lower-case hex of the 64-byte
// uncompressed public key without its 0x04 prefix.
func identifier(a Account) (string, error) {
	pub, err := ethereum.UncompressedPublicKey(a.PublicKey)
	if err != nil {
		return "", err
	}
	return "0x" + hex.EncodeToString(pub[1:]), nil
}

// findByIdentifier finds the account an identifier names. Web3Signer takes the 64-byte form
// (with or without 0x, any case); the 65-byte 0x04 form and the 33-byte compressed form of the
// same key are accepted too. Anything else names no key: 404, as in Web3Signer.
func (s *Server) findByIdentifier(ctx context.Context, id string) (Account, error) {
	id = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(id, "0x"), "0X"))
	b, err := hex.DecodeString(id)
	if err != nil || (len(b) != 64 && len(b) != 65 && len(b) != 33) {
		return Account{}, fmt.Errorf("%q is not a secp256k1 public key: %w", truncate(id, 140), ErrUnknownAccount)
	}
	accounts, err := s.backend.Accounts(ctx)
	if err != nil {
		return Account{}, err
	}
	for _, a := range accounts {
		want, err := identifier(a)
		if err != nil {
			continue
		}
		switch len(b) {
		case 64:
			if want[2:] == id {
				return a, nil
			}
		case 65:
			if id[:2] == "04" && want[2:] == id[2:] {
				return a, nil
			}
		case 33:
			if hex.EncodeToString(a.PublicKey) == id {
				return a, nil
			}
		}
	}
	return Account{}, fmt.Errorf("public key %s: %w", truncate("0x"+id, 140), ErrUnknownAccount)
}

// findByAddress returns the account with address addr.
func (s *Server) findByAddress(ctx context.Context, addr common.Address) (Account, error) {
	accounts, err := s.backend.Accounts(ctx)
	if err != nil {
		return Account{}, err
	}
	for _, a := range accounts {
		if a.Address == addr {
			return a, nil
		}
	}
	return Account{}, fmt.Errorf("no unlocked account matches the sender %s: %w", addr.Hex(), ErrUnknownAccount)
}

// sign is the one way to a signature: it asks the backend and releases the result only once it
// recovers to from. V comes back 0 or 1.
func (s *Server) sign(ctx context.Context, from common.Address, digest [32]byte) ([65]byte, error) {
	sig, err := s.backend.Sign(ctx, from, digest)
	if err != nil {
		return sig, err
	}
	if err := checkSignature(from, digest, sig, 0); err != nil {
		return [65]byte{}, err
	}
	return sig, nil
}

// checkSignature recovers the signer of digest from sig (whose V is vBase or vBase+1) and
// compares it with from.
func checkSignature(from common.Address, digest [32]byte, sig [65]byte, vBase byte) error {
	if sig[64] != vBase && sig[64] != vBase+1 {
		return fmt.Errorf("the backend returned a signature with v=%d (want %d or %d)", sig[64], vBase, vBase+1)
	}
	rsv := sig
	rsv[64] -= vBase
	if !crypto.ValidateSignatureValues(rsv[64], new(big.Int).SetBytes(rsv[:32]), new(big.Int).SetBytes(rsv[32:64]), true) {
		return errors.New("the backend returned a signature with R or S out of range or S not low")
	}
	pub, err := crypto.SigToPub(digest[:], rsv[:])
	if err != nil {
		return fmt.Errorf("the backend returned a signature that recovers to no key: %v", err)
	}
	if got := crypto.PubkeyToAddress(*pub); got != from {
		return fmt.Errorf("the backend returned a signature that recovers to %s, not %s; refused", got.Hex(), from.Hex())
	}
	return nil
}

// handleSign is Web3Signer's ETH1_SIGN: keccak256(data) signed with the key named in the path;
// the 65-byte r||s||v signature (v 27/28) as text/plain hex.
func (s *Server) handleSign(w http.ResponseWriter, r *http.Request) {
	sig, err := s.restSign(r)
	if err != nil {
		s.fail(w, r, "sign", err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "0x"+hex.EncodeToString(sig[:]))
}

func (s *Server) restSign(r *http.Request) ([65]byte, error) {
	body, err := readBody(r, MaxBodyBytes)
	if err != nil {
		return [65]byte{}, err
	}
	data, err := parseSignBody(body)
	if err != nil {
		return [65]byte{}, err
	}
	acct, err := s.findByIdentifier(r.Context(), r.PathValue("identifier"))
	if err != nil {
		return [65]byte{}, err
	}
	digest := crypto.Keccak256Hash(data)
	sig, err := s.sign(r.Context(), acct.Address, digest)
	if err != nil {
		return sig, err
	}
	sig[64] += 27
	return sig, nil
}

// parseSignBody reads {"data": "0x..."}: data is required, non-blank hex (0x optional, as
// Web3Signer takes it); other members, which the OpenAPI schema allows, must be strings and
// are ignored.
func parseSignBody(body []byte) ([]byte, error) {
	members, err := strictObject(body)
	if err != nil {
		return nil, fmt.Errorf("the body must be a JSON object with a \"data\" member: %v: %w", err, ErrBadRequest)
	}
	var data []byte
	found := false
	for _, m := range members {
		var str string
		if err := json.Unmarshal(m.value, &str); err != nil {
			return nil, fmt.Errorf("member %q must be a string: %w", truncate(m.key, 60), ErrBadRequest)
		}
		if m.key != "data" {
			continue
		}
		found = true
		if strings.TrimSpace(str) == "" {
			return nil, fmt.Errorf("data must not be empty: %w", ErrBadRequest)
		}
		h := strings.TrimPrefix(strings.TrimPrefix(str, "0x"), "0X")
		if data, err = hex.DecodeString(h); err != nil {
			return nil, fmt.Errorf("data is not hex: %v: %w", err, ErrBadRequest)
		}
	}
	if !found {
		return nil, fmt.Errorf("the body must contain a \"data\" member: %w", ErrBadRequest)
	}
	return data, nil
}

// handlePublicKeys is Web3Signer's ETH1_LIST: the identifiers of the keys, a JSON array.
func (s *Server) handlePublicKeys(w http.ResponseWriter, r *http.Request) {
	accounts, err := s.backend.Accounts(r.Context())
	if err != nil {
		s.fail(w, r, "public_keys", err)
		return
	}
	out := make([]string, 0, len(accounts))
	for _, a := range accounts {
		id, err := identifier(a)
		if err != nil {
			s.cfg.Log.Warn("eth1: the backend listed an invalid public key", "address", a.Address.Hex(), "err", err)
			continue
		}
		out = append(out, id)
	}
	slices.Sort(out)
	writeJSON(w, http.StatusOK, out)
}

// status is the one place this API's errors become HTTP statuses (REST endpoints).
func status(err error) int {
	switch {
	case errors.Is(err, ErrBadRequest), errors.Is(err, ethereum.ErrInvalid), errors.Is(err, ethereum.ErrChainID):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnknownAccount):
		return http.StatusNotFound
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail writes err as Web3Signer does (a status and a short text; JSON when asked), logging it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	code := status(err)
	s.cfg.Log.Info("eth1 request failed", "op", op, "status", code, "err", err)
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

// acceptsJSON reports whether the Accept header names application/json.
func acceptsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(mt), "application/json") {
				return true
			}
		}
	}
	return false
}

var errTooLarge = errors.New("request body too large")

// readBody reads at most limit bytes; a longer body is an error, not a truncation.
func readBody(r *http.Request, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %v: %w", err, ErrBadRequest)
	}
	if len(b) > limit {
		return nil, fmt.Errorf("the body exceeds %d bytes: %w", limit, errTooLarge)
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
