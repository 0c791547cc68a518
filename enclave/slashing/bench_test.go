package slashing

import (
	"sync/atomic"
	"testing"
)

// BenchmarkSignAttestationParallel signs attestations for distinct
// validators from many goroutines over a real Pebble store, so each
// request needs a synced write; group commit lets them share one. Compare
// with BenchmarkSignAttestationSerial, which pays one sync per request.
func BenchmarkSignAttestationParallel(b *testing.B) {
	st := openPebble(b, b.TempDir())
	db := openDB(b, st, Options{})
	var next atomic.Uint32
	b.SetParallelism(32) // 32 × GOMAXPROCS goroutines, as a busy enclave has
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := next.Add(1)
		var pk Pubkey
		pk[0], pk[1], pk[2] = 0x80, byte(n>>8), byte(n)
		for e := uint64(1); pb.Next(); e++ {
			if err := db.SignAttestation(gvrA, pk, e-1, e, testRoot(byte(e))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
}

// BenchmarkSignAttestationSerial is the same from one goroutine: one sync
// per request.
func BenchmarkSignAttestationSerial(b *testing.B) {
	st := openPebble(b, b.TempDir())
	db := openDB(b, st, Options{})
	pk := testPK(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		e := uint64(i) + 1
		if err := db.SignAttestation(gvrA, pk, e-1, e, testRoot(byte(e))); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
}
