package bench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// fakeHost serves the parts of the native API the bench tool uses, with Ed25519 keys.
type fakeHost struct {
	mu      sync.Mutex
	keys    []api.Key
	secrets map[string]ed25519.PrivateKey
	created int
	failing bool // answer every signing with 503 no_quorum
}

func (h *fakeHost) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.PathKeys, func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		json.NewEncoder(w).Encode(api.KeyList{Keys: h.keys})
	})
	mux.HandleFunc("POST "+api.PathKeys, func(w http.ResponseWriter, r *http.Request) {
		var req api.CreateKeyRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		pub, sk, _ := ed25519.GenerateKey(nil)
		h.mu.Lock()
		defer h.mu.Unlock()
		k := api.Key{ID: "id-" + req.Label, Label: req.Label, Scheme: req.Scheme, PublicKey: hex.EncodeToString(pub)}
		h.keys = append(h.keys, k)
		h.secrets[k.ID] = sk
		h.created++
		json.NewEncoder(w).Encode(k)
	})
	mux.HandleFunc("POST "+api.PathSign, func(w http.ResponseWriter, r *http.Request) {
		var req api.SignRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		h.mu.Lock()
		sk, failing := h.secrets[r.PathValue("key")], h.failing
		h.mu.Unlock()
		if failing {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"code":"no_quorum","message":"1 of 2 parties reachable"}`))
			return
		}
		msg, _ := hex.DecodeString(req.Digest)
		json.NewEncoder(w).Encode(api.SignResponse{KeyID: r.PathValue("key"), Signature: hex.EncodeToString(ed25519.Sign(sk, msg))})
	})
	return mux
}

func newFakeHost(t *testing.T) (*fakeHost, *api.Client) {
	h := &fakeHost{secrets: map[string]ed25519.PrivateKey{}}
	srv := httptest.NewServer(h.routes())
	t.Cleanup(srv.Close)
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte("t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := api.NewClient(api.ClientOptions{URL: srv.URL, TokenFile: tok})
	if err != nil {
		t.Fatal(err)
	}
	return h, c
}

// Bench keys are created once and found again by label on the next run; a label taken by a
// key of another scheme is an error.
func TestEnsureKeys(t *testing.T) {
	h, c := newFakeHost(t)
	var log bytes.Buffer
	keys, err := EnsureKeys(context.Background(), c, SchemeEd25519, 2, &log)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Label != "bench-ed25519-0" || keys[1].Label != "bench-ed25519-1" || h.created != 2 {
		t.Fatalf("keys %+v, %d created", keys, h.created)
	}
	if !strings.Contains(log.String(), "creating key bench-ed25519-1") {
		t.Errorf("log: %q", log.String())
	}
	again, err := EnsureKeys(context.Background(), c, SchemeEd25519, 3, &log)
	if err != nil {
		t.Fatal(err)
	}
	if h.created != 3 || again[0].ID != keys[0].ID || again[1].ID != keys[1].ID {
		t.Fatalf("existing keys were not reused: %d created, %+v", h.created, again)
	}
	h.mu.Lock()
	h.keys = append(h.keys, api.Key{ID: "x", Label: KeyLabel(SchemeBIP340, 0), Scheme: SchemeEd25519})
	h.mu.Unlock()
	if _, err := EnsureKeys(context.Background(), c, SchemeBIP340, 1, &log); err == nil || !strings.Contains(err.Error(), "exists with scheme") {
		t.Fatalf("a label of another scheme: %v", err)
	}
	if _, err := EnsureKeys(context.Background(), c, SchemeEd25519, 0, &log); err == nil {
		t.Fatal("zero keys accepted")
	}
}

func TestNativeDriver(t *testing.T) {
	h, c := newFakeHost(t)
	KeepConnections(c.HTTP, 4)
	keys, err := EnsureKeys(context.Background(), c, SchemeEd25519, 2, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewNative(c, SchemeEd25519, keys)
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Plan: Plan{Concurrency: []int{4}, Requests: 40, VerifySample: 1}}
	steps, err := r.Run(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res := steps[0].Result; res.Signatures != 40 || res.Verified != 40 || res.Errors != nil {
		t.Fatalf("%+v", res)
	}
	h.mu.Lock()
	h.failing = true
	h.mu.Unlock()
	steps, err = r.Run(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res := steps[0].Result; res.Errors["http 503 no_quorum"] != 40 {
		t.Fatalf("%+v", res)
	}
	if _, err := NewNative(c, SchemeBIP340, keys); err == nil {
		t.Fatal("Ed25519 keys accepted as BIP340 keys")
	}
}
