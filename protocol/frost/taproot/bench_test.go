package taproot

import (
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// BenchmarkSign2of3 runs both signers of a 2-of-3 key in one process: taking the key from the
// cache, both rounds (nonces, binding factors, group commitment, signature shares, the check of
// the other's share) and the btcec verification of the signature, for both signers.
func BenchmarkSign2of3(b *testing.B) {
	fx := getFixture(b, 3, 2)
	digest := protocoltest.DigestOf("bench")
	signers := protocoltest.IDs(1, 2)
	other := map[protocol.PartyID]protocol.PartyID{1: 2, 2: 1}
	b.ResetTimer()
	for b.Loop() {
		runs := signRuns(b, fx.shares, signers, digest, newNonce(b))
		out := make(map[protocol.PartyID][]byte, 2)
		for p, r := range runs {
			if err := r.Start(); err != nil {
				b.Fatal(err)
			}
			out[p] = (<-r.Outgoing()).Payload
		}
		for p, r := range runs {
			if err := r.Handle(other[p], true, out[other[p]]); err != nil {
				b.Fatal(err)
			}
		}
		for p, r := range runs {
			out[p] = (<-r.Outgoing()).Payload
		}
		for p, r := range runs {
			if err := r.Handle(other[p], true, out[other[p]]); err != nil {
				b.Fatal(err)
			}
			if res := <-r.Done(); res.Err != nil {
				b.Fatal(res.Err)
			}
		}
	}
}

// BenchmarkPresign2of3 runs both signers' presign runs of a 2-of-3 key in one process: the
// nonces, their commitments and the exchange, ending with two presignatures (discarded).
func BenchmarkPresign2of3(b *testing.B) {
	fx := getFixture(b, 3, 2)
	protocoltest.BenchPresign(b, Engine{}, fx.shares, protocoltest.IDs(1, 2))
}

// BenchmarkPresignedSign2of3 measures the online part only: both signers' online runs of a
// 2-of-3 key, with the share exchange, the binding factors and group commitment, the checks and
// the btcec verification. The presigning runs with the timer stopped.
func BenchmarkPresignedSign2of3(b *testing.B) {
	fx := getFixture(b, 3, 2)
	in := protocol.SignInput{Digest: protocoltest.DigestOf("bench")}
	protocoltest.BenchPresignedSign(b, Engine{}, fx.shares, protocoltest.IDs(1, 2), in)
}

// BenchmarkKeygen2of3 is a whole 2-of-3 keygen, all parties in one process.
func BenchmarkKeygen2of3(b *testing.B) {
	for b.Loop() {
		runKeygen(b, 3, 2)
	}
}

// BenchmarkSingleKeySign is the baseline: one btcec BIP340 signature with a whole key.
func BenchmarkSingleKeySign(b *testing.B) {
	priv, err := btcec.NewPrivateKey()
	if err != nil {
		b.Fatal(err)
	}
	digest := protocoltest.DigestOf("bench")
	for b.Loop() {
		if _, err := schnorr.Sign(priv, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}
