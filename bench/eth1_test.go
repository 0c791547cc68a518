package bench

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	btcecdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/ethereum/go-ethereum/accounts"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// The EIP-191 digest and the address agree with go-ethereum's.
func TestEth1DigestAndAddress(t *testing.T) {
	for _, msg := range [][]byte{nil, []byte("hello"), random32()} {
		if got, want := hex.EncodeToString(personalDigest(msg)), hex.EncodeToString(accounts.TextHash(msg)); got != want {
			t.Errorf("digest of %x: %s, go-ethereum says %s", msg, got, want)
		}
	}
	k, _ := btcec.NewPrivateKey()
	addr, err := ethereumAddress(k.PubKey().SerializeCompressed())
	if err != nil {
		t.Fatal(err)
	}
	gk, err := ethcrypto.ToECDSA(k.Serialize())
	if err != nil {
		t.Fatal(err)
	}
	want := ethcrypto.PubkeyToAddress(gk.PublicKey)
	if addr != strings.ToLower(want.Hex()) {
		t.Errorf("address %s, go-ethereum says %s", addr, want.Hex())
	}
}

// fakeEth1 answers eth_sign for its keys with btcec, or with the error given.
func fakeEth1(t *testing.T, keys map[string]*btcec.PrivateKey, rpcErr string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params []string        `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Method != "eth_sign" || len(req.Params) != 2 {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if rpcErr != "" {
			w.Write([]byte(`{"jsonrpc":"2.0","id":` + string(req.ID) + `,"error":` + rpcErr + `}`))
			return
		}
		msg, _ := hex.DecodeString(strings.TrimPrefix(req.Params[1], "0x"))
		compact := btcecdsa.SignCompact(keys[req.Params[0]], accounts.TextHash(msg), false)
		sig := append(compact[1:], compact[0]) // r||s||v with v = 27 + recovery id
		json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": "0x" + hex.EncodeToString(sig)})
	}))
}

func TestEth1Driver(t *testing.T) {
	byAddr := map[string]*btcec.PrivateKey{}
	var keys []api.Key
	for range 3 {
		k, _ := btcec.NewPrivateKey()
		addr, _ := ethereumAddress(k.PubKey().SerializeCompressed())
		byAddr[addr] = k
		keys = append(keys, api.Key{ID: addr, Scheme: SchemeSecp256k1, PublicKey: hex.EncodeToString(k.PubKey().SerializeCompressed())})
	}
	srv := fakeEth1(t, byAddr, "")
	defer srv.Close()
	d, err := NewEth1(srv.URL, NewHTTPClient(4, 0), keys)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := (&Runner{Plan: Plan{Concurrency: []int{4}, Requests: 30, VerifySample: 1}}).Run(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res := steps[0].Result; res.Signatures != 30 || res.Verified != 30 || res.Errors != nil {
		t.Fatalf("%+v", res)
	}

	bad := fakeEth1(t, byAddr, `{"code":-32000,"message":"no quorum"}`)
	defer bad.Close()
	d, _ = NewEth1(bad.URL, NewHTTPClient(1, 0), keys)
	steps, err = (&Runner{Plan: Plan{Concurrency: []int{1}, Requests: 4, VerifySample: 1}}).Run(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res := steps[0].Result; res.Errors["rpc -32000"] != 4 || !strings.Contains(res.FirstErrors["rpc -32000"], "no quorum") {
		t.Fatalf("%+v", res)
	}
}

func TestDecodeRPCSignature(t *testing.T) {
	sig := strings.Repeat("ab", 64)
	for _, tc := range []struct {
		name, body string
		kind       string // "" when accepted
	}{
		{"good", `{"jsonrpc":"2.0","id":1,"result":"0x` + sig + `1b"}`, ""},
		{"v 28", `{"jsonrpc":"2.0","id":1,"result":"0x` + sig + `1c"}`, ""},
		{"v 0", `{"jsonrpc":"2.0","id":1,"result":"0x` + sig + `00"}`, KindBadResponse},
		{"error", `{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad"}}`, "rpc -32602"},
		{"both", `{"jsonrpc":"2.0","id":1,"result":"0x` + sig + `1b","error":{"code":1,"message":""}}`, KindBadResponse},
		{"neither", `{"jsonrpc":"2.0","id":1}`, KindBadResponse},
		{"no version", `{"id":1,"result":"0x` + sig + `1b"}`, KindBadResponse},
		{"short", `{"jsonrpc":"2.0","id":1,"result":"0x` + sig + `"}`, KindBadResponse},
		{"unknown field", `{"jsonrpc":"2.0","id":1,"result":"0x` + sig + `1b","x":0}`, KindBadResponse},
		{"trailing", `{"jsonrpc":"2.0","id":1,"result":"0x` + sig + `1b"}]`, KindBadResponse},
		{"huge", `{"jsonrpc":"2.0","id":"` + strings.Repeat("x", maxAnswerBytes) + `"}`, KindBadResponse},
	} {
		_, err := decodeRPCSignature(strings.NewReader(tc.body))
		if got := kindOf(err); got != tc.kind {
			t.Errorf("%s: kind %q (%v), want %q", tc.name, got, err, tc.kind)
		}
	}
}

func kindOf(err error) string {
	if err == nil {
		return ""
	}
	return Kind(err)
}

func FuzzDecodeRPCSignature(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":"0x` + strings.Repeat("ab", 64) + `1b"}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"x"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		sig, err := decodeRPCSignature(strings.NewReader(string(b)))
		if err == nil && (len(sig) != 65 || sig[64] < 27 || sig[64] > 28) {
			t.Fatalf("accepted %x", sig)
		}
		var ke *KindError
		if err != nil && !errors.Is(err, ErrInvalid) && !errors.As(err, &ke) {
			t.Fatalf("error %v is neither invalid input nor a kind", err)
		}
	})
}
