package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/bench"
	"github.com/mpcsigner/mpcsigner/host/api"
)

// Concurrent FROST signings through one host share sessions (batching), and every caller gets
// a signature over its own digest: crypto/ed25519 and btcec check each against the digest its
// caller sent, and no two callers get the same signature. Concurrent eth2 requests share
// enclave calls the same way.
func TestBatchedSigningEndToEnd(t *testing.T) {
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"))
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
}
