package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// BenchmarkEth2Attestation signs ATTESTATION requests through the devnet's Web3Signer API (host
// 1, HTTP on loopback) at several concurrencies, reporting throughput and latency percentiles.
// Each goroutine signs for one of benchValidators keys with strictly increasing epochs of its
// own, so slashing protection allows every request (and records every one, synced). Every
// response's signature is checked by the host before it answers; a refusal counts as an error.
//
//	go test -run '^$' -bench Eth2 -benchtime 2000x ./cmd/mpcsigner
func BenchmarkEth2Attestation(b *testing.B) {
	keys := eth2BenchSetup(b)
	for _, c := range []int{1, 4, 16, 64, 256} {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			benchAttestations(b, keys, c)
		})
	}
}

// BenchmarkBLSSingleKey is the baseline beside it: one whole key signing the same kind of
// message with blst in this process, on all cores.
func BenchmarkBLSSingleKey(b *testing.B) {
	var ikm [32]byte
	_, _ = rand.Read(ikm[:])
	sk := blst.KeyGen(ikm[:])
	dst := []byte("BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_")
	var n atomic.Uint64
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var msg [32]byte
		for pb.Next() {
			msg[0] = byte(n.Add(1))
			new(blst.P2Affine).Sign(sk, msg[:], dst)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sig/s")
}

const benchValidators = 16

var (
	eth2BenchOnce sync.Once
	eth2BenchKeys []string
	// eth2Epochs hands out increasing epochs per validator across all sub-benchmarks.
	eth2Epochs [benchValidators]atomic.Uint64
)

func eth2BenchSetup(b *testing.B) []string {
	b.Helper()
	benchSetup(b)
	eth2BenchOnce.Do(func() {
		for i := range benchValidators {
			k, err := benchClient.CreateKey(context.Background(), api.CreateKeyRequest{Scheme: "bls12-381", Label: fmt.Sprintf("bench-validator-%d", i)})
			if err != nil {
				b.Fatal(err)
			}
			eth2BenchKeys = append(eth2BenchKeys, "0x"+k.PublicKey)
		}
	})
	if len(eth2BenchKeys) != benchValidators {
		b.Fatal("validator key set-up failed earlier")
	}
	return eth2BenchKeys
}

func benchAttestations(b *testing.B, keys []string, concurrency int) {
	url := benchDevnet.info.Web3Signer + "/api/v1/eth2/sign/"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}}
	var next atomic.Int64
	var errs atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, concurrency)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := g % benchValidators
			for next.Add(1) <= int64(b.N) {
				target := eth2Epochs[v].Add(1) + 1
				body := attestationBody(target-1, target, byte(target))
				t0 := time.Now()
				resp, err := client.Post(url+keys[v], "application/json", strings.NewReader(body))
				if err == nil {
					msg, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("%d %s", resp.StatusCode, msg)
					}
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat[g] = append(lat[g], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if n := errs.Load(); n > 0 {
		b.Errorf("%d of %d requests failed; first: %v", n, b.N, firstErr.Load())
	}
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "sig/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
