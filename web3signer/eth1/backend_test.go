package eth1

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// memBackend is the in-memory Backend double: it holds ordinary private keys and really signs
// with go-ethereum's crypto.Sign. Tests verify its signatures by recovery, never by asking it.
type memBackend struct {
	mu       sync.Mutex
	keys     []*ecdsa.PrivateKey
	signErr  error             // returned by Sign when set
	impostor *ecdsa.PrivateKey // when set, Sign signs with this key instead (a misbehaving backend)
	signs    int
}

func newMemBackend(t testing.TB, n int) *memBackend {
	t.Helper()
	b := &memBackend{}
	for range n {
		k, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		b.keys = append(b.keys, k)
	}
	return b
}

func (b *memBackend) addr(i int) common.Address { return crypto.PubkeyToAddress(b.keys[i].PublicKey) }

func (b *memBackend) Accounts(context.Context) ([]Account, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Account, len(b.keys))
	for i, k := range b.keys {
		out[i] = Account{Address: crypto.PubkeyToAddress(k.PublicKey), PublicKey: crypto.CompressPubkey(&k.PublicKey)}
	}
	return out, nil
}

func (b *memBackend) Sign(ctx context.Context, from common.Address, digest [32]byte) ([65]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var sig [65]byte
	if b.signErr != nil {
		return sig, b.signErr
	}
	for _, k := range b.keys {
		if crypto.PubkeyToAddress(k.PublicKey) != from {
			continue
		}
		if b.impostor != nil {
			k = b.impostor
		}
		s, err := crypto.Sign(digest[:], k)
		if err != nil {
			return sig, err
		}
		b.signs++
		copy(sig[:], s)
		return sig, nil
	}
	return sig, fmt.Errorf("address %s: %w", from.Hex(), ErrUnknownAccount)
}

func (b *memBackend) signCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.signs
}

var testChainID = big.NewInt(1337)

// testLogger writes the server's log to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newTestServer(t testing.TB, b Backend, downstream string) *Server {
	t.Helper()
	s, err := New(b, Config{ChainID: testChainID, Downstream: downstream, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// post sends body to the handler and returns the status and the body of the answer.
func post(t testing.TB, h http.Handler, path, body string) (int, http.Header, []byte) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// rpcAnswer is a decoded JSON-RPC response, strict enough to catch a malformed one.
type rpcAnswer struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

func decodeAnswer(t testing.TB, b []byte) rpcAnswer {
	t.Helper()
	var a rpcAnswer
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("answer %s: %v", b, err)
	}
	if a.JSONRPC != "2.0" || a.ID == nil || (a.Result == nil) == (a.Error == nil) {
		t.Fatalf("answer %s is not a JSON-RPC 2.0 response", b)
	}
	return a
}

// rpcCall sends one request and decodes the answer.
func rpcCall(t testing.TB, h http.Handler, method string, params ...any) (int, rpcAnswer) {
	t.Helper()
	p, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	if params == nil {
		p = []byte("[]")
	}
	code, _, b := post(t, h, "/", fmt.Sprintf(`{"jsonrpc":"2.0","id":7,"method":%q,"params":%s}`, method, p))
	return code, decodeAnswer(t, b)
}

// rpcResult sends one request that must succeed and decodes its result into out.
func rpcResult(t testing.TB, h http.Handler, out any, method string, params ...any) {
	t.Helper()
	code, a := rpcCall(t, h, method, params...)
	if a.Error != nil || code != http.StatusOK {
		t.Fatalf("%s: HTTP %d, error %+v", method, code, a.Error)
	}
	if string(a.ID) != "7" {
		t.Fatalf("%s: id %s, want 7", method, a.ID)
	}
	if err := json.Unmarshal(a.Result, out); err != nil {
		t.Fatalf("%s: result %s: %v", method, a.Result, err)
	}
}

// recoverAddr recovers the signer of digest from a 65-byte signature whose V is vBase or
// vBase+1.
func recoverAddr(t testing.TB, digest []byte, sig []byte, vBase byte) common.Address {
	t.Helper()
	if len(sig) != 65 {
		t.Fatalf("signature of %d bytes", len(sig))
	}
	if sig[64] != vBase && sig[64] != vBase+1 {
		t.Fatalf("v = %d, want %d or %d", sig[64], vBase, vBase+1)
	}
	rsv := bytes.Clone(sig)
	rsv[64] -= vBase
	pub, err := crypto.SigToPub(digest, rsv)
	if err != nil {
		t.Fatal(err)
	}
	return crypto.PubkeyToAddress(*pub)
}
