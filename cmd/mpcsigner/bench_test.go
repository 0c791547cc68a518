package main

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// Benchmarks on a real devnet (six processes on this machine), through the native API. Run with
// `make bench`; the figures go in docs/performance.md.

var (
	benchOnce   sync.Once
	benchDevnet *devnetProc
	benchClient *api.Client
	benchKey    *api.Key
	keygenTime  time.Duration
)

func benchSetup(b *testing.B) {
	b.Helper()
	benchOnce.Do(func() {
		benchDevnet = startDevnet(&onceTB{b}, filepath.Join(b.TempDir(), "data"))
		var err error
		benchClient, err = api.NewClient(api.ClientOptions{URL: benchDevnet.info.API, TokenFile: benchDevnet.info.TokenFile})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		benchKey, err = benchClient.CreateKey(context.Background(), api.CreateKeyRequest{Scheme: "ecdsa-secp256k1", Label: "bench"})
		keygenTime = time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
	})
	if benchKey == nil {
		b.Fatal("devnet set-up failed earlier")
	}
}

// onceTB lets the shared devnet outlive the benchmark that started it; the process's own
// Pdeathsig and the devnet's stop on exit clean up.
type onceTB struct{ testing.TB }

func (o *onceTB) Cleanup(func()) {}

// BenchmarkDevnetKeygen reports the wall time of one 2-of-3 key generation with pooled
// pre-parameters (the devnet's fixtures; a second one per party is held for the signing
// benchmarks). It is measured once: pre-parameters are the scarce input.
func BenchmarkDevnetKeygen(b *testing.B) {
	benchSetup(b)
	b.ReportMetric(keygenTime.Seconds(), "keygen-s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkDevnetSign is one signing at a time through the API: the latency of one 2-of-3
// threshold ECDSA signature (all nine rounds) across six processes.
func BenchmarkDevnetSign(b *testing.B) {
	benchSetup(b)
	benchSign(b, 1)
}

// BenchmarkDevnetSignConcurrent4 keeps four signings in flight: throughput on two cores.
func BenchmarkDevnetSignConcurrent4(b *testing.B) {
	benchSetup(b)
	benchSign(b, 4)
}

func benchSign(b *testing.B, concurrency int) {
	pub, _ := hex.DecodeString(benchKey.PublicKey)
	var failures atomic.Int64
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				digest := randomHex32()
				sig, err := benchClient.Sign(context.Background(), benchKey.ID, api.SignRequest{Digest: digest})
				if err != nil {
					failures.Add(1)
					continue
				}
				d, _ := hex.DecodeString(digest)
				s, _ := hex.DecodeString(sig.Signature)
				if !crypto.VerifySignature(pub, d, s) {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d of %d signings failed or did not verify", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sig/s")
}
