package bench

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/mpcsigner/mpcsigner/chains/eth2"
	"github.com/mpcsigner/mpcsigner/host/api"
)

// The hand-written SSZ reproduces the signing root of Web3Signer's own OpenAPI example of an
// ATTESTATION request (chains/eth2/testdata/openapi/attestation.json, from Web3Signer's
// specification).
func TestAttestationSigningRootVector(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "chains", "eth2", "testdata", "openapi", "attestation.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ex w3sAttestationRequest
	if err := json.Unmarshal(raw, &ex); err != nil {
		t.Fatal(err)
	}
	u := func(s string) uint64 {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	h32 := func(s string) [32]byte { return mustHex32(strings.TrimPrefix(s, "0x")) }
	a := attestation{
		slot: u(ex.Attestation.Slot), index: u(ex.Attestation.Index), beaconBlockRoot: h32(ex.Attestation.BeaconBlockRoot),
		sourceEpoch: u(ex.Attestation.Source.Epoch), sourceRoot: h32(ex.Attestation.Source.Root),
		targetEpoch: u(ex.Attestation.Target.Epoch), targetRoot: h32(ex.Attestation.Target.Root),
	}
	version, _ := hex.DecodeString(strings.TrimPrefix(ex.ForkInfo.Fork.Current, "0x"))
	root := a.signingRoot([4]byte(version), h32(ex.ForkInfo.GVR))
	if got := "0x" + hex.EncodeToString(root[:]); got != ex.SigningRoot {
		t.Fatalf("signing root %s, Web3Signer's example says %s", got, ex.SigningRoot)
	}
}

// The requests the driver sends pass the server's own strict parser (chains/eth2, built on
// go-eth2-client's SSZ), which recomputes the root and refuses one that differs.
func TestAttestationRequestsParse(t *testing.T) {
	net, err := eth2.LookupNetwork("mainnet")
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []uint64{1, 2, 1 << 40, MaxEth2StartEpoch + 5} {
		a := attestation{slot: target * SlotsPerEpoch, index: 3, sourceEpoch: target - 1, targetEpoch: target}
		copy(a.beaconBlockRoot[:], random32())
		copy(a.sourceRoot[:], random32())
		a.targetRoot = a.beaconBlockRoot
		root := a.signingRoot(eth2ForkVersion, eth2GVR)
		body, err := json.Marshal(a.request(root))
		if err != nil {
			t.Fatal(err)
		}
		req, err := eth2.ParseRequest(body)
		if err != nil {
			t.Fatalf("epoch %d: the server's parser refuses %s: %v", target, body, err)
		}
		got, err := req.SigningRoot(net)
		if err != nil || got != root {
			t.Fatalf("epoch %d: server root %x (%v), ours %x", target, got, err, root)
		}
	}
}

// fakeWeb3Signer signs attestations with gnark-crypto keys and applies the one slashing rule
// the driver must respect: each key's target epoch strictly increases, in arrival order.
type fakeWeb3Signer struct {
	mu      sync.Mutex
	secrets map[string]*big.Int // by 0x-prefixed public key
	last    map[string]uint64
}

func newFakeWeb3Signer(t *testing.T, n int) (*fakeWeb3Signer, []api.Key) {
	f := &fakeWeb3Signer{secrets: map[string]*big.Int{}, last: map[string]uint64{}}
	var keys []api.Key
	_, _, g1, _ := bls.Generators()
	for i := range n {
		var sk fr.Element
		if _, err := sk.SetRandom(); err != nil {
			t.Fatal(err)
		}
		x := sk.BigInt(new(big.Int))
		var pk bls.G1Affine
		pk.ScalarMultiplication(&g1, x)
		pub := pk.Bytes()
		f.secrets["0x"+hex.EncodeToString(pub[:])] = x
		keys = append(keys, api.Key{ID: fmt.Sprintf("k%d", i), Scheme: SchemeBLS, PublicKey: hex.EncodeToString(pub[:])})
	}
	return f, keys
}

func (f *fakeWeb3Signer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pub := strings.TrimPrefix(r.URL.Path, "/api/v1/eth2/sign/")
	var req w3sAttestationRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Type != "ATTESTATION" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	target, _ := strconv.ParseUint(req.Attestation.Target.Epoch, 10, 64)
	source, _ := strconv.ParseUint(req.Attestation.Source.Epoch, 10, 64)
	f.mu.Lock()
	sk, ok := f.secrets[pub]
	prev := f.last[pub]
	if ok && target > prev && source < target {
		f.last[pub] = target
	}
	f.mu.Unlock()
	switch {
	case !ok:
		http.Error(w, "unknown key", http.StatusNotFound)
		return
	case target <= prev || source >= target:
		http.Error(w, "slashable", http.StatusPreconditionFailed)
		return
	}
	root, _ := hex.DecodeString(strings.TrimPrefix(req.SigningRoot, "0x"))
	h, _ := bls.HashToG2(root, blsDST)
	var sig bls.G2Affine
	sig.ScalarMultiplication(&h, sk)
	b := sig.Bytes()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"signature":"0x%x"}`, b[:])
}

// Every worker owns its keys, so at any concurrency no key has two requests in flight and no
// attestation is refused; every signature verifies.
func TestEth2DriverOneRequestPerKey(t *testing.T) {
	f, keys := newFakeWeb3Signer(t, 8)
	srv := httptest.NewServer(f)
	defer srv.Close()
	d, err := NewEth2(srv.URL, NewHTTPClient(8, 0), keys, 1000)
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Plan: Plan{Concurrency: []int{1, 3, 8}, Requests: 48, VerifySample: 1}}
	steps, err := r.Run(context.Background(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if res := s.Result; res.Signatures != 48 || res.Verified != 48 || res.Errors != nil {
			t.Errorf("c=%d: %+v", s.Concurrency, res)
		}
	}
	if _, err := d.NewWorker(context.Background(), 0, 9); err == nil {
		t.Error("9 workers over 8 keys were allowed")
	}
}

// A refusal is counted under its HTTP status, and a later run starting at a lower epoch is
// refused exactly as slashing protection would: the start epoch matters.
func TestEth2DriverRefusals(t *testing.T) {
	f, keys := newFakeWeb3Signer(t, 1)
	srv := httptest.NewServer(f)
	defer srv.Close()
	ahead, _ := NewEth2(srv.URL, NewHTTPClient(1, 0), keys, 500)
	behind, _ := NewEth2(srv.URL, NewHTTPClient(1, 0), keys, 10)
	r := &Runner{Plan: Plan{Concurrency: []int{1}, Requests: 5, VerifySample: 1}}
	if _, err := r.Run(context.Background(), ahead, nil); err != nil {
		t.Fatal(err)
	}
	steps, err := r.Run(context.Background(), behind, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res := steps[0].Result; res.Errors["http 412"] != 5 || !strings.Contains(res.FirstErrors["http 412"], "slashable") {
		t.Fatalf("%+v", res)
	}
	if _, err := NewEth2(srv.URL, nil, keys, 0); err == nil {
		t.Error("start epoch 0 accepted")
	}
	if _, err := NewEth2(srv.URL, nil, []api.Key{{ID: "x", Scheme: SchemeEd25519, PublicKey: strings.Repeat("00", 32)}}, 1); err == nil {
		t.Error("an Ed25519 key accepted for eth2")
	}
}

func TestDecodeEth2Signature(t *testing.T) {
	sig := "0x" + strings.Repeat("ab", 96)
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"good", `{"signature":"` + sig + `"}`, true},
		{"no 0x", `{"signature":"` + sig[2:] + `"}`, false},
		{"short", `{"signature":"` + sig[:len(sig)-2] + `"}`, false},
		{"unknown field", `{"signature":"` + sig + `","x":1}`, false},
		{"trailing data", `{"signature":"` + sig + `"} {}`, false},
		{"not JSON", sig, false},
		{"huge", `{"signature":"` + strings.Repeat("a", maxAnswerBytes) + `"}`, false},
	} {
		_, err := decodeEth2Signature(strings.NewReader(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v does not wrap ErrInvalid", tc.name, err)
		}
	}
}

func FuzzDecodeEth2Signature(f *testing.F) {
	f.Add([]byte(`{"signature":"0x` + strings.Repeat("ab", 96) + `"}`))
	f.Add([]byte(`{"signature":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		sig, err := decodeEth2Signature(strings.NewReader(string(b)))
		if err == nil && len(sig) != 96 {
			t.Fatalf("accepted a %d-byte signature", len(sig))
		}
	})
}
