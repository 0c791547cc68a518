package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	becdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/mpcsigner/mpcsigner/host/api"
)

// fakeHost is an in-process stand-in for a host's native API with real single-key signers,
// so signatures verify.
type fakeHost struct {
	srv       *httptest.Server
	token     string
	signCalls atomic.Int64
	listCalls atomic.Int64
	down      atomic.Bool // answer 503 quorum_unavailable
	tamper    atomic.Bool // return signatures with one bit flipped
	// random is every byte /v1/random served, in order; shortRandom makes it serve one byte
	// less than asked.
	random      bytes.Buffer
	randomCalls atomic.Int64
	shortRandom atomic.Bool
	// dropPKCS11ID makes key creation forget the application id it was asked to store.
	dropPKCS11ID atomic.Bool
	// deleteQuorumLost makes deletions answer 503; staleAfterDelete makes a deleted key stay
	// in the list, as from a party that missed the deletion.
	deleteQuorumLost atomic.Bool
	staleAfterDelete atomic.Bool
	deleteCalls      atomic.Int64

	mu   sync.Mutex
	keys []fakeKey
}

type fakeKey struct {
	api.Key
	k1   *btcec.PrivateKey
	p256 *ecdsa.PrivateKey
	ed   ed25519.PrivateKey
}

func newFakeHost(t testing.TB) *fakeHost {
	f := &fakeHost{token: "s3cret-token"}
	f.add("k1", "btc-hot", "ecdsa-secp256k1")
	f.add("p1", "legacy", "ecdsa-p256")
	f.add("e1", "sol-hot", "ed25519")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/keys", f.list)
	mux.HandleFunc("POST /v1/keys", f.create)
	mux.HandleFunc("GET /v1/keys/{key}", f.get)
	mux.HandleFunc("POST /v1/keys/{key}/sign", f.sign)
	mux.HandleFunc("POST /v1/random", f.serveRandom)
	mux.HandleFunc("DELETE /v1/keys/{key}", f.deleteKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewUnstartedServer(f.auth(mux))
	f.srv.Listener.Close()
	f.srv.Listener = ln
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeHost) add(id, label, scheme string) fakeKey {
	k := fakeKey{Key: api.Key{ID: id, Label: label, Scheme: scheme, Threshold: 1, Parties: []uint16{1, 2, 3}}}
	switch scheme {
	case "ecdsa-secp256k1":
		k.k1, _ = btcec.NewPrivateKey()
		k.PublicKey = hex.EncodeToString(k.k1.PubKey().SerializeCompressed())
	case "ecdsa-p256":
		k.p256, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		k.PublicKey = hex.EncodeToString(elliptic.MarshalCompressed(elliptic.P256(), k.p256.X, k.p256.Y))
	case "ed25519":
		_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
		k.PublicKey = hex.EncodeToString(k.ed.Public().(ed25519.PublicKey))
	}
	return f.addKey(k)
}

// addEd25519 adds an Ed25519 key made from a given seed (an RFC 8032 test key, say).
func (f *fakeHost) addEd25519(id, label string, seed []byte) fakeKey {
	k := fakeKey{Key: api.Key{ID: id, Label: label, Scheme: "ed25519", Threshold: 1, Parties: []uint16{1, 2, 3}}}
	k.ed = ed25519.NewKeyFromSeed(seed)
	k.PublicKey = hex.EncodeToString(k.ed.Public().(ed25519.PublicKey))
	return f.addKey(k)
}

func (f *fakeHost) addKey(k fakeKey) fakeKey {
	f.mu.Lock()
	f.keys = append(f.keys, k)
	f.mu.Unlock()
	return k
}

// setPKCS11ID records a key's application id, as the enclaves do at generation.
func (f *fakeHost) setPKCS11ID(id, pkcs11ID string) fakeKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.keys {
		if f.keys[i].ID == id {
			f.keys[i].PKCS11ID = pkcs11ID
			return f.keys[i]
		}
	}
	return fakeKey{}
}

