package eth1

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/google/go-cmp/cmp"
)

func TestNewChecksConfig(t *testing.T) {
	b := newMemBackend(t, 1)
	for name, cfg := range map[string]Config{
		"no chain id":       {},
		"zero chain id":     {ChainID: big.NewInt(0)},
		"downstream no url": {ChainID: testChainID, Downstream: "localhost:8545"},
		"downstream scheme": {ChainID: testChainID, Downstream: "ftp://node:21"},
	} {
		if _, err := New(b, cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
	if _, err := New(nil, Config{ChainID: testChainID}); err == nil {
		t.Error("New accepted a nil backend")
	}
}

// webIdentifier is Web3Signer's identifier of a key: 0x and the 64-byte uncompressed public key.
func webIdentifier(b *memBackend, i int) string {
	return hexutil.Encode(crypto.FromECDSAPub(&b.keys[i].PublicKey)[1:])
}

func TestRESTPublicKeys(t *testing.T) {
	b := newMemBackend(t, 3)
	s := newTestServer(t, b, "")
	r := httptest.NewRequest(http.MethodGet, PathPublicKeys, nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("HTTP %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	var got []string
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := range b.keys {
		want[webIdentifier(b, i)] = true
	}
	if len(got) != 3 {
		t.Fatalf("got %d keys, want 3: %v", len(got), got)
	}
	for _, id := range got {
		if !want[id] || len(id) != 2+128 || id != strings.ToLower(id) {
			t.Errorf("identifier %s is not one of the keys' 64-byte lower-case forms", id)
		}
	}
}

func restSign(t *testing.T, h http.Handler, id, body string) (int, string, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/v1/eth1/sign/"+id, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	out, _ := io.ReadAll(w.Result().Body)
	return w.Code, w.Header().Get("Content-Type"), string(out)
}

func TestRESTSign(t *testing.T) {
	b := newMemBackend(t, 2)
	s := newTestServer(t, b, "")
	data := []byte("Hello, world!") // the OpenAPI example: 0x48656c6c6f2c20776f726c6421
	id := webIdentifier(b, 1)
	compressed := hexutil.Encode(crypto.CompressPubkey(&b.keys[1].PublicKey))
	uncompressed := hexutil.Encode(crypto.FromECDSAPub(&b.keys[1].PublicKey))
	for name, ident := range map[string]string{
		"web3signer form":       id,
		"without 0x":            id[2:],
		"upper case":            "0x" + strings.ToUpper(id[2:]),
		"65-byte 0x04 form":     uncompressed,
		"33-byte compressed":    compressed,
		"compressed without 0x": compressed[2:],
	} {
		t.Run(name, func(t *testing.T) {
			code, ctype, body := restSign(t, s, ident, `{"data":"0x48656c6c6f2c20776f726c6421"}`)
			if code != http.StatusOK {
				t.Fatalf("HTTP %d: %s", code, body)
			}
			if ctype != "text/plain; charset=utf-8" {
				t.Errorf("content type %q", ctype)
			}
			sig, err := hexutil.Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			// Web3Signer signs keccak256(data) and answers r||s||v with v 27/28.
			if got := recoverAddr(t, crypto.Keccak256(data), sig, 27); got != b.addr(1) {
				t.Fatalf("signature recovers to %s, want %s", got, b.addr(1))
			}
		})
	}
	t.Run("data without 0x and extra string members", func(t *testing.T) {
		code, _, body := restSign(t, s, id, `{"data":"`+hex.EncodeToString(data)+`","type":"whatever"}`)
		if code != http.StatusOK {
			t.Fatalf("HTTP %d: %s", code, body)
		}
		sig, _ := hexutil.Decode(body)
		if got := recoverAddr(t, crypto.Keccak256(data), sig, 27); got != b.addr(1) {
			t.Fatalf("signature recovers to %s", got)
		}
	})
}

func TestRESTSignErrors(t *testing.T) {
	b := newMemBackend(t, 1)
	s := newTestServer(t, b, "")
	other := newMemBackend(t, 1)
	id := webIdentifier(b, 0)
	for _, tc := range []struct {
		name, id, body string
		want           int
	}{
		{"unknown key", webIdentifier(other, 0), `{"data":"0x01"}`, http.StatusNotFound},
		{"unknown compressed key", hexutil.Encode(crypto.CompressPubkey(&other.keys[0].PublicKey)), `{"data":"0x01"}`, http.StatusNotFound},
		{"identifier not hex", "0xnothex", `{"data":"0x01"}`, http.StatusNotFound},
		{"identifier an address", b.addr(0).Hex(), `{"data":"0x01"}`, http.StatusNotFound},
		{"no data", id, `{}`, http.StatusBadRequest},
		{"empty data", id, `{"data":""}`, http.StatusBadRequest},
		{"blank data", id, `{"data":"   "}`, http.StatusBadRequest},
		{"bad hex", id, `{"data":"0xzz"}`, http.StatusBadRequest},
		{"odd hex", id, `{"data":"0x123"}`, http.StatusBadRequest},
		{"data a number", id, `{"data":12}`, http.StatusBadRequest},
		{"data twice", id, `{"data":"0x01","data":"0x02"}`, http.StatusBadRequest},
		{"not json", id, `data=0x01`, http.StatusBadRequest},
		{"an array", id, `["0x01"]`, http.StatusBadRequest},
		{"trailing data", id, `{"data":"0x01"} {}`, http.StatusBadRequest},
		{"oversized", id, `{"data":"0x` + strings.Repeat("00", MaxBodyBytes/2) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := restSign(t, s, tc.id, tc.body)
			if code != tc.want {
				t.Fatalf("HTTP %d (%s), want %d", code, body, tc.want)
			}
		})
	}
	if n := b.signCount(); n != 0 {
		t.Errorf("the backend signed %d times for refused requests", n)
	}

	b.signErr = errors.New("party 2 unreachable: " + ErrUnavailable.Error())
	if code, _, _ := restSign(t, s, id, `{"data":"0x01"}`); code != http.StatusInternalServerError {
		t.Errorf("unclassified backend failure: HTTP %d, want 500", code)
	}
	b.signErr = ErrUnavailable
	if code, _, _ := restSign(t, s, id, `{"data":"0x01"}`); code != http.StatusServiceUnavailable {
		t.Errorf("unavailable backend: HTTP %d, want 503", code)
	}
}

// A backend that signs with another key must not get its signature through.
func TestRESTRefusesWrongKeySignature(t *testing.T) {
	b := newMemBackend(t, 1)
	b.impostor = newMemBackend(t, 1).keys[0]
	s := newTestServer(t, b, "")
	code, _, body := restSign(t, s, webIdentifier(b, 0), `{"data":"0x01"}`)
	if code == http.StatusOK {
		t.Fatalf("a signature by another key was released: %s", body)
	}
}

func TestRESTRoutes(t *testing.T) {
	s := newTestServer(t, newMemBackend(t, 1), "")
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/api/v1/eth1/sign/0x00", http.StatusMethodNotAllowed},
		{http.MethodPost, PathPublicKeys, http.StatusMethodNotAllowed},
		{http.MethodGet, "/", http.StatusMethodNotAllowed},
		{http.MethodPost, "/other", http.StatusNotFound},
	} {
		r := httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}"))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s %s: HTTP %d, want %d", tc.method, tc.path, w.Code, tc.want)
		}
	}
}

func TestStatusMapping(t *testing.T) {
	got := map[string]int{}
	for name, err := range map[string]error{
		"bad request": ErrBadRequest, "unknown": ErrUnknownAccount, "unavailable": ErrUnavailable,
		"too large": errTooLarge, "other": errors.New("boom"),
	} {
		got[name] = status(err)
	}
	want := map[string]int{"bad request": 400, "unknown": 404, "unavailable": 503, "too large": 413, "other": 500}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}
