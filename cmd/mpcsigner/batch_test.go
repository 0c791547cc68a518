package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/bench"
	"github.com/mpcsigner/mpcsigner/host/api"
)

// Concurrent FROST signings through one host share sessions (batching), and every caller gets
// a signature over its own digest: crypto/ed25519 and btcec check each against the digest its
// caller sent, and no two callers get the same signature. Concurrent eth2 requests share
// enclave calls the same way.
func TestBatchedSigningEndToEnd(t *testing.T) {
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"), "--presign-pool", strconv.Itoa(pooledCallers))
	client, err := api.NewClient(api.ClientOptions{URL: d.info.API, TokenFile: d.info.TokenFile})
	if err != nil {
		t.Fatal(err)
	}
	const callers = 48
	for _, scheme := range []string{"ed25519", "bip340"} {
		var key api.Key
		d.cliJSON(t, &key, "key", "create", "--scheme", scheme, "--label", "batched-"+scheme)
		pub, _ := hex.DecodeString(key.PublicKey)
		verify := func(msg, sig []byte) bool {
			if scheme == "ed25519" {
				return ed25519.Verify(pub, msg, sig)
			}
			pk, err := schnorr.ParsePubKey(pub)
			s, err2 := schnorr.ParseSignature(sig)
			return err == nil && err2 == nil && s.Verify(msg, pk)
		}
		var mu sync.Mutex
		seen := map[string]bool{}
		var wg sync.WaitGroup
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				digest := randomHex32()
				resp, err := client.Sign(context.Background(), key.ID, api.SignRequest{Digest: digest})
				if err != nil {
					t.Errorf("%s: signing: %v", scheme, err)
					return
				}
				msg, _ := hex.DecodeString(digest)
				sig, _ := hex.DecodeString(resp.Signature)
				if !verify(msg, sig) {
					t.Errorf("%s: the signature a caller got does not verify over its own digest %s", scheme, digest)
				}
				mu.Lock()
				defer mu.Unlock()
				if seen[resp.Signature] {
					t.Errorf("%s: two callers got the same signature", scheme)
				}
				seen[resp.Signature] = true
			}()
		}
		wg.Wait()
	}
	// eth2: concurrent ATTESTATIONs through the Web3Signer API, one validator key each; the bench
	// tool checks every combined signature with gnark-crypto, and host 1 asks each enclave for
	// several partials per call.
	stdout, stderr, code := d.cli(t, "bench", "--door", "eth2", "--concurrency", "16", "--requests", "96", "--warmup", "0", "--json")
	if code != 0 {
		t.Fatalf("eth2 bench: exit %d\n%s\n%s", code, stderr, stdout)
	}
	var report bench.Report
	if err := json.Unmarshal([]byte(stdout), &report); err != nil || len(report.Steps) != 1 || report.Steps[0].Result.Verified != 96 || len(report.Steps[0].Result.Errors) != 0 {
		t.Fatalf("eth2 bench report %v: %s", err, stdout)
	}
	calls := metricValue(t, d, 1, "mpcsigner_eth2_batch_size_count")
	partials := metricValue(t, d, 1, "mpcsigner_eth2_batch_size_sum")
	if partials < 2*96 || calls >= partials {
		t.Fatalf("%v partial signatures in %v calls: want at least %d sharing fewer calls", partials, calls, 2*96)
	}
	t.Logf("eth2: %v partial signatures in %v enclave calls", partials, calls)

	sessions := metricValue(t, d, 1, "mpcsigner_sign_batch_size_count")
	signings := metricValue(t, d, 1, "mpcsigner_sign_batch_size_sum")
	if signings != 2*callers || sessions >= signings {
		t.Fatalf("%v signings in %v sessions: want %d signings sharing fewer sessions", signings, sessions, 2*callers)
	}
	t.Logf("%v signings in %v sessions", signings, sessions)

	batchedPooledECDSA(t, d, client, sessions, signings)
}

// pooledCallers is how many concurrent ECDSA signings batchedPooledECDSA makes from a full
// pool of as many presignatures.
const pooledCallers = 12

// batchedPooledECDSA: concurrent ECDSA signings that each claim a pooled presignature share
// sessions too (only their online rounds run, in lockstep), and each caller gets a signature
// over its own digest, which go-ethereum checks and recovers to the key. sessions and signings
// are the batch metrics before.
func batchedPooledECDSA(t *testing.T, d *devnetProc, client *api.Client, sessions, signings float64) {
	var key api.Key
	d.cliJSON(t, &key, "key", "create", "--scheme", "ecdsa-secp256k1", "--label", "batched-ecdsa")
	signAndVerify(t, d, key, []uint16{1, 2}) // registers the key's pool (a miss)
	waitFor(t, "host 1's pool to fill", 5*time.Minute, func() bool { return metricValue(t, d, 1, poolDepth) == pooledCallers })
	hits := max(0, metricValue(t, d, 1, poolHits)) // -1: no hit yet, so no such series
	pub, _ := hex.DecodeString(key.PublicKey)
	var wg sync.WaitGroup
	for range pooledCallers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			digest := randomHex32()
			resp, err := client.Sign(context.Background(), key.ID, api.SignRequest{Digest: digest, Parties: []uint16{1, 2}})
			if err != nil {
				t.Errorf("ecdsa: signing: %v", err)
				return
			}
			msg, _ := hex.DecodeString(digest)
			sig, _ := hex.DecodeString(resp.Signature)
			if len(sig) != 64 || resp.RecoveryID == nil || !crypto.VerifySignature(pub, msg, sig) {
				t.Errorf("ecdsa: go-ethereum rejects the signature a caller got over its own digest %s", digest)
				return
			}
			if rec, err := crypto.SigToPub(msg, append(sig, byte(*resp.RecoveryID))); err != nil || hex.EncodeToString(crypto.CompressPubkey(rec)) != key.PublicKey {
				t.Errorf("ecdsa: recovery id %d does not recover the key (%v)", *resp.RecoveryID, err)
			}
		}()
	}
	wg.Wait()
	if h := metricValue(t, d, 1, poolHits) - hits; h != pooledCallers {
		t.Fatalf("%d concurrent signings from a full pool of %d counted %v hits", pooledCallers, pooledCallers, h)
	}
	pooledSessions := metricValue(t, d, 1, "mpcsigner_sign_batch_size_count") - sessions
	pooledSignings := metricValue(t, d, 1, "mpcsigner_sign_batch_size_sum") - signings
	if pooledSignings != pooledCallers || pooledSessions >= pooledSignings {
		t.Fatalf("%v pooled signings in %v sessions: want %d sharing fewer sessions", pooledSignings, pooledSessions, pooledCallers)
	}
	t.Logf("ecdsa: %v pooled signings in %v sessions", pooledSignings, pooledSessions)
}