func (f *fakeHost) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+f.token {
			writeErr(w, 401, "unauthorized")
			return
		}
		if f.down.Load() {
			writeErr(w, 503, "quorum_unavailable")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func writeErr(w http.ResponseWriter, status int, code string) {
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(api.Error{Code: code, Message: code})
}

func (f *fakeHost) find(key string) (fakeKey, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.keys {
		if k.ID == key || k.Label == key {
			return k, true
		}
	}
	return fakeKey{}, false
}

func (f *fakeHost) list(w http.ResponseWriter, r *http.Request) {
	f.listCalls.Add(1)
	f.mu.Lock()
	var out api.KeyList
	for _, k := range f.keys {
		out.Keys = append(out.Keys, k.Key)
	}
	f.mu.Unlock()
	json.NewEncoder(w).Encode(out)
}

func (f *fakeHost) get(w http.ResponseWriter, r *http.Request) {
	k, ok := f.find(r.PathValue("key"))
	if !ok {
		writeErr(w, 404, "not_found")
		return
	}
	json.NewEncoder(w).Encode(k.Key)
}

func (f *fakeHost) create(w http.ResponseWriter, r *http.Request) {
	var req api.CreateKeyRequest
	if json.NewDecoder(r.Body).Decode(&req) != nil {
		writeErr(w, 400, "bad_request")
		return
	}
	f.mu.Lock()
	for _, k := range f.keys {
		if k.Label == req.Label || (req.PKCS11ID != "" && k.PKCS11ID == req.PKCS11ID) {
			f.mu.Unlock()
			writeErr(w, 409, "conflict")
			return
		}
	}
	id := fmt.Sprintf("gen%d", len(f.keys))
	f.mu.Unlock()
	k := f.add(id, req.Label, req.Scheme)
	if !f.dropPKCS11ID.Load() {
		k = f.setPKCS11ID(id, req.PKCS11ID)
	}
	json.NewEncoder(w).Encode(k.Key)
}

func (f *fakeHost) sign(w http.ResponseWriter, r *http.Request) {
	f.signCalls.Add(1)
	k, ok := f.find(r.PathValue("key"))
	if !ok {
		writeErr(w, 404, "not_found")
		return
	}
	var req api.SignRequest
	if json.NewDecoder(r.Body).Decode(&req) != nil {
		writeErr(w, 400, "bad_request")
		return
	}
	sig, status, code := k.signature(req)
	if status != 0 {
		writeErr(w, status, code)
		return
	}
	if f.tamper.Load() {
		sig[10] ^= 1
	}
	json.NewEncoder(w).Encode(api.SignResponse{KeyID: k.ID, Signature: hex.EncodeToString(sig)})
}

// deleteKey deletes a key as the host does, answering which parties hold no share.
func (f *fakeHost) deleteKey(w http.ResponseWriter, r *http.Request) {
	f.deleteCalls.Add(1)
	if f.deleteQuorumLost.Load() {
		writeErr(w, 503, "quorum_unavailable")
		return
	}
	k, ok := f.find(r.PathValue("key"))
	if !ok {
		writeErr(w, 404, "not_found")
		return
	}
	if !f.staleAfterDelete.Load() {
		f.mu.Lock()
		f.keys = slices.DeleteFunc(f.keys, func(x fakeKey) bool { return x.ID == k.ID })
		f.mu.Unlock()
	}
	json.NewEncoder(w).Encode(api.KeyDeleted{KeyID: k.ID, Deleted: []uint16{1, 2, 3}})
}

// serveRandom answers as the host does, from crypto/rand, and records what it served.
func (f *fakeHost) serveRandom(w http.ResponseWriter, r *http.Request) {
	f.randomCalls.Add(1)
	var req api.RandomRequest
	if json.NewDecoder(r.Body).Decode(&req) != nil || req.Bytes < 1 || req.Bytes > api.MaxRandomBytes {
		writeErr(w, 400, "bad_request")
		return
	}
	b := make([]byte, req.Bytes)
	_, _ = rand.Read(b)
	if f.shortRandom.Load() {
		b = b[1:]
	}
	f.mu.Lock()
	f.random.Write(b)
	f.mu.Unlock()
	json.NewEncoder(w).Encode(api.RandomResponse{Random: hex.EncodeToString(b)})
}

// signature signs a request as the host does: ECDSA keys a 32-byte digest, Ed25519 keys a
// whole message (up to api.MaxMessageBytes; an empty one is indistinguishable from none). It
// returns an HTTP status and error code instead when the host would refuse.
func (k fakeKey) signature(req api.SignRequest) ([]byte, int, string) {
	if k.ed != nil {
		msg, err := hex.DecodeString(req.Message)
		if err != nil || len(msg) == 0 || len(msg) > api.MaxMessageBytes || req.Digest != "" {
			return nil, 400, "bad_message"
		}
		return ed25519.Sign(k.ed, msg), 0, ""
	}
	d, err := hex.DecodeString(req.Digest)
	if err != nil || len(d) != 32 || req.Message != "" {
		return nil, 400, "bad_digest"
	}
	if k.k1 != nil {
		compact := becdsa.SignCompact(k.k1, d, false) // recovery byte || r || s, low-S
		return compact[1:], 0, ""
	}
	rr, ss, _ := ecdsa.Sign(rand.Reader, k.p256, d)
	sig := make([]byte, 64)
	rr.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return sig, 0, ""
}

// writeConfig writes a token file and a configuration for the fake host.
func (f *fakeHost) writeConfig(t testing.TB, extra ...string) string {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte(f.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "pkcs11.yaml")
	body := fmt.Sprintf("api: %s\ntoken_file: %s\ntimeout: 5s\n", f.srv.URL, tok)
	for _, line := range extra {
		body += line + "\n"
	}
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf
}
