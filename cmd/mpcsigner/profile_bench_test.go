package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	frosted "github.com/mpcsigner/mpcsigner/protocol/frost/ed25519"
)

// BenchmarkInProcessClusterEd25519 runs three hosts and three enclaves in this one process
// (enclaves over the in-memory transport, hosts over loopback TCP and HTTP, as on the devnet)
// and signs with a FROST Ed25519 key through host 1's native API, 64 in flight. Its purpose is
// a single CPU profile of the whole signing path:
//
//	go test -run '^$' -bench InProcessClusterEd25519 -benchtime 20000x -cpuprofile cpu.out ./cmd/mpcsigner
//	go tool pprof -top -nodecount 40 cpu.out
//
// Every signature is verified with crypto/ed25519.
func BenchmarkInProcessClusterEd25519(b *testing.B) {
	c := startInProcessCluster(b, func(int) protocol.Engine { return frosted.Engine{} }, nil)
	key, err := c.client.CreateKey(context.Background(), api.CreateKeyRequest{Scheme: "ed25519", Label: "profile"})
	if err != nil {
		b.Fatal(err)
	}
	pub, _ := hex.DecodeString(key.PublicKey)
	var next, failures atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				digest := randomHex32()
				resp, err := c.client.Sign(context.Background(), key.ID, api.SignRequest{Digest: digest})
				if err != nil {
					failures.Add(1)
					continue
				}
				msg, _ := hex.DecodeString(digest)
				sig, _ := hex.DecodeString(resp.Signature)
				if !ed25519.Verify(pub, msg, sig) {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d of %d signings failed or did not verify", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
}
