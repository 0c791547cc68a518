package ecdsa

import (
	"github.com/bnb-chain/tss-lib/v3/common"

	"crypto/rand"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// BenchmarkSign2of3 measures one complete signing by 2 of the 3 parties of a key, both signers
// in this process (so ns/op is the CPU of both, plus in-memory routing).
func BenchmarkSign2of3(b *testing.B) {
	fx := getKeygenFixture(b) // made once, outside the timing
	signers := []protocol.PartyID{1, 2}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var digest [32]byte
		rand.Read(digest[:])
		signOnce(b, fx, signers, digest)
	}
}

// BenchmarkKeygen2of3 measures one complete 2-of-3 keygen with fixture pre-params, all three
// parties in this process. It takes seconds per op: run it with a small -benchtime (e.g. 1x).
func BenchmarkKeygen2of3(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		runs, err := keygenRuns(3, 2, newNonce(), nil)
		if err != nil {
			b.Fatal(err)
		}
		results, err := execute(runs, nil, keygenTimeout)
		if err != nil {
			b.Fatal(err)
		}
		for p, res := range results {
			if res.Err != nil || res.Keygen == nil {
				b.Fatalf("%s: %+v", p, res)
			}
		}
	}
}

// BenchmarkSign2of3ConstantTime is BenchmarkSign2of3 with tss-lib's constant-time arithmetic
// on, as enclave processes run it.
func BenchmarkSign2of3ConstantTime(b *testing.B) {
	EnableConstantTime()
	defer common.DisableConstantTimeOps()
	BenchmarkSign2of3(b)
}
