package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// metricValue reads one sample (the exact series name with its labels) from party's metrics;
// -1 if it is not there.
func metricValue(t testing.TB, d *devnetProc, party int, series string) float64 {
	t.Helper()
	resp, err := http.Get(d.refresh().Parties[party-1].Metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && name == series {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("metric %s has value %q", series, value)
			}
			return v
		}
	}
	return -1
}

const (
	poolDepth  = `mpcsigner_presign_pool_depth{scheme="ecdsa-secp256k1"}`
	poolHits   = `mpcsigner_presign_claims_total{result="hit",scheme="ecdsa-secp256k1"}`
	poolMisses = `mpcsigner_presign_claims_total{result="miss",scheme="ecdsa-secp256k1"}`
)

// ECDSA presignature pools on a devnet: a first signing misses and registers the key's pool;
// the pool fills in the background; the next signings take presignatures (hits), each verified
// with go-ethereum; another signer set misses and runs the full protocol; after an enclave is
// killed and restarted (its parked presignatures die with it) every signing still succeeds.
func TestPresignPoolEndToEnd(t *testing.T) {
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"), "--presign-pool", "3", "--presign-schemes", "ecdsa-secp256k1,ed25519,bip340")
	var key api.Key
	d.cliJSON(t, &key, "key", "create", "--scheme", "ecdsa-secp256k1", "--label", "pooled")

	signAndVerify(t, d, key, []uint16{1, 2})
	if m := metricValue(t, d, 1, poolMisses); m != 1 {
		t.Fatalf("the first signing counted %v misses, want 1", m)
	}
	waitFor(t, "host 1's pool to fill to 3", 5*time.Minute, func() bool { return metricValue(t, d, 1, poolDepth) == 3 })

	for range 3 {
		signAndVerify(t, d, key, []uint16{1, 2})
	}
	if h := metricValue(t, d, 1, poolHits); h != 3 {
		t.Fatalf("3 signings from a full pool of 3 counted %v hits", h)
	}

	misses := metricValue(t, d, 1, poolMisses)
	got := signAndVerify(t, d, key, []uint16{2, 3})
	if !slices.Equal(got.Parties, []uint16{2, 3}) {
		t.Fatalf("signed with %v", got.Parties)
	}
	if m := metricValue(t, d, 1, poolMisses); m != misses+1 {
		t.Fatalf("a signing by another signer set counted %v misses, want %v", m, misses+1)
	}

	waitFor(t, "host 1's pool of signers 1,2 to hold a presignature again", 5*time.Minute, func() bool { return metricValue(t, d, 1, poolDepth) >= 1 })
	old := d.refresh().Parties[1].EnclavePID
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the devnet to restart enclave 2", 60*time.Second, func() bool {
		p := d.refresh().Parties[1].EnclavePID
		return p != old && processAlive(p) && d.allHealthy()
	})
	for range 3 {
		signAndVerify(t, d, key, []uint16{1, 2})
	}

	pooledFROST(t, d, "ed25519")
	pooledFROST(t, d, "bip340")
}

// pooledFROST: a host configured to pool FROST nonce commitments for scheme fills a key's
// pool after its first signing, and the next signings take them (hits): each signature is
// verified with crypto/ed25519 or btcec over what its caller sent, Ed25519 whole messages
// included.
func pooledFROST(t *testing.T, d *devnetProc, scheme string) {
	client, err := api.NewClient(api.ClientOptions{URL: d.info.API, TokenFile: d.info.TokenFile})
	if err != nil {
		t.Fatal(err)
	}
	var key api.Key
	d.cliJSON(t, &key, "key", "create", "--scheme", scheme, "--label", "pooled-"+scheme)
	pub, _ := hex.DecodeString(key.PublicKey)
	sign := func(req api.SignRequest, signed []byte) {
		t.Helper()
		resp, err := client.Sign(context.Background(), key.ID, req)
		if err != nil {
			t.Fatalf("%s: signing: %v", scheme, err)
		}
		sig, _ := hex.DecodeString(resp.Signature)
		ok := false
		if scheme == "ed25519" {
			ok = ed25519.Verify(pub, signed, sig)
		} else if pk, err := schnorr.ParsePubKey(pub); err == nil {
			s, err := schnorr.ParseSignature(sig)
			ok = err == nil && s.Verify(signed, pk)
		}
		if !ok {
			t.Fatalf("%s: the signature does not verify over what was sent", scheme)
		}
	}
	signDigest := func() {
		digest := randomHex32()
		raw, _ := hex.DecodeString(digest)
		sign(api.SignRequest{Digest: digest, Parties: []uint16{1, 2}}, raw)
	}
	hits := `mpcsigner_presign_claims_total{result="hit",scheme="` + scheme + `"}`
	depth := `mpcsigner_presign_pool_depth{scheme="` + scheme + `"}`
	signDigest() // a miss: registers the pool
	waitFor(t, "host 1's "+scheme+" pool to fill to 3", 2*time.Minute, func() bool { return metricValue(t, d, 1, depth) == 3 })
	signDigest()
	if scheme == "ed25519" {
		msg := []byte("a whole message, signed from a pooled nonce commitment")
		sign(api.SignRequest{Message: hex.EncodeToString(msg), Parties: []uint16{1, 2}}, msg)
	} else {
		signDigest()
	}
	if h := metricValue(t, d, 1, hits); h != 2 {
		t.Fatalf("%s: 2 signings from a full pool counted %v hits", scheme, h)
	}
}
