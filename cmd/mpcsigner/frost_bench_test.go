package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// BenchmarkDevnetFROST signs random digests with FROST Ed25519 and BIP340 keys through the native
// API on the devnet (two enclaves exchanging two rounds over their Noise channels, relayed by the
// hosts), at several concurrencies. Every signature is verified with crypto/ed25519 or btcec.
//
//	go test -run '^$' -bench DevnetFROST -benchtime 500x ./cmd/mpcsigner
func BenchmarkDevnetFROST(b *testing.B) {
	benchSetup(b)
	for _, scheme := range []string{"ed25519", "bip340"} {
		key, err := benchClient.CreateKey(context.Background(), api.CreateKeyRequest{Scheme: scheme, Label: "bench-" + scheme + fmt.Sprint(time.Now().UnixNano())})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/c=%d", scheme, c), func(b *testing.B) { benchFROST(b, key, c) })
		}
	}
}

func benchFROST(b *testing.B, key *api.Key, concurrency int) {
	pub, _ := hex.DecodeString(key.PublicKey)
	verify := func(msg, sig []byte) bool {
		if key.Scheme == "ed25519" {
			return ed25519.Verify(pub, msg, sig)
		}
		pk, err := schnorr.ParsePubKey(pub)
		s, err2 := schnorr.ParseSignature(sig)
		return err == nil && err2 == nil && s.Verify(msg, pk)
	}
	var failures atomic.Int64
	var firstErr atomic.Value
	var next atomic.Int64
	lat := make([][]time.Duration, concurrency)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				digest := randomHex32()
				t0 := time.Now()
				sig, err := benchClient.Sign(context.Background(), key.ID, api.SignRequest{Digest: digest})
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat[g] = append(lat[g], time.Since(t0))
				d, _ := hex.DecodeString(digest)
				s, _ := hex.DecodeString(sig.Signature)
				if !verify(d, s) {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, "signature does not verify")
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d of %d signings failed; first: %v", n, b.N, firstErr.Load())
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sig/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
